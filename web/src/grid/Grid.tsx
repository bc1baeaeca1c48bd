import { useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { rowSelectionFeature, tableFeatures, useTable, type ColumnDef, type RowSelectionState } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { Column, OrderBy, Row } from '../api/documents.js';
import { rowKey } from './row-order.js';
import { writtenBy, type RowMark } from './live-rows.js';
import { CellEditor } from './CellEditor.js';

/**
 * The rows of one page: TanStack Table for the model (columns, selection by primary key) and
 * TanStack Virtual for what is in the DOM (only the rows in view, so a 1000-row page stays fast).
 * Live changes re-render it without moving what the person is looking at: the first visible row
 * stays where it was (scroll anchoring), the selection is keyed by primary key, and a cell being
 * edited keeps its draft.
 * A row changed live is marked for a moment with who wrote it: in words, at the right edge of the
 * view (a layer over the rows, so no column moves and no value on the left is covered), in the
 * row's title, and in a sentence a screen reader reads with the row.
 */

const features = tableFeatures({ rowSelectionFeature });
/** Fixed row height: virtualisation and scroll anchoring count in rows. */
export const ROW_HEIGHT = 34;
/** Height of a live mark's label (styles.css .mark-label), to centre it on its row. */
const MARK_HEIGHT = 20;

export interface EditTarget {
  row: Row;
  column: Column;
}

export interface GridProps {
  columns: Column[];
  primaryKey: string[];
  rows: Row[];
  marks: ReadonlyMap<string, RowMark>;
  sort: OrderBy | null;
  onSort(column: string): void;
  selection: RowSelectionState;
  onSelectionChange(selection: RowSelectionState): void;
  /** Saves a cell; rejects with the API's error to show under the editor. */
  onSaveCell?(target: EditTarget, value: unknown): Promise<void>;
  /** Column header menu (rename, drop), when the table's structure may change. */
  renderColumnMenu?(column: Column): React.ReactNode;
  caption: string;
}

interface Editing {
  key: string;
  column: string;
  /** The value when editing began, to tell the person it changed meanwhile. */
  original: unknown;
}

export function Grid(props: GridProps) {
  const { columns, primaryKey, rows, marks, sort, selection } = props;
  const keyed = primaryKey.length > 0;
  const scrollRef = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState({ row: 0, column: 0 });
  const [editing, setEditing] = useState<Editing | null>(null);

  const columnDefs = useMemo<ColumnDef<typeof features, Row>[]>(
    () => columns.map((column) => ({ id: column.name, accessorFn: (row: Row) => row[column.name], header: column.name })),
    [columns],
  );
  const table = useTable({
    features,
    columns: columnDefs,
    data: rows,
    getRowId: (row: Row, index: number) => (keyed ? rowKey(primaryKey, row) : String(index)),
    enableRowSelection: keyed,
    state: { rowSelection: selection },
    onRowSelectionChange: (updater) => props.onSelectionChange(typeof updater === 'function' ? updater(selection) : updater),
  });
  const model = table.getRowModel().rows;

  const virtualizer = useVirtualizer({
    count: model.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (index) => model[index]?.id ?? index,
    overscan: 12,
  });

  // Scroll anchoring: rows inserted or removed above the view must not move it. Remember the
  // first visible row on every scroll; after a change, put it back where it was.
  const anchor = useRef<{ id: string; offset: number } | null>(null);
  const rememberAnchor = () => {
    const element = scrollRef.current;
    if (!element || element.scrollTop === 0) return void (anchor.current = null);
    const index = Math.floor(element.scrollTop / ROW_HEIGHT);
    const id = model[index]?.id;
    anchor.current = id ? { id, offset: element.scrollTop - index * ROW_HEIGHT } : null;
  };
  useLayoutEffect(() => {
    const element = scrollRef.current;
    const kept = anchor.current;
    if (!element || !kept) return;
    const index = model.findIndex((row) => row.id === kept.id);
    if (index >= 0) element.scrollTop = index * ROW_HEIGHT + kept.offset;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows]);

  const items = virtualizer.getVirtualItems();
  // Rows sit below the sticky header: the marks over them are placed from its height (stable
  // after the first render; a live mark comes later).
  const headRef = useRef<HTMLTableSectionElement>(null);
  const marked = items.flatMap((item) => {
    const row = model[item.index];
    const mark = row && marks.get(row.id);
    return mark ? [{ id: row.id, mark, top: (headRef.current?.offsetHeight ?? 0) + item.start }] : [];
  });
  const paddingTop = items[0]?.start ?? 0;
  const paddingBottom = items.length > 0 ? virtualizer.getTotalSize() - items.at(-1)!.end : 0;
  const allSelected = keyed && model.length > 0 && model.every((row) => row.getIsSelected());

  // The cell to focus once it is in the DOM. Focused in the commit that renders it, not a frame
  // later: a closing editor takes the focus with it, and a key pressed in between would go to
  // the page instead of the grid (Escape then Space selected nothing).
  const pendingFocus = useRef<string | null>(null);
  useLayoutEffect(() => {
    const cell = pendingFocus.current;
    if (cell === null) return;
    const outside = document.activeElement !== document.body && !scrollRef.current?.contains(document.activeElement);
    // The person went elsewhere meanwhile (a filter, a dialog): leave their focus alone.
    if (outside) return void (pendingFocus.current = null);
    const element = scrollRef.current?.querySelector<HTMLElement>(`[data-cell="${cell}"]`);
    // Not rendered yet (scrolled into view by the virtualizer): the render that shows it focuses it.
    if (!element) return;
    pendingFocus.current = null;
    element.focus();
  });

  const focusCell = (row: number, column: number) => {
    const r = Math.max(0, Math.min(model.length - 1, row));
    const c = Math.max(0, Math.min(columns.length - 1, column));
    pendingFocus.current = `${r}:${c}`;
    // A new object even when the cell is the same one: the render it causes applies the focus.
    setActive({ row: r, column: c });
    virtualizer.scrollToIndex(r);
  };

  const startEditing = (rowIndex: number, columnIndex: number) => {
    const row = model[rowIndex];
    const column = columns[columnIndex];
    if (!row || !column || !props.onSaveCell || !keyed) return;
    setEditing({ key: row.id, column: column.name, original: row.original[column.name] });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (editing || (event.target as HTMLElement).closest('input, textarea, select, button')) return;
    const moves: Record<string, [number, number]> = {
      ArrowDown: [1, 0],
      ArrowUp: [-1, 0],
      ArrowRight: [0, 1],
      ArrowLeft: [0, -1],
      PageDown: [10, 0],
      PageUp: [-10, 0],
    };
    const move = moves[event.key];
    if (move) {
      event.preventDefault();
      return focusCell(active.row + move[0], active.column + move[1]);
    }
    if (event.key === 'Home') return (event.preventDefault(), focusCell(active.row, 0));
    if (event.key === 'End') return (event.preventDefault(), focusCell(active.row, columns.length - 1));
    if (event.key === 'Enter' || event.key === 'F2') {
      event.preventDefault();
      return startEditing(active.row, active.column);
    }
    if (event.key === ' ' && keyed) {
      event.preventDefault();
      model[active.row]?.toggleSelected();
    }
  };

  return (
    <div
      className="grid-scroll"
      ref={scrollRef}
      onScroll={rememberAnchor}
      onKeyDown={onKeyDown}
    >
      {marked.length > 0 && (
        <div className="mark-layer" aria-hidden="true">
          {marked.map(({ id, mark, top }) => (
            <span key={id} className={`mark-label mark-label-${mark.op.toLowerCase()}`} data-mark-for={id} style={{ top: top + (ROW_HEIGHT - MARK_HEIGHT) / 2 }}>
              {mark.op === 'INSERT' ? 'new' : 'changed'} · {writtenBy(mark.actor)}
            </span>
          ))}
        </div>
      )}
      <table className="grid" role="grid" aria-rowcount={model.length + 1} aria-colcount={columns.length + 1}>
        <caption className="visually-hidden">{props.caption}</caption>
        <thead ref={headRef}>
          <tr role="row" aria-rowindex={1}>
            <th scope="col" className="select-cell">
              {keyed && (
                <input
                  type="checkbox"
                  aria-label="Select all rows on this page"
                  checked={allSelected}
                  onChange={(e) => props.onSelectionChange(e.target.checked ? Object.fromEntries(model.map((row) => [row.id, true])) : {})}
                />
              )}
            </th>
            {columns.map((column) => {
              const sorted = sort?.column === column.name ? sort.direction : null;
              return (
                <th
                  key={column.name}
                  scope="col"
                  aria-sort={sorted === 'ASC' ? 'ascending' : sorted === 'DESC' ? 'descending' : 'none'}
                >
                  <div className="column-header">
                    <button type="button" className="sort-button" onClick={() => props.onSort(column.name)} title={`Sort by ${column.name}`}>
                      <span className="column-name">
                        {column.name}
                        {sorted && (
                          <span className="sort-mark" aria-hidden="true">
                            {sorted === 'ASC' ? '▲' : '▼'}
                          </span>
                        )}
                      </span>
                      <span className="column-type">
                        {column.type.toLowerCase()}
                        {column.type === 'VARCHAR' && column.maxLength ? `(${column.maxLength})` : ''}
                        {column.primaryKey ? ' · key' : ''}
                      </span>
                    </button>
                    {props.renderColumnMenu?.(column)}
                  </div>
                </th>
              );
            })}
            <th className="grid-filler" aria-hidden="true" />
          </tr>
        </thead>
        <tbody>
          {paddingTop > 0 && (
            <tr aria-hidden="true">
              <td style={{ height: paddingTop }} colSpan={columns.length + 2} />
            </tr>
          )}
          {items.map((item) => {
            const row = model[item.index]!;
            const mark = marks.get(row.id);
            const editingColumn = editing?.key === row.id ? editing.column : null;
            return (
              <tr
                key={row.id}
                role="row"
                aria-rowindex={item.index + 2}
                aria-selected={row.getIsSelected()}
                data-row-key={row.id}
                title={mark ? markSentence(mark) : undefined}
                className={[mark ? `row-mark row-mark-${mark.op.toLowerCase()}` : '', row.getIsSelected() ? 'row-selected' : ''].join(' ')}
                style={{ height: ROW_HEIGHT }}
              >
                <td className="select-cell">
                  {keyed && (
                    <input
                      type="checkbox"
                      aria-label={`Select row ${item.index + 1}`}
                      checked={row.getIsSelected()}
                      onChange={row.getToggleSelectedHandler()}
                    />
                  )}
                  {mark && <span className="visually-hidden">{markSentence(mark)}</span>}
                </td>
                {columns.map((column, columnIndex) => {
                  const value = row.original[column.name];
                  const isActive = active.row === item.index && active.column === columnIndex;
                  if (editingColumn === column.name && props.onSaveCell) {
                    return (
                      <td key={column.name} className="cell cell-editing">
                        <CellEditor
                          column={column}
                          value={value}
                          changedMeanwhile={JSON.stringify(value) !== JSON.stringify(editing!.original)}
                          onCancel={() => {
                            setEditing(null);
                            focusCell(item.index, columnIndex);
                          }}
                          onSave={async (next) => {
                            await props.onSaveCell!({ row: row.original, column }, next);
                            setEditing(null);
                            focusCell(item.index, columnIndex);
                          }}
                        />
                      </td>
                    );
                  }
                  return (
                    <td
                      key={column.name}
                      role="gridcell"
                      data-cell={`${item.index}:${columnIndex}`}
                      data-column={column.name}
                      tabIndex={isActive ? 0 : -1}
                      className={`cell cell-${column.type.toLowerCase()}`}
                      onClick={() => setActive({ row: item.index, column: columnIndex })}
                      onDoubleClick={() => startEditing(item.index, columnIndex)}
                    >
                      <CellText value={value} column={column} />
                    </td>
                  );
                })}
                <td className="grid-filler" aria-hidden="true" />
              </tr>
            );
          })}
          {paddingBottom > 0 && (
            <tr aria-hidden="true">
              <td style={{ height: paddingBottom }} colSpan={columns.length + 2} />
            </tr>
          )}
        </tbody>
      </table>
      {editing && !model.some((row) => row.id === editing.key) && (
        <p className="error-text" role="alert">
          The row you were editing was deleted or moved off this page; your edit was not saved.{' '}
          <button type="button" className="button-quiet" onClick={() => setEditing(null)}>
            Dismiss
          </button>
        </p>
      )}
    </div>
  );
}

function CellText({ value, column }: { value: unknown; column: Column }) {
  if (value === null || value === undefined) return <span className="null">NULL</span>;
  const text = column.type === 'JSONB' ? JSON.stringify(value) : String(value);
  return <span title={text.length > 40 ? text : undefined}>{text}</span>;
}

/** A live mark in a sentence: the row's title, and what a screen reader reads with the row. */
function markSentence(mark: RowMark): string {
  const what = mark.op === 'INSERT' ? 'Inserted' : 'Changed';
  return `${what} just now ${mark.actor ? `by ${writtenBy(mark.actor)}` : 'outside the API (psql or another program)'}`;
}
