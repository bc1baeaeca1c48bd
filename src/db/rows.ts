import type { Queryable } from './pool.js';
import type { ColumnInfo, Row, TableInfo } from '../domain/tables.js';
import type { WhereNode } from '../domain/where.js';
import {
  countRowsSql,
  deleteRowsSql,
  insertRowsSql,
  selectRowsSql,
  updateRowsSql,
  upsertRowsSql,
  type InsertValue,
  type SelectRowsSpec,
  type Statement,
} from './sql/rows.sql.js';

export { DEFAULT, type InsertValue } from './sql/rows.sql.js';

/** Postgres refuses a statement with more bind parameters than this. */
export const MAX_PARAMETERS = 65535;

async function run(db: Queryable, statement: Statement): Promise<Row[]> {
  const { rows } = await db.query<Row>({ text: statement.text, values: statement.values });
  return rows;
}

/** One page in one statement. Asks for `limit + 1` rows so the caller knows whether more follow. */
export async function selectRows(db: Queryable, table: TableInfo, spec: SelectRowsSpec): Promise<{ rows: Row[]; hasMore: boolean }> {
  const rows = await run(db, selectRowsSql(table, { ...spec, limit: spec.limit + 1 }));
  const hasMore = rows.length > spec.limit;
  return { rows: hasMore ? rows.slice(0, spec.limit) : rows, hasMore };
}

/** The number of rows a filter matches (a statement of its own, run only when asked for). */
export async function countRows(db: Queryable, table: TableInfo, where: WhereNode): Promise<number> {
  const [row] = await run(db, countRowsSql(table, where));
  return Number(row!.count);
}

/** Inserts all rows in one statement (so all or nothing) and returns them as stored. */
export function insertRows(db: Queryable, table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][]): Promise<Row[]> {
  return run(db, insertRowsSql(table, columns, rows));
}

/** Inserts, or updates the given columns of the row with the same `conflict` key; one statement. */
export function upsertRows(db: Queryable, table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][], conflict: ColumnInfo[]): Promise<Row[]> {
  return run(db, upsertRowsSql(table, columns, rows, conflict));
}

export function updateRows(db: Queryable, table: TableInfo, set: [ColumnInfo, unknown][], where: WhereNode): Promise<Row[]> {
  return run(db, updateRowsSql(table, set, where));
}

export function deleteRows(db: Queryable, table: TableInfo, where: WhereNode): Promise<Row[]> {
  return run(db, deleteRowsSql(table, where));
}
