import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { RowSelectionState } from '@tanstack/react-table';
import { useApp } from '../app-context.js';
import {
  CLEAR_TABLE,
  DELETE_ROWS,
  DROP_COLUMN,
  DROP_TABLE,
  RENAME_COLUMN,
  RENAME_TABLE,
  TABLE_DETAIL,
  UPDATE_ROWS,
  type Column,
  type OrderBy,
  type Row,
  type TableDetailResult,
} from '../api/documents.js';
import { ConfirmByName } from '../components/ConfirmByName.js';
import { ErrorText } from '../components/ErrorText.js';
import { Grid, type EditTarget } from '../grid/Grid.js';
import { FilterBuilder } from '../grid/FilterBuilder.js';
import { ColumnMenu } from '../grid/ColumnMenu.js';
import { emptyGroup, type Group } from '../grid/filters.js';
import { LiveRows, type FeedStatus, type LiveRowsState } from '../grid/live-rows.js';
import { navigate, type Route } from '../route.js';
import { useQuery } from '../use-query.js';
import { ColumnForm } from './ColumnForm.js';
import { RenameDialog } from './RenameDialog.js';
import { RowForm } from './RowForm.js';

type TableRoute = Extract<Route, { screen: 'table' }>;

const PAGE_SIZES = [50, 100, 500, 1000];

/** The grid's live status, as its badge says it (see FeedStatus for what each one can promise). */
const STATUS: Record<FeedStatus, { label: string; title: string }> = {
  loading: { label: 'Loading…', title: 'Reading the rows' },
  connecting: { label: 'Connecting…', title: 'Rows as read; waiting for the server to accept the live connection. Changes made meanwhile will appear.' },
  live: { label: 'Live', title: 'Changes appear as they are committed' },
  reconnecting: { label: 'Reconnecting…', title: 'The live connection dropped. Changes made meanwhile will appear when it is back.' },
  failed: { label: 'Not live', title: 'Live changes stopped: the message below says why' },
};

/** The where filter for a set of rows, by primary key. */
function whereKeys(primaryKey: string[], rows: Row[]): unknown {
  if (primaryKey.length === 1) return { [primaryKey[0]!]: { _in: rows.map((row) => row[primaryKey[0]!]) } };
  return { _or: rows.map((row) => Object.fromEntries(primaryKey.map((name) => [name, { _eq: row[name] }]))) };
}

/**
 * Subscribes a LiveRows for as long as its options stay the same. `refresh` reads the page again
 * (and subscribes from its snapshot): a write made here shows at once, even while the socket is
 * down, when its live event would come only on reconnect.
 */
