import { encodeCursor, type ChangeEntry, type RowOp, type TableChangeKind } from '../db/change-log.js';
import { matchesWhere, whereReads, type WhereNode } from '../domain/where.js';
import { MatchBudgetError } from '../domain/like.js';
import type { Actor } from '../domain/actor.js';

/** What a `rowChanges` subscriber receives (the contract's RowChange). */
export interface RowChangeEvent {
  cursor: string;
  projectId: string;
  table: string;
  op: RowOp;
  row: Record<string, unknown> | null;
  oldRow: Record<string, unknown> | null;
  changedColumns: string[] | null;
  /** Columns whose value was too large to stream (left out of row and oldRow); empty when none. */
  omittedColumns: string[];
  at: string;
  actor: Actor | null;
}

/** What a `tableChanges` subscriber receives (the contract's TableChange). */
export interface TableChangeEvent {
  projectId: string;
  table: string;
  kind: TableChangeKind;
  newName: string | null;
  at: string;
  actor: Actor | null;
}

const ROW_OPS = new Set<string>(['INSERT', 'UPDATE', 'DELETE', 'CLEAR']);
export const isRowChange = (entry: ChangeEntry): entry is ChangeEntry & { op: RowOp } => ROW_OPS.has(entry.op);

/** Project schemas are `p_<id>` (src/db/sql/projects.sql.ts). */
export const projectIdOfSchema = (schema: string) => schema.replace(/^p_/, '');

export function toRowChange(entry: ChangeEntry & { op: RowOp }): RowChangeEvent {
  return {
    cursor: encodeCursor(entry),
    projectId: projectIdOfSchema(entry.schema),
    table: entry.table,
    op: entry.op,
    row: entry.row,
    oldRow: entry.oldRow,
    changedColumns: entry.op === 'UPDATE' ? entry.changedColumns ?? [] : null,
    omittedColumns: entry.omitted ?? [],
    at: entry.at,
    actor: entry.actor,
  };
}

export function toTableChange(entry: ChangeEntry): TableChangeEvent {
  return { projectId: projectIdOfSchema(entry.schema), table: entry.table, kind: entry.op as TableChangeKind, newName: entry.newName, at: entry.at, actor: entry.actor };
}

/**
 * Whether a row change concerns a subscriber's filter: an INSERT by its new row, a DELETE by its
 * old row, an UPDATE when either matches (a row that leaves the filter must leave the dashboard
 * too), and a CLEAR always (it empties every row). A filter that reads a value the event left out
 * (too large to stream) cannot be decided here: the change is delivered, so none is lost, and its
 * omittedColumns tell the subscriber to read the row with Table.rows. Throws MatchBudgetError when
 * a `_like` of the filter meets a value over its budget: the filter cannot answer for that change.
 */
export function changeMatches(where: WhereNode | null, entry: ChangeEntry): boolean {
  if (!where || entry.op === 'CLEAR') return true;
  if (entry.omitted && whereReads(where, new Set(entry.omitted))) return true;
  const test = (row: Record<string, unknown> | null) => {
    if (!row) return false;
    try {
      return matchesWhere(where, row);
    } catch (error) {
      if (error instanceof MatchBudgetError) throw error;
      // A row written before a column was renamed or dropped may not fit the filter at all.
      return false;
    }
  };
  return test(entry.row) || test(entry.oldRow);
}
