import { findColumn, type ColumnInfo, type Row, type TableInfo } from '../domain/tables.js';
import * as db from '../db/rows.js';
import { DEFAULT, MAX_PARAMETERS, type InsertValue } from '../db/rows.js';
import { badInput } from '../domain/errors.js';
import type { Context } from './context.js';
import { decodeCursor, encodeCursor, keysAreUnique, sortKeys, type OrderByInput } from '../domain/row-cursor.js';
import { withResolvedTable, withTable } from './tables.js';
import { encodeValue } from '../domain/values.js';
import { isMatchAll, parseWhere } from '../domain/where.js';

/** Limits of one call. */
export const ROW_LIMITS = { pageSize: 1000, defaultPageSize: 100, rowsPerWrite: 1000 } as const;

export interface ListRowsArgs {
  where?: unknown;
  orderBy?: readonly OrderByInput[] | null;
  first?: number | null;
  after?: string | null;
  offset?: number | null;
  /** Read the page's snapshot too, for changesCursor (in the same statement). */
  withChangesCursor?: boolean;
}

export interface RowPage {
  nodes: Row[];
  hasNextPage: boolean;
  endCursor: string | null;
  /** The page's snapshot as a `since` for rowChanges (src/db/page-snapshot.ts); read when asked for. */
  changesCursor?: string;
  /** Counts the rows the filter matches; runs a statement only when called (totalCount asked for). */
  totalCount: () => Promise<number>;
}

/** `Table.rows`: everything is validated before the one SELECT runs. */
export function listRows(ctx: Context, table: TableInfo, args: ListRowsArgs): Promise<RowPage> {
  return withResolvedTable(ctx, table, (current) => listRowsOf(ctx, current, args));
}

