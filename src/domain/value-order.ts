import type { ColumnType } from './tables.js';

/**
 * The order and equality Postgres applies to each column type, for the in-memory filter that live
 * changes use (matchesWhere). Row values arrive in the API's encoding (bigint/numeric strings, ISO
 * timestamps); numbers and other offsets are accepted too, so a row straight from `to_jsonb` works.
 * Text compares by code point, which is what the SQL filter asks for with COLLATE "C".
 * Returns null when a value cannot be compared (the filter then treats the condition as unknown).
 */
export function compareValues(type: ColumnType, a: unknown, b: unknown): number | null {
  switch (type) {
    case 'integer':
    case 'serial':
      return sign(Number(a) - Number(b));
    case 'boolean':
      return sign(Number(a) - Number(b));
    case 'bigint':
      try {
        const [x, y] = [BigInt(String(a)), BigInt(String(b))];
        return x < y ? -1 : x > y ? 1 : 0;
      } catch {
        return null;
      }
    case 'numeric':
      return compareDecimals(String(a), String(b));
    case 'date':
      return compareKeys(dateKey(String(a)), dateKey(String(b)));
    case 'timestamptz':
      return compareKeys(timestampMicros(String(a)), timestampMicros(String(b)));
    case 'uuid':
      return compareCodePoints(String(a).toLowerCase(), String(b).toLowerCase());
    case 'jsonb':
      // jsonb has an order in Postgres, but the filter only allows equality on it.
      return canonicalJson(typeof b === 'string' ? JSON.parse(b) : b) === canonicalJson(a) ? 0 : 1;
    default:
      return typeof a === 'string' && typeof b === 'string' ? compareCodePoints(a, b) : null;
  }
}

const sign = (n: number) => (Number.isNaN(n) ? null : n < 0 ? -1 : n > 0 ? 1 : 0);

function compareKeys(a: bigint | number | null, b: bigint | number | null): number | null {
  if (a === null || b === null) return null;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** UTF-8 byte order, i.e. code point order (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const x = a[Symbol.iterator]();
  const y = b[Symbol.iterator]();
  for (;;) {
    const p = x.next();
    const q = y.next();
    if (p.done || q.done) return p.done && q.done ? 0 : p.done ? -1 : 1;
    const diff = p.value.codePointAt(0)! - q.value.codePointAt(0)!;
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
}

/**
 * JSON with every object's keys sorted by code point: `{"a":1,"b":2}` and `{"b":2,"a":1}` give the
 * same text, as jsonb holds them equal (and identical subscriptions share a group whatever their
 * key order).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => compareCodePoints(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A decimal as sign, significant digits and the power of ten of its first digit. */
function decimalParts(text: string): { sign: number; digits: string; magnitude: number } | 'nan' | number | null {
  const t = text.trim();
  if (/^nan$/i.test(t)) return 'nan';
  if (/^[+]?infinity$/i.test(t)) return Infinity;
  if (/^-infinity$/i.test(t)) return -Infinity;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(t);
  if (!m || (!m[2] && !m[3])) return null;
  const all = (m[2] ?? '') + (m[3] ?? '');
  const lead = all.search(/[1-9]/);
  if (lead < 0) return { sign: 0, digits: '', magnitude: 0 };
  const digits = all.slice(lead).replace(/0+$/, '');
  const magnitude = (m[2] ?? '').length - lead + Number(m[4] ?? 0);
  return { sign: m[1] === '-' ? -1 : 1, digits, magnitude };
}

/** Exact comparison of two decimal strings; NaN sorts above everything and equals itself, as in Postgres. */
export function compareDecimals(a: string, b: string): number | null {
  const x = decimalParts(a);
  const y = decimalParts(b);
  if (x === null || y === null) return null;
  if (x === 'nan' || y === 'nan') return x === y ? 0 : x === 'nan' ? 1 : -1;
  if (typeof x === 'number' || typeof y === 'number') {
    const fx = typeof x === 'number' ? x : x.sign;
    const fy = typeof y === 'number' ? y : y.sign;
    return fx === fy ? 0 : fx < fy ? -1 : 1;
  }
  if (x.sign !== y.sign) return x.sign < y.sign ? -1 : 1;
  if (x.sign === 0) return 0;
  let order = x.magnitude !== y.magnitude ? (x.magnitude < y.magnitude ? -1 : 1) : 0;
  if (order === 0) {
    const width = Math.max(x.digits.length, y.digits.length);
    const [dx, dy] = [x.digits.padEnd(width, '0'), y.digits.padEnd(width, '0')];
    order = dx === dy ? 0 : dx < dy ? -1 : 1;
  }
  return order === 0 ? 0 : order * x.sign;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function dateKey(text: string): number | null {
  if (text === 'infinity') return Infinity;
  if (text === '-infinity') return -Infinity;
  // Postgres prints 'YYYY-MM-DD' or 'YYYY-MM-DD BC'; ISO's expanded years ('+010000', '-000001') are read too.
  const m = /^([+-]?\d{4,})-(\d\d)-(\d\d)( BC)?$/.exec(text);
  if (!m) return null;
  const year = m[4] ? 1 - Number(m[1]) : Number(m[1]);
  return daysFromCivil(year, Number(m[2]), Number(m[3]));
}

/** Microseconds since the epoch of an ISO 8601 timestamp with any offset (Z, +hh, +hh:mm, +hhmm). */
export function timestampMicros(text: string): bigint | null {
  if (text === 'infinity') return 2n ** 62n;
  if (text === '-infinity') return -(2n ** 62n);
  const m = /^([+-]?\d{4,})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:[Zz]|([+-])(\d\d)(?::?(\d\d))?)$/.exec(text);
  if (!m) return null;
  const days = daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  const seconds = days * 86400 + Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
  const offset = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60) : 0;
  return BigInt(seconds - offset) * 1_000_000n + BigInt((m[7] ?? '').padEnd(6, '0'));
}
