import { z } from 'zod';
import type { ColumnInfo, ColumnType } from './tables.js';
import { badInput } from './errors.js';

/**
 * Values cross the API as JSON, one encoding per column type (DESIGN.md "Column types and values"):
 * integer/serial numbers; bigint and numeric strings; date `YYYY-MM-DD`; timestamptz ISO 8601 with
 * its microseconds; uuid lowercase string; boolean; jsonb any JSON; text/varchar strings.
 *
 * A codec turns one input value into the parameter sent to Postgres (always as `$n`, never as SQL
 * text). The parameter is already in the form Postgres will hand back, where that form is unique
 * (bigint without leading zeros, uuid lowercase), so the in-memory filter can compare it with rows.
 *
 * jsonb numbers are IEEE-754 doubles on this API, as in every JSON-in-JavaScript stack: a request's
 * JSON is parsed before any resolver sees it. Whatever the API writes is stored as the shortest
 * decimal of that double and reads back as the same double, so it round-trips exactly. A number that
 * raw SQL stored with more precision than a double has reads back rounded to the nearest double;
 * use a numeric column (strings, exact) for such values.
 */

/** What a codec hands to node-postgres: text for everything but integers and booleans. */
export type SqlParam = string | number | boolean | null;

const INT4_MIN = -2147483648;
const INT4_MAX = 2147483647;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** Postgres rejects NUL in text and jsonb; node-postgres would silently turn a lone surrogate into U+FFFD. */
const plainText = (value: string) => !value.includes('\0') && !/\p{Cs}/u.test(value);
const textProblem = 'strings cannot contain a NUL character or a lone UTF-16 surrogate';

/** Days in a month of the proleptic Gregorian calendar, as Postgres counts them. */
function validDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

export const DATE_PATTERN = /^(\d{4})-(\d\d)-(\d\d)$/;
/** ISO 8601 with a required offset; up to 6 fractional digits (Postgres keeps microseconds, no more). */
export const TIMESTAMPTZ_PATTERN = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([Zz])|([+-])(\d\d):?(\d\d))$/;
const NUMERIC_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
/** The exponent of `1.5e-7` (-7); bounded so that Postgres never overflows its numeric format. */
const exponentOf = (v: string) => Number(/[eE]([+-]?\d+)$/.exec(v)?.[1] ?? 0);
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function isCalendarDate(value: string): boolean {
  const m = DATE_PATTERN.exec(value);
  return !!m && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

function isTimestamptz(value: string): boolean {
  const m = TIMESTAMPTZ_PATTERN.exec(value);
  if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (hour > 23 || minute > 59 || second > 59) return false;
  return !m[9] || (Number(m[10]) <= 15 && Number(m[11]) <= 59);
}

/** Every string leaf and key of a JSON value is storable in jsonb. */
function storableJson(value: unknown, depth = 0): boolean {
  if (depth > 200) return false;
  if (typeof value === 'string') return plainText(value);
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value === 'boolean') return true;
  if (Array.isArray(value)) return value.every((item) => storableJson(item, depth + 1));
  if (typeof value === 'object') return Object.entries(value).every(([key, item]) => plainText(key) && storableJson(item, depth + 1));
  return false;
}

const integerSchema = z
  .number({ error: (issue) => `expected an integer (a JSON number), got ${show(issue.input)}` })
  .refine((n) => Number.isInteger(n) && n >= INT4_MIN && n <= INT4_MAX, {
    error: (issue) => `expected an integer between ${INT4_MIN} and ${INT4_MAX}, got ${show(issue.input)}`,
  });

const bigintSchema = z
  .union([z.string(), z.number()], { error: (issue) => `expected a bigint as a string of digits or a safe integer, got ${show(issue.input)}` })
  .refine((v) => (typeof v === 'number' ? Number.isSafeInteger(v) : /^[+-]?\d{1,30}$/.test(v)) && BigInt(v) >= INT8_MIN && BigInt(v) <= INT8_MAX, {
    error: (issue) => `expected a bigint between ${INT8_MIN} and ${INT8_MAX} (a string of digits, or a safe integer), got ${show(issue.input)}`,
  })
  .transform((v) => BigInt(v).toString());

