import type { ColumnInfo, TableInfo } from '../../domain/tables.js';
import { qualify, quoteIdent } from '../identifiers.js';
import { SqlParams, whereToSql } from '../where.sql.js';
import type { WhereNode } from '../../domain/where.js';
import type { SortKey } from '../../domain/row-cursor.js';

/**
 * Row statements, each ONE statement with every value a `$n` parameter. Identifiers come from
 * the catalog (TableInfo) and are always quoted.
 */

export interface Statement {
  text: string;
  values: unknown[];
}

/** The value of the input row that a column takes its DEFAULT (the column was not given). */
export const DEFAULT = Symbol('DEFAULT');
export type InsertValue = unknown | typeof DEFAULT;

/**
 * The select list. Every type already reads back exactly through the pool's type parsers
 * (int8/numeric as strings, date as text, timestamptz as ISO with microseconds in UTC sessions,
 * jsonb through JSON.parse, see values.ts), so each column is selected as it is.
 */
export const selectList = (table: TableInfo) => table.columns.map((column) => quoteIdent(column.name)).join(', ');

/**
 * Rows strictly after `after` in the order of `keys`, with Postgres' default NULL placement
 * (NULLS LAST for ASC, NULLS FIRST for DESC). When every key is NOT NULL and all go one way, a row
 * comparison `(a, b) > ($1, $2)` (which an index on (a, b) serves); otherwise the expanded form
 * `a > $1 OR (a = $1 AND (b > $2 ...))`, where a NULL cursor value is decided here, not bound.
 */
export function keysetSql(keys: SortKey[], after: unknown[], params: SqlParams): string {
  const uniform = keys.every((key) => key.direction === keys[0]!.direction);
  if (uniform && keys.every((key, i) => !key.column.nullable && after[i] !== null)) {
    const columns = keys.map((key) => quoteIdent(key.column.name)).join(', ');
    const values = keys.map((key, i) => params.add(after[i], key.column.type)).join(', ');
    return `(${columns}) ${keys[0]!.direction === 'ASC' ? '>' : '<'} (${values})`;
  }
  const step = (i: number): string => {
    const key = keys[i]!;
    const column = quoteIdent(key.column.name);
    const value = after[i];
    let beyond: string | undefined;
    let same: string;
    if (value === null) {
      beyond = key.direction === 'ASC' ? undefined : `${column} IS NOT NULL`;
      same = `${column} IS NULL`;
    } else {
      const bound = params.add(value, key.column.type);
      beyond = key.direction === 'ASC' ? `(${column} > ${bound} OR ${column} IS NULL)` : `${column} < ${bound}`;
      if (!key.column.nullable) beyond = `${column} ${key.direction === 'ASC' ? '>' : '<'} ${bound}`;
      same = `${column} = ${bound}`;
    }
    if (i === keys.length - 1) return beyond ?? 'FALSE';
    const rest = `${same} AND (${step(i + 1)})`;
    return beyond ? `${beyond} OR (${rest})` : rest;
  };
  return step(0);
}

export interface SelectRowsSpec {
  where: WhereNode;
  keys: SortKey[];
  /** The cursor's values, one per key, or undefined for the first page. */
  after?: unknown[];
  limit: number;
  offset: number;
}

export function selectRowsSql(table: TableInfo, spec: SelectRowsSpec): Statement {
  const params = new SqlParams();
  const { from, order, limit } = pageParts(table, spec, params);
  return { text: /* SQL */ `SELECT ${selectList(table)} ${from}${order ? ` ORDER BY ${order}` : ''} ${limit}`, values: params.values };
}

/** The page's extra columns in selectRowsWithSnapshotSql. */
export const PAGE_SNAPSHOT_COLUMN = 'paige.snapshot';
export const PAGE_ORDINAL_COLUMN = 'paige.ordinal';

/**
 * The same page, still ONE statement, with the statement's own snapshot (`snapshotSql`) beside
 * it: one row of it LEFT JOINed to the page, so an empty page still returns it (a row whose
 * ordinal is null), and the page's order carried by its ordinal.
 */
