import type { Queryable } from './pool.js';
import type { Actor } from '../domain/actor.js';
import { markedStatement, stripActor } from './actor.js';
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

/** The most values one write may bind: Postgres refuses more than 65535 parameters, and the actor takes one. */
export const MAX_PARAMETERS = 65535 - 1;

async function run(db: Queryable, statement: Statement): Promise<Row[]> {
  const { rows } = await db.query<Row>({ text: statement.text, values: statement.values });
  return rows;
}

/** A write, marked with its actor within the same statement. */
async function write(db: Queryable, statement: Statement, actor: Actor): Promise<Row[]> {
  return stripActor(await run(db, markedStatement(statement, actor)));
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
export function insertRows(db: Queryable, actor: Actor, table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][]): Promise<Row[]> {
  return write(db, insertRowsSql(table, columns, rows), actor);
}

/** Inserts, or updates the given columns of the row with the same `conflict` key; one statement. */
export function upsertRows(db: Queryable, actor: Actor, table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][], conflict: ColumnInfo[]): Promise<Row[]> {
  return write(db, upsertRowsSql(table, columns, rows, conflict), actor);
}

export function updateRows(db: Queryable, actor: Actor, table: TableInfo, set: [ColumnInfo, unknown][], where: WhereNode): Promise<Row[]> {
  return write(db, updateRowsSql(table, set, where), actor);
}

export function deleteRows(db: Queryable, actor: Actor, table: TableInfo, where: WhereNode): Promise<Row[]> {
  return write(db, deleteRowsSql(table, where), actor);
}
