import { PLATFORM_TIMEOUTS, type Queryable } from './pool.js';
import { tableLimitError } from './pg-errors.js';
import type { Actor } from '../domain/actor.js';
import { markedStatement, stripActor } from './actor.js';
import { badInput } from '../domain/errors.js';
import { PAGE_SNAPSHOT_SQL } from './page-snapshot.js';
import type { ColumnInfo, Row, TableInfo } from '../domain/tables.js';
import type { WhereNode } from '../domain/where.js';
import {
  countRowsSql,
  deleteRowsSql,
  insertRowsSql,
  PAGE_BYTES_COLUMN,
  PAGE_FITS_COLUMN,
  PAGE_ORDINAL_COLUMN,
  PAGE_SNAPSHOT_COLUMN,
  selectRowsSql,
  selectRowsWithSnapshotSql,
  updateRowsSql,
  upsertRowsSql,
  type InsertValue,
  type SelectRowsSpec,
  type Statement,
} from './sql/rows.sql.js';

export { DEFAULT, type InsertValue } from './sql/rows.sql.js';

/** The most values one write may bind: Postgres refuses more than 65535 parameters, and the actor takes one. */
export const MAX_PARAMETERS = 65535 - 1;

/** One statement on `table`; a lock or statement timeout names the table and the limit. */
async function run(db: Queryable, statement: Statement, table: TableInfo): Promise<Row[]> {
  try {
    const { rows } = await db.query<Row>({ text: statement.text, values: statement.values });
    return rows;
  } catch (error) {
    throw tableLimitError(error, table.name, PLATFORM_TIMEOUTS) ?? error;
  }
}

/** A write, marked with its actor within the same statement. */
async function write(db: Queryable, statement: Statement, actor: Actor, table: TableInfo): Promise<Row[]> {
  return stripActor(await run(db, markedStatement(statement, actor), table));
}

/**
 * The most row data one page of Table.rows holds (the same cap as a raw `sql` result,
 * src/db/project-sql.ts): the page ends before the row that would pass it.
 */
export const PAGE_BYTE_CAP = 8 * 1024 * 1024;

/**
 * One page in one statement. Asks for `limit + 1` rows so the caller knows whether more follow;
 * the page also ends before PAGE_BYTE_CAP (then more follow too), and a first row over the cap
 * alone is BAD_USER_INPUT (no page could hold it).
 * `withSnapshot`: the statement also returns its snapshot, as a changesCursor (page-snapshot.ts).
 */
export async function selectRows(db: Queryable, table: TableInfo, spec: SelectRowsSpec & { withSnapshot?: boolean }): Promise<{ rows: Row[]; hasMore: boolean; snapshot?: string }> {
  const asked = { ...spec, limit: spec.limit + 1 };
  let rows: Row[];
  let snapshot: string | undefined;
  if (spec.withSnapshot) {
    const joined = await run(db, selectRowsWithSnapshotSql(table, asked, PAGE_BYTE_CAP, PAGE_SNAPSHOT_SQL), table);
    snapshot = joined[0]![PAGE_SNAPSHOT_COLUMN] as string;
    rows = joined.filter((row) => row[PAGE_ORDINAL_COLUMN] !== null).map(({ [PAGE_SNAPSHOT_COLUMN]: _s, ...row }) => row);
  } else rows = await run(db, selectRowsSql(table, asked, PAGE_BYTE_CAP), table);
  const over = rows.find((row) => row[PAGE_FITS_COLUMN] === false);
  const fitting = rows.filter((row) => row[PAGE_FITS_COLUMN] === true).map(({ [PAGE_ORDINAL_COLUMN]: _o, [PAGE_BYTES_COLUMN]: _b, [PAGE_FITS_COLUMN]: _f, ...row }) => row);
  if (over && fitting.length === 0 && spec.limit > 0) {
    throw badInput(
      `rows: the next row is ${String(over[PAGE_BYTES_COLUMN])} bytes, more than the ${PAGE_BYTE_CAP / 1024 / 1024} MB one page may hold; read it with sql, selecting less of it (a substring, a length, fewer columns)`,
      { limit: PAGE_BYTE_CAP },
    );
  }
  const hasMore = over !== undefined || fitting.length > spec.limit;
  return { rows: fitting.length > spec.limit ? fitting.slice(0, spec.limit) : fitting, hasMore, ...(snapshot ? { snapshot } : {}) };
}

/** The number of rows a filter matches (a statement of its own, run only when asked for). */
export async function countRows(db: Queryable, table: TableInfo, where: WhereNode): Promise<number> {
  const [row] = await run(db, countRowsSql(table, where), table);
  return Number(row!.count);
}

/** Inserts all rows in one statement (so all or nothing) and returns them as stored. */
export function insertRows(db: Queryable, actor: Actor, table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][]): Promise<Row[]> {
  return write(db, insertRowsSql(table, columns, rows), actor, table);
}

/** Inserts, or updates the given columns of the row with the same `conflict` key; one statement. */
export function upsertRows(db: Queryable, actor: Actor, table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][], conflict: ColumnInfo[]): Promise<Row[]> {
  return write(db, upsertRowsSql(table, columns, rows, conflict), actor, table);
}

export function updateRows(db: Queryable, actor: Actor, table: TableInfo, set: [ColumnInfo, unknown][], where: WhereNode): Promise<Row[]> {
  return write(db, updateRowsSql(table, set, where), actor, table);
}

export function deleteRows(db: Queryable, actor: Actor, table: TableInfo, where: WhereNode): Promise<Row[]> {
  return write(db, deleteRowsSql(table, where), actor, table);
}