export function selectRowsWithSnapshotSql(table: TableInfo, spec: SelectRowsSpec, snapshotSql: string): Statement {
  const params = new SqlParams();
  const { from, order, limit } = pageParts(table, spec, params);
  const page = `SELECT ${selectList(table)}, row_number() OVER (${order ? `ORDER BY ${order}` : ''}) AS "${PAGE_ORDINAL_COLUMN}" ${from}${order ? ` ORDER BY ${order}` : ''} ${limit}`;
  const text = /* SQL */ `SELECT page.*, s."${PAGE_SNAPSHOT_COLUMN}" FROM (SELECT ${snapshotSql} AS "${PAGE_SNAPSHOT_COLUMN}") s LEFT JOIN LATERAL (${page}) page ON true ORDER BY page."${PAGE_ORDINAL_COLUMN}"`;
  return { text, values: params.values };
}

function pageParts(table: TableInfo, spec: SelectRowsSpec, params: SqlParams): { from: string; order: string; limit: string } {
  const conditions = [whereToSql(spec.where, params)];
  if (spec.after) conditions.push(keysetSql(spec.keys, spec.after, params));
  const order = spec.keys.map((key) => `${quoteIdent(key.column.name)} ${key.direction}`).join(', ');
  return {
    from: `FROM ${qualify(table.schema, table.name)} WHERE ${conditions.map((c) => `(${c})`).join(' AND ')}`,
    order,
    limit: `LIMIT ${params.addPlain(spec.limit)}${spec.offset ? ` OFFSET ${params.addPlain(spec.offset)}` : ''}`,
  };
}

export function countRowsSql(table: TableInfo, where: WhereNode): Statement {
  const params = new SqlParams();
  const text = /* SQL */ `SELECT count(*) AS "count" FROM ${qualify(table.schema, table.name)} WHERE ${whereToSql(where, params)}`;
  return { text, values: params.values };
}

/** `VALUES (...), (...)` with DEFAULT where a row did not give the column. */
function valuesSql(columns: ColumnInfo[], rows: InsertValue[][], params: SqlParams): string {
  return rows
    .map((row) => `(${columns.map((column, i) => (row[i] === DEFAULT ? 'DEFAULT' : params.add(row[i], column.type))).join(', ')})`)
    .join(', ');
}

/** `columns` is never empty: rows that give no column insert `(first column) VALUES (DEFAULT)`. */
export function insertRowsSql(table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][]): Statement {
  const params = new SqlParams();
  const names = columns.map((column) => quoteIdent(column.name)).join(', ');
  const text = /* SQL */ `INSERT INTO ${qualify(table.schema, table.name)} (${names}) VALUES ${valuesSql(columns, rows, params)} RETURNING ${selectList(table)}`;
  return { text, values: params.values };
}

/**
 * INSERT ... ON CONFLICT (keys) DO UPDATE SET every given column but the keys. When the rows give
 * only the keys, the keys are "updated" to themselves so that existing rows are still returned.
 */
export function upsertRowsSql(table: TableInfo, columns: ColumnInfo[], rows: InsertValue[][], conflict: ColumnInfo[]): Statement {
  const params = new SqlParams();
  const names = columns.map((column) => quoteIdent(column.name)).join(', ');
  const keys = new Set(conflict.map((column) => column.name));
  const updated = columns.filter((column) => !keys.has(column.name));
  const set = (updated.length ? updated : conflict).map((column) => `${quoteIdent(column.name)} = EXCLUDED.${quoteIdent(column.name)}`).join(', ');
  const target = conflict.map((column) => quoteIdent(column.name)).join(', ');
  const text = /* SQL */ `INSERT INTO ${qualify(table.schema, table.name)} (${names}) VALUES ${valuesSql(columns, rows, params)} ON CONFLICT (${target}) DO UPDATE SET ${set} RETURNING ${selectList(table)}`;
  return { text, values: params.values };
}

export function updateRowsSql(table: TableInfo, set: [ColumnInfo, unknown][], where: WhereNode): Statement {
  const params = new SqlParams();
  const assignments = set.map(([column, value]) => `${quoteIdent(column.name)} = ${params.add(value, column.type)}`).join(', ');
  const text = /* SQL */ `UPDATE ${qualify(table.schema, table.name)} SET ${assignments} WHERE ${whereToSql(where, params)} RETURNING ${selectList(table)}`;
  return { text, values: params.values };
}

export function deleteRowsSql(table: TableInfo, where: WhereNode): Statement {
  const params = new SqlParams();
  const text = /* SQL */ `DELETE FROM ${qualify(table.schema, table.name)} WHERE ${whereToSql(where, params)} RETURNING ${selectList(table)}`;
  return { text, values: params.values };
}
