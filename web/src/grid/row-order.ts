import type { Column, OrderBy, Row } from '../api/documents.js';

/**
 * The order a listing has on the server (orderBy, then the primary key columns not in it, ASC;
 * NULLS LAST for ASC and FIRST for DESC), so that a live change can be placed among the rows of
 * the page without asking the server. Values stay in the API's encoding: bigint and numeric are
 * compared as exact decimals, never as JS numbers. Text compares by code point, which is the
 * order of the C and C.UTF-8 collations (the embedded cluster's); under another collation a live
 * row may land a place away from where the next page read puts it.
 */

export type RowComparator = (a: Row, b: Row) => number;

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Compares two decimal strings exactly ("-12.50" vs "3e2"). */
export function compareDecimal(a: string, b: string): number {
  const parse = (text: string) => {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
    if (!m) return { negative: false, digits: '', exponent: 0 };
    const digits = `${m[2] ?? ''}${m[3] ?? ''}`.replace(/^0+/, '');
    // The value is 0.digits × 10^exponent once leading zeros are gone.
    const intLength = (m[2] ?? '').replace(/^0+/, '').length;
    const leadingFractionZeros = intLength === 0 ? ((m[3] ?? '').match(/^0*/)?.[0].length ?? 0) : 0;
    const exponent = (intLength > 0 ? intLength : -leadingFractionZeros) + Number(m[4] ?? 0);
    return { negative: m[1] === '-' && digits.length > 0, digits: digits.replace(/0+$/, ''), exponent };
  };
  const x = parse(a);
  const y = parse(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const flip = x.negative ? -1 : 1;
  if (!x.digits || !y.digits) return flip * sign((x.digits ? 1 : 0) - (y.digits ? 1 : 0));
  if (x.exponent !== y.exponent) return flip * sign(x.exponent - y.exponent);
  return flip * (x.digits < y.digits ? -1 : x.digits > y.digits ? 1 : 0);
}

/** By code point (the C collation's order); JS's `<` compares UTF-16 units, which differs past U+FFFF. */
function codePointCompare(a: string, b: string): number {
  if (a === b) return 0;
  const x = a[Symbol.iterator]();
  const y = b[Symbol.iterator]();
  for (;;) {
    const p = x.next();
    const q = y.next();
    if (p.done || q.done) return p.done && q.done ? 0 : p.done ? -1 : 1;
    const d = p.value.codePointAt(0)! - q.value.codePointAt(0)!;
    if (d !== 0) return sign(d);
  }
}

/** Non-null values of one column type. */
export function compareValues(type: Column['type'], a: unknown, b: unknown): number {
  switch (type) {
    case 'INTEGER':
    case 'SERIAL':
      return sign(Number(a) - Number(b));
    case 'BIGINT': {
      const x = BigInt(String(a));
      const y = BigInt(String(b));
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'NUMERIC':
      return compareDecimal(String(a), String(b));
    case 'BOOLEAN':
      return sign(Number(a) - Number(b));
    case 'TIMESTAMPTZ':
      return compareTimestamps(String(a), String(b));
    case 'JSONB':
      // Postgres orders jsonb by its own rules; its text is close enough to place a live row.
      return codePointCompare(JSON.stringify(a), JSON.stringify(b));
    default:
      // text, varchar, uuid (lowercase), date (YYYY-MM-DD)
      return codePointCompare(String(a), String(b));
  }
}

/** ISO 8601 instants with microseconds: by epoch milliseconds, then the digits after them. */
function compareTimestamps(a: string, b: string): number {
  const ms = sign(Date.parse(a) - Date.parse(b));
  if (ms !== 0) return ms;
  const micros = (text: string) => (/\.(\d+)/.exec(text)?.[1] ?? '').padEnd(6, '0').slice(3, 6);
  return codePointCompare(micros(a), micros(b));
}

/** The listing's total order as the server applies it. */
export function rowComparator(columns: Column[], primaryKey: string[], orderBy: OrderBy[]): RowComparator {
  const keys = [...orderBy];
  for (const name of primaryKey) if (!keys.some((key) => key.column === name)) keys.push({ column: name, direction: 'ASC' });
  const typed = keys.map((key) => ({ ...key, type: columns.find((c) => c.name === key.column)?.type ?? 'TEXT' }));
  return (a, b) => {
    for (const key of typed) {
      const x = a[key.column] ?? null;
      const y = b[key.column] ?? null;
      if (x === null && y === null) continue;
      // NULLS LAST for ASC, NULLS FIRST for DESC: null is the largest value either way.
      const order = x === null ? 1 : y === null ? -1 : compareValues(key.type, x, y);
      if (order !== 0) return key.direction === 'DESC' ? -order : order;
    }
    return 0;
  };
}

/** The primary key of a row as one string (the grid's row id). */
export const rowKey = (primaryKey: string[], row: Row) => JSON.stringify(primaryKey.map((name) => row[name] ?? null));
