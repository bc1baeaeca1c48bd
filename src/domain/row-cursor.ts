import { findColumn, type ColumnInfo, type Row, type TableInfo } from './tables.js';
import { badInput } from './errors.js';
import { encodeOperand } from './values.js';

/**
 * The total order of a listing and the opaque `after` cursor that marks a position in it.
 * The order is the requested columns followed by the primary key columns not among them, so no
 * two rows tie: paging by "strictly after the last row" never repeats or skips one.
 * A cursor is base64url JSON `{ k: ["price:DESC", "id:ASC"], v: ["9.50", "42"] }`: the keys it was
 * made for (a cursor from another order is refused) and the last row's values in API encoding.
 */

/** One column of the total order of a listing: the orderBy columns, then the primary key. */
export interface SortKey {
  column: Pick<ColumnInfo, 'name' | 'type' | 'nullable'>;
  direction: 'ASC' | 'DESC';
}

export interface OrderByInput {
  column: string;
  direction?: 'ASC' | 'DESC' | null;
}

export function sortKeys(table: TableInfo, orderBy: readonly OrderByInput[] | null | undefined): SortKey[] {
  const keys: SortKey[] = [];
  (orderBy ?? []).forEach((item, i) => {
    const column = findColumn(table, item.column, `orderBy[${i}]`);
    if (keys.some((key) => key.column.name === column.name)) throw badInput(`orderBy[${i}]: column "${column.name}" is listed twice`, { column: column.name });
    keys.push({ column, direction: item.direction ?? 'ASC' });
  });
  for (const name of table.primaryKey) {
    const column = findColumn(table, name);
    if (!keys.some((key) => key.column.name === name)) keys.push({ column, direction: 'ASC' });
  }
  return keys;
}

const signature = (keys: SortKey[]) => keys.map((key) => `${key.column.name}:${key.direction}`);

/** Whether keys identify a row: they include the whole primary key. */
export const keysAreUnique = (table: TableInfo, keys: SortKey[]) =>
  table.primaryKey.length > 0 && table.primaryKey.every((name) => keys.some((key) => key.column.name === name));

export function encodeCursor(keys: SortKey[], row: Row): string {
  const values = keys.map((key) => row[key.column.name] ?? null);
  return Buffer.from(JSON.stringify({ k: signature(keys), v: values })).toString('base64url');
}

/** The cursor's values as statement parameters, validated like any other input. */
export function decodeCursor(table: TableInfo, keys: SortKey[], cursor: string): unknown[] {
  if (!keysAreUnique(table, keys)) throw badInput(`after: table "${table.name}" has no primary key, so it cannot be paged with a cursor; use offset`);
  let parsed: { k?: unknown; v?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badInput('after: not a cursor of this API (pass pageInfo.endCursor unchanged)');
  }
  const expected = signature(keys);
  if (!parsed || !Array.isArray(parsed.k) || !Array.isArray(parsed.v) || parsed.v.length !== keys.length) {
    throw badInput('after: not a cursor of this API (pass pageInfo.endCursor unchanged)');
  }
  if (JSON.stringify(parsed.k) !== JSON.stringify(expected)) {
    throw badInput(`after: the cursor was made for the order ${JSON.stringify(parsed.k)}, not ${JSON.stringify(expected)}; use the same orderBy`);
  }
  const values = parsed.v as unknown[];
  return keys.map((key, i) => {
    const column = findColumn(table, key.column.name);
    // jsonb values travel parsed inside the cursor; everything else in its API encoding.
    return values[i] === null && column.nullable ? null : encodeOperand(column, values[i], `after.${column.name}`);
  });
}