async function listRowsOf(ctx: Context, table: TableInfo, args: ListRowsArgs): Promise<RowPage> {
  const where = parseWhere(table, args.where);
  const first = args.first ?? ROW_LIMITS.defaultPageSize;
  if (!Number.isInteger(first) || first < 0 || first > ROW_LIMITS.pageSize) {
    throw badInput(`first: expected between 0 and ${ROW_LIMITS.pageSize}, got ${first}`, { field: 'first', limit: ROW_LIMITS.pageSize });
  }
  const offset = args.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw badInput(`offset: expected 0 or more, got ${offset}`);
  const keys = sortKeys(table, args.orderBy);
  const after = args.after != null ? decodeCursor(table, keys, args.after) : undefined;

  const { rows, hasMore, snapshot } = await db.selectRows(ctx.pg, table, { where, keys, after, limit: first, offset, withSnapshot: args.withChangesCursor ?? false });
  const last = rows.at(-1);
  let count: Promise<number> | undefined;
  return {
    nodes: rows,
    ...(snapshot ? { changesCursor: snapshot } : {}),
    hasNextPage: hasMore,
    endCursor: last && keysAreUnique(table, keys) ? encodeCursor(keys, last) : null,
    totalCount: () => (count ??= db.countRows(ctx.pg, table, where)),
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A column Postgres fills when a row leaves it out: it has a default, is an identity, or may be null. */
const canBeOmitted = (column: ColumnInfo) => column.nullable || column.defaultSql !== null || column.identity;

interface EncodedRows {
  /** The columns any row gave, in table order. */
  columns: ColumnInfo[];
  /** One list per row, aligned with `columns`; DEFAULT where the row left the column out. */
  values: InsertValue[][];
  /** Which columns each row gave. */
  given: Set<string>[];
}

/** Validates rows for insert/upsert: 1–1000 objects, known columns, values per column, required columns given. */
function encodeRows(table: TableInfo, rows: readonly unknown[]): EncodedRows {
  if (rows.length < 1 || rows.length > ROW_LIMITS.rowsPerWrite) {
    throw badInput(`rows: expected between 1 and ${ROW_LIMITS.rowsPerWrite} rows, got ${rows.length}`);
  }
  const byName: Map<string, InsertValue>[] = [];
  rows.forEach((row, index) => {
    if (!isPlainObject(row)) throw badInput(`rows[${index}]: expected an object of { column: value }`, { row: index });
    const values = new Map<string, InsertValue>();
    for (const [name, value] of Object.entries(row)) {
      const column = findColumn(table, name, `rows[${index}]`, { row: index });
      values.set(name, encodeValue(column, value, `rows[${index}].${name}`, { table: table.name, row: index }));
    }
    for (const column of table.columns) {
      if (!values.has(column.name) && !canBeOmitted(column)) {
        throw badInput(`rows[${index}].${column.name}: column "${column.name}" cannot be null and has no default, so it must be given`, {
          table: table.name,
          column: column.name,
          row: index,
        });
      }
    }
    byName.push(values);
  });
  const columns = table.columns.filter((column) => byName.some((values) => values.has(column.name)));
  // A row that gives nothing still needs one column in the statement: its DEFAULT.
  if (columns.length === 0) columns.push(table.columns[0]!);
  const values = byName.map((row) => columns.map((column) => (row.has(column.name) ? row.get(column.name) : DEFAULT)));
  const bound = values.reduce((sum, row) => sum + row.filter((value) => value !== DEFAULT).length, 0);
  if (bound > MAX_PARAMETERS) throw badInput(`rows: ${bound} values in one call exceed Postgres' ${MAX_PARAMETERS}; send fewer rows per call`);
  return { columns, values, given: byName.map((row) => new Set(row.keys())) };
}

export function insertRows(ctx: Context, projectId: string, tableName: string, rows: readonly unknown[]): Promise<Row[]> {
  return withTable(ctx, projectId, tableName, (table) => {
    const { columns, values } = encodeRows(table, rows);
    return db.insertRows(ctx.pg, ctx.actor, table, columns, values);
  });
}

/**
 * Every row must give the same columns, including all `onConflict` columns: an existing row gets
 * exactly the given columns, and EXCLUDED cannot tell a default from a value a row gave.
 */
export function upsertRows(ctx: Context, projectId: string, tableName: string, rows: readonly unknown[], onConflict: readonly string[]): Promise<Row[]> {
  return withTable(ctx, projectId, tableName, (table) => upsertInto(ctx, table, rows, onConflict));
}

async function upsertInto(ctx: Context, table: TableInfo, rows: readonly unknown[], onConflict: readonly string[]): Promise<Row[]> {
  if (onConflict.length === 0) throw badInput('onConflict: name the columns of the primary key or of a unique constraint');
  const conflict = onConflict.map((name, i) => findColumn(table, name, `onConflict[${i}]`));
  if (new Set(onConflict).size !== onConflict.length) throw badInput('onConflict: a column is listed twice');
  const { columns, values, given } = encodeRows(table, rows);
  given.forEach((names, index) => {
    const missing = conflict.find((column) => !names.has(column.name));
    if (missing) throw badInput(`rows[${index}].${missing.name}: an upsert row must give every onConflict column`, { column: missing.name, row: index });
    if (names.size !== columns.length) {
      const absent = columns.find((column) => !names.has(column.name))!;
      throw badInput(`rows[${index}].${absent.name}: every row of one upsert must give the same columns (another row gives "${absent.name}")`, {
        column: absent.name,
        row: index,
      });
    }
  });
  return db.upsertRows(ctx.pg, ctx.actor, table, columns, values, conflict);
}

export function updateRows(ctx: Context, projectId: string, tableName: string, where: unknown, set: Record<string, unknown>): Promise<Row[]> {
  return withTable(ctx, projectId, tableName, async (table) => {
    const filter = parseWhere(table, where);
    const entries = Object.entries(set);
    if (entries.length === 0) throw badInput('set: give at least one column to change');
    const assignments = entries.map(([name, value]): [ColumnInfo, unknown] => {
      const column = findColumn(table, name, 'set');
      return [column, encodeValue(column, value, `set.${name}`, { table: table.name })];
    });
    return db.updateRows(ctx.pg, ctx.actor, table, assignments, filter);
  });
}

export function deleteRows(ctx: Context, projectId: string, tableName: string, where: unknown): Promise<Row[]> {
  return withTable(ctx, projectId, tableName, async (table) => {
    const filter = parseWhere(table, where);
    if (isMatchAll(filter)) throw badInput('where: an empty filter would delete every row; use clearTable to remove them all');
    return db.deleteRows(ctx.pg, ctx.actor, table, filter);
  });
}