const numericSchema = z
  .union([z.string(), z.number()], { error: (issue) => `expected a numeric as a decimal string or a finite number, got ${show(issue.input)}` })
  .refine((v) => (typeof v === 'number' ? Number.isFinite(v) : NUMERIC_PATTERN.test(v) && v.length <= 1000 && Math.abs(exponentOf(v)) <= 1000), {
    error: (issue) => `expected a numeric as a decimal string (e.g. "12.50") or a finite number, got ${show(issue.input)}`,
  })
  // A number is sent as its shortest round-trip decimal, which is the value the caller meant.
  .transform((v) => (typeof v === 'number' ? String(v) : v));

const booleanSchema = z.boolean({ error: (issue) => `expected true or false, got ${show(issue.input)}` });

const dateSchema = z
  .string({ error: (issue) => `expected a date "YYYY-MM-DD", got ${show(issue.input)}` })
  .refine(isCalendarDate, { error: (issue) => `expected a valid calendar date "YYYY-MM-DD", got ${show(issue.input)}` });

const timestamptzSchema = z
  .string({ error: (issue) => `expected an ISO 8601 timestamp with an offset, got ${show(issue.input)}` })
  .refine(isTimestamptz, {
    error: (issue) => `expected an ISO 8601 timestamp with an offset and at most 6 fractional digits (e.g. "2024-05-01T12:30:00.123456+02:00"), got ${show(issue.input)}`,
  });

const uuidSchema = z
  .string({ error: (issue) => `expected a uuid string, got ${show(issue.input)}` })
  .refine((v) => UUID_PATTERN.test(v), { error: (issue) => `expected a uuid such as "0b6f2c1e-8d3a-4c4e-9f51-2a7d1c9e0f00", got ${show(issue.input)}` })
  .transform((v) => v.toLowerCase());

const jsonbSchema = z
  .unknown()
  .refine((v) => v !== undefined && storableJson(v), { error: `expected JSON that jsonb can store (${textProblem})` })
  // Always stringified: node-postgres would send a JS array as a Postgres array and a string unquoted.
  .transform((v) => JSON.stringify(v));

const textSchema = (maxLength: number | null) =>
  z
    .string({ error: (issue) => `expected a string, got ${show(issue.input)}` })
    .refine(plainText, { error: textProblem })
    .refine((v) => maxLength === null || [...v].length <= maxLength, {
      // Postgres counts characters (code points), not UTF-16 units.
      error: (issue) => `expected at most ${maxLength} characters, got ${[...String(issue.input)].length}`,
    });

const schemas: Record<Exclude<ColumnType, 'text' | 'varchar'>, z.ZodType<SqlParam>> = {
  integer: integerSchema,
  serial: integerSchema,
  bigint: bigintSchema,
  numeric: numericSchema,
  boolean: booleanSchema,
  date: dateSchema,
  timestamptz: timestamptzSchema,
  uuid: uuidSchema,
  jsonb: jsonbSchema,
};

const cache = new Map<string, z.ZodType<SqlParam>>();

/** The zod schema of one column (non-null values; null is decided by the caller). */
export function columnSchema(column: Pick<ColumnInfo, 'type' | 'maxLength'>): z.ZodType<SqlParam> {
  if (column.type !== 'text' && column.type !== 'varchar') return schemas[column.type];
  const key = `${column.type}:${column.maxLength}`;
  let schema = cache.get(key);
  if (!schema) cache.set(key, (schema = textSchema(column.type === 'varchar' ? column.maxLength : null)));
  return schema;
}

/**
 * Parses one value for a column; `path` names where it came from (`rows[3].price`, `where.price._eq`).
 * null is SQL NULL (also for jsonb: a JSON `null` cannot be told apart on the way out).
 */
export function encodeValue(column: ColumnInfo, value: unknown, path: string, details: Record<string, unknown> = {}): SqlParam {
  if (value === null) {
    if (!column.nullable) throw badInput(`${path}: column "${column.name}" cannot be null`, { column: column.name, ...details });
    return null;
  }
  const result = columnSchema(column).safeParse(value);
  if (result.success) return result.data;
  throw badInput(`${path}: ${result.error.issues[0]!.message}`, { column: column.name, ...details });
}

/** Like encodeValue, for operands of a filter: null is not a value there (use _isNull). */
export function encodeOperand(column: ColumnInfo, value: unknown, path: string): Exclude<SqlParam, null> {
  if (value === null || value === undefined) throw badInput(`${path}: a filter value cannot be null; use _isNull`, { column: column.name });
  const result = columnSchema(column).safeParse(value);
  if (result.success) return result.data as Exclude<SqlParam, null>;
  throw badInput(`${path}: ${result.error.issues[0]!.message}`, { column: column.name });
}
