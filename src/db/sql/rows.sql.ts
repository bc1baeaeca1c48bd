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

/** The page's extra columns (selectRowsSql, selectRowsWithSnapshotSql). */
export const PAGE_SNAPSHOT_COLUMN = 'paige.snapshot';
export const PAGE_ORDINAL_COLUMN = 'paige.ordinal';
/** The row's size in bytes, about as Postgres sends it (its text and JSON values, in full). */
export const PAGE_BYTES_COLUMN = 'paige.bytes';
/** Whether the row fits in the page's byte cap (its values are null when it does not). */
export const PAGE_FITS_COLUMN = 'paige.fits';

/**
 * A row's size without reading it whole: octet_length of a text value reads the size from its
 * header, even when it is toasted and compressed; a jsonb value is measured as its text (Postgres
 * has no cheaper way); the other types are a few bytes each, counted as 16.
 */
function rowBytesSql(table: TableInfo): string {
  const sizes = table.columns.map((column) => {
    const name = quoteIdent(column.name);
    if (column.type === 'text' || column.type === 'varchar') return `coalesce(octet_length(${name}), 0)`;
    if (column.type === 'jsonb') return `coalesce(octet_length(${name}::text), 0)`;
    return '16';
  });
  return sizes.length ? sizes.join(' + ') : '0';
}

/**
 * One page, capped by rows (`spec.limit`) AND by bytes (`byteCap`): the rows in order while their
 * running size stays within the cap, then the first row past it with its size and null values (so
 * the caller knows a next page exists, or that one row alone is over the cap, without receiving it).
 * Postgres measures and cuts: a page of large rows never reaches the server process.
 */
function cappedPageSql(table: TableInfo, spec: SelectRowsSpec, byteCap: number, params: SqlParams): string {
  const { from, order, limit } = pageParts(table, spec, params);
  const cap = params.addPlain(byteCap);
  const inner = `SELECT ${selectList(table)}, row_number() OVER (${order ? `ORDER BY ${order}` : ''}) AS "${PAGE_ORDINAL_COLUMN}", (${rowBytesSql(table)}) AS "${PAGE_BYTES_COLUMN}" ${from}${order ? ` ORDER BY ${order}` : ''} ${limit}`;
  const running = `SELECT i.*, sum(i."${PAGE_BYTES_COLUMN}") OVER (ORDER BY i."${PAGE_ORDINAL_COLUMN}") AS "paige.running" FROM (${inner}) i`;
  const fits = `w."paige.running" <= ${cap}`;
  const columns = table.columns.map((column) => `CASE WHEN ${fits} THEN w.${quoteIdent(column.name)} END AS ${quoteIdent(column.name)}`);
  return `SELECT ${[...columns, `w."${PAGE_ORDINAL_COLUMN}"`, `w."${PAGE_BYTES_COLUMN}"`, `${fits} AS "${PAGE_FITS_COLUMN}"`].join(', ')} FROM (${running}) w WHERE w."paige.running" - w."${PAGE_BYTES_COLUMN}" <= ${cap}`;
}

export function selectRowsSql(table: TableInfo, spec: SelectRowsSpec, byteCap: number): Statement {
  const params = new SqlParams();
  const page = cappedPageSql(table, spec, byteCap, params);
  return { text: /* SQL */ `SELECT * FROM (${page}) page ORDER BY page."${PAGE_ORDINAL_COLUMN}"`, values: params.values };
}

/**
 * The same page, still ONE statement, with the statement's own snapshot (`snapshotSql`) beside
 * it: one row of it LEFT JOINed to the page, so an empty page still returns it (a row whose
 * ordinal is null), and the page's order carried by its ordinal.
 */
export function selectRowsWithSnapshotSql(table: TableInfo, spec: SelectRowsSpec, byteCap: number, snapshotSql: string): Statement {
  const params = new SqlParams();
  const page = cappedPageSql(table, spec, byteCap, params);
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