function useLiveRows(factory: (() => LiveRows) | null, key: string): { state: LiveRowsState | null; refresh: () => void } {
  const [state, setState] = useState<LiveRowsState | null>(null);
  const feed = useRef<LiveRows | null>(null);
  useEffect(() => {
    if (!factory) return;
    const current = factory();
    feed.current = current;
    const off = current.subscribe(setState);
    current.start();
    return () => {
      off();
      current.stop();
      if (feed.current === current) feed.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const refresh = useCallback(() => void feed.current?.resync(), []);
  return { state, refresh };
}

type Dialogs =
  | { kind: 'insert' }
  | { kind: 'add-column' }
  | { kind: 'rename-table' }
  | { kind: 'clear' }
  | { kind: 'drop' }
  | { kind: 'rename-column'; column: Column }
  | { kind: 'drop-column'; column: Column }
  | { kind: 'delete-rows'; rows: Row[] };

export function TableView({
  route,
  structureVersion: outsideVersion,
  onTablesChanged,
  onCount,
}: {
  route: TableRoute;
  /** Bumped when a table of the project changed structure (tableChanges). */
  structureVersion: number;
  onTablesChanged: () => void;
  onCount: (count: { table: string; count: number }) => void;
}) {
  const { request, live } = useApp();
  const { projectId, table: tableName, after, sort } = route;
  const [structureVersion, setStructureVersion] = useState(0);
  const detail = useQuery(`detail:${projectId}:${tableName}:${structureVersion}:${outsideVersion}`, () => request<TableDetailResult>(TABLE_DETAIL, { projectId, table: tableName }), {
    keepData: true,
  });
  const table = detail.data?.project?.table ?? null;

  const [pageSize, setPageSize] = useState(100);
  const [filter, setFilter] = useState<Group>(emptyGroup);
  const [where, setWhere] = useState<unknown>(null);
  const [showFilter, setShowFilter] = useState(false);
  const [selection, setSelection] = useState<RowSelectionState>({});
  const [dialog, setDialog] = useState<Dialogs | null>(null);
  /** Cursors of the pages before this one, for "Previous". */
  const [history, setHistory] = useState<(string | null)[]>([]);

  const orderBy: OrderBy[] = sort ? [sort] : [];
  // Columns as read: a structure change elsewhere gives new columns, hence a new feed.
  const feedKey = JSON.stringify([projectId, tableName, table?.columns ?? null, where, orderBy, pageSize, after]);
  const { state, refresh } = useLiveRows(
    table
      ? () =>
          new LiveRows({ request, live, projectId, table: table.name, columns: table.columns, primaryKey: table.primaryKey, where, orderBy, pageSize, after })
      : null,
    feedKey,
  );
  useEffect(() => setSelection({}), [state?.cleared, feedKey]);
  // Only a count the server gave (a failed read leaves the initial 0).
  const totalCount = state && state.status !== 'loading' && state.status !== 'failed' ? state.totalCount : undefined;
  useEffect(() => {
    if (totalCount !== undefined && where === null) onCount({ table: tableName, count: totalCount });
  }, [totalCount, where, tableName, onCount]);

  const structureChanged = () => {
    setStructureVersion((v) => v + 1);
    onTablesChanged();
  };
  const go = (next: { after?: string | null; sort?: OrderBy | null }) =>
    navigate({ screen: 'table', projectId, table: tableName, after: next.after === undefined ? after : next.after, sort: next.sort === undefined ? sort : next.sort });

  const selectedRows = useMemo(() => {
    if (!state || !table) return [];
    return state.rows.filter((row) => selection[JSON.stringify(table.primaryKey.map((name) => row[name] ?? null))]);
  }, [state, selection, table]);

  if (detail.error) return <ErrorText message={detail.error} />;
  if (!table) return detail.loading ? <p className="muted">Loading…</p> : <ErrorText message={`table "${tableName}" not found`} />;

  const editable = table.primaryKey.length > 0;
  const saveCell = async ({ row, column }: EditTarget, value: unknown) => {
    await request(UPDATE_ROWS, { projectId, table: table.name, where: whereKeys(table.primaryKey, [row]), set: { [column.name]: value } });
    refresh();
  };
  const onSort = (column: string) => {
    setHistory([]);
    const next: OrderBy | null = sort?.column !== column ? { column, direction: 'ASC' } : sort.direction === 'ASC' ? { column, direction: 'DESC' } : null;
    go({ sort: next, after: null });
  };
  const status = state?.status ?? 'loading';
  const first = history.length * pageSize + 1;

  return (
    <section className="table-view" aria-labelledby="table-title">
      <div className="toolbar">
        <h1 id="table-title" className="table-title">
          {table.name}
          {table.system && (
            <span className="badge" title="System table: its structure cannot change">
              system
            </span>
          )}
        </h1>
        <span className={`live-status live-${status}`} role="status" aria-live="polite" title={STATUS[status].title}>
          {STATUS[status].label}
        </span>
        <div className="toolbar-actions">
          <button type="button" onClick={() => setShowFilter((v) => !v)} aria-expanded={showFilter} aria-controls="filter-panel">
            Filter{where ? ' (on)' : ''}
          </button>
          <button type="button" className="button-primary" onClick={() => setDialog({ kind: 'insert' })}>
            Insert row
          </button>
          {!table.system && (
            <>
              <button type="button" onClick={() => setDialog({ kind: 'add-column' })}>
                Add column
              </button>
              <button type="button" onClick={() => setDialog({ kind: 'rename-table' })}>
                Rename table
              </button>
              <button type="button" onClick={() => setDialog({ kind: 'clear' })}>
                Clear table
              </button>
              <button type="button" className="button-danger" onClick={() => setDialog({ kind: 'drop' })}>
                Drop table
              </button>
            </>
          )}
          {selectedRows.length > 0 && (
            <button type="button" className="button-danger" onClick={() => setDialog({ kind: 'delete-rows', rows: selectedRows })}>
              Delete {selectedRows.length} {selectedRows.length === 1 ? 'row' : 'rows'}
            </button>
          )}
        </div>
      </div>
      {showFilter && (
        <div id="filter-panel">
          <FilterBuilder
            columns={table.columns}
            value={filter}
            onChange={setFilter}
            onApply={(next) => {
              setHistory([]);
              setWhere(next);
              go({ after: null });
            }}
          />
        </div>
      )}
      <ErrorText message={state?.error} />
      {!editable && <p className="note">This table has no primary key: rows can be read and inserted, not edited or deleted here.</p>}
      {state && (
        <Grid
          caption={`Rows of ${table.name}`}
          columns={table.columns}
          primaryKey={table.primaryKey}
          rows={state.rows}
          marks={state.marks}
          sort={sort}
          onSort={onSort}
          selection={selection}
          onSelectionChange={setSelection}
          onSaveCell={editable ? saveCell : undefined}
          renderColumnMenu={
            table.system
              ? undefined
              : (column) => (
                  <ColumnMenu
                    column={column.name}
                    actions={[
                      { label: 'Rename column', run: () => setDialog({ kind: 'rename-column', column }) },
                      { label: 'Drop column', danger: true, run: () => setDialog({ kind: 'drop-column', column }) },
                    ]}
                  />
                )
          }
        />
      )}
      {state && state.rows.length === 0 && status !== 'loading' && <p className="muted empty-rows">No rows{where ? ' match this filter' : ''}.</p>}
      <nav className="pager" aria-label="Pages">
        <span className="pager-count" aria-live="polite">
          {state
            ? state.rows.length === 0
              ? `0 of ${state.totalCount} rows`
              : after === null || history.length > 0
                ? `Rows ${first}–${first + state.rows.length - 1} of ${state.totalCount}`
                : `${state.rows.length} rows of ${state.totalCount}`
            : ''}
          {state && state.changesElsewhere > 0 ? ` · ${state.changesElsewhere} live changes on other pages` : ''}
        </span>
        <label className="page-size">
          <span>Rows per page</span>
          <select
            value={pageSize}
            onChange={(e) => {
              setHistory([]);
              setPageSize(Number(e.target.value));
              go({ after: null });
            }}
          >
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={after === null} onClick={() => (setHistory([]), go({ after: null }))}>
          First
        </button>
        <button
          type="button"
          disabled={history.length === 0}
          onClick={() => {
            const previous = history.at(-1) ?? null;
            setHistory(history.slice(0, -1));
            go({ after: previous });
          }}
        >
          Previous
        </button>
        <button
          type="button"
          disabled={!state?.hasNextPage || !state.endCursor}
          onClick={() => {
            setHistory([...history, after]);
            go({ after: state!.endCursor });
          }}
        >
          Next
        </button>
      </nav>

      {dialog?.kind === 'insert' && <RowForm projectId={projectId} table={table} onClose={() => setDialog(null)} onInserted={refresh} />}
      {dialog?.kind === 'add-column' && <ColumnForm projectId={projectId} table={table.name} onClose={() => setDialog(null)} onDone={structureChanged} />}
      {dialog?.kind === 'rename-table' && (
        <RenameDialog
          title={`Rename table "${table.name}"`}
          label="New table name"
          current={table.name}
          onClose={() => setDialog(null)}
          onRename={async (newName) => {
            await request(RENAME_TABLE, { projectId, name: table.name, newName });
            onTablesChanged();
            navigate({ screen: 'table', projectId, table: newName, after: null, sort: null });
          }}
        />
      )}
      {dialog?.kind === 'rename-column' && (
        <RenameDialog
          title={`Rename column "${dialog.column.name}"`}
          label="New column name"
          current={dialog.column.name}
          onClose={() => setDialog(null)}
          onRename={async (newName) => {
            await request(RENAME_COLUMN, { projectId, table: table.name, name: dialog.column.name, newName });
            if (sort?.column === dialog.column.name) go({ sort: null, after: null });
            structureChanged();
          }}
        />
      )}
      {dialog?.kind === 'drop-column' && (
        <ConfirmByName
          title={`Drop column "${dialog.column.name}"`}
          name={dialog.column.name}
          description={`The column "${dialog.column.name}" of "${table.name}" and all its values are removed. This cannot be undone.`}
          action="Drop column"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await request(DROP_COLUMN, { projectId, table: table.name, name: dialog.column.name });
            if (sort?.column === dialog.column.name) go({ sort: null, after: null });
            setWhere(null);
            setFilter(emptyGroup());
            structureChanged();
          }}
        />
      )}
      {dialog?.kind === 'clear' && (
        <ConfirmByName
          title={`Clear table "${table.name}"`}
          name={table.name}
          description={`Every row of "${table.name}" is removed; its columns stay. This cannot be undone.`}
          action="Clear table"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await request(CLEAR_TABLE, { projectId, name: table.name });
            setHistory([]);
            if (after !== null) go({ after: null });
            else refresh();
            onTablesChanged();
          }}
        />
      )}
      {dialog?.kind === 'drop' && (
        <ConfirmByName
          title={`Drop table "${table.name}"`}
          name={table.name}
          description={`The table "${table.name}", its columns and all its rows are removed. This cannot be undone.`}
          action="Drop table"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await request(DROP_TABLE, { projectId, name: table.name });
            onTablesChanged();
            navigate({ screen: 'project', projectId });
          }}
        />
      )}
      {dialog?.kind === 'delete-rows' && (
        <ConfirmByName
          title={`Delete ${dialog.rows.length} ${dialog.rows.length === 1 ? 'row' : 'rows'} of "${table.name}"`}
          name="delete"
          description={`The selected ${dialog.rows.length === 1 ? 'row is' : `${dialog.rows.length} rows are`} removed from "${table.name}".`}
          action="Delete"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await request(DELETE_ROWS, { projectId, table: table.name, where: whereKeys(table.primaryKey, dialog.rows) });
            setSelection({});
            refresh();
            onTablesChanged();
          }}
        />
      )}
    </section>
  );
}
