import { z } from 'zod';
import { badInput } from '../errors.js';
import { COLUMN_TYPES, type ColumnType } from '../db/catalog.js';
import { DEFAULT_EXPRESSIONS, MAX_VARCHAR_LENGTH, isDefaultExpression, type DefaultSpec } from '../db/column-types.js';
import type { ColumnSpec } from '../db/ddl.js';
import { checkName } from './names.js';
import { parseInput } from './validation.js';

/** ColumnInput as GraphQL delivers it (enum values upper case, defaults already applied). */
export const columnInputSchema = z.object({
  name: z.string(),
  type: z.string().transform((type) => type.toLowerCase()).pipe(z.enum(COLUMN_TYPES)),
  nullable: z.boolean().nullish().transform((value) => value ?? true),
  unique: z.boolean().nullish().transform((value) => value ?? false),
  maxLength: z.number().int().nullish().transform((value) => value ?? null),
  default: z.unknown().optional(),
});
export type ColumnInput = z.input<typeof columnInputSchema>;

const INT4 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const INT8 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const noNul = (text: string) => !text.includes('\0');

/** A real calendar date, so 2024-02-30 is refused here rather than by Postgres. */
function isCalendarDate(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const DATE = /^\d{4}-\d\d-\d\d$/;
/** An explicit offset is required: a default must not depend on the session's time zone. */
const TIMESTAMPTZ = /^\d{4}-\d\d-\d\d[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Per type: which JSON values are valid defaults, turned into Postgres's input text for the type,
 * and what to tell the user otherwise. Strings such as 'now' or 'today' are refused: Postgres
 * would evaluate them once, when the table is created.
 */
const LITERALS: Record<Exclude<ColumnType, 'serial'>, { schema: z.ZodType<string>; expected: string }> = {
  text: { schema: z.string().refine(noNul), expected: 'a string without NUL bytes' },
  varchar: { schema: z.string().refine(noNul), expected: 'a string without NUL bytes' },
  integer: {
    schema: z.number().int().min(INT4.min).max(INT4.max).transform(String),
    expected: `a whole number from ${INT4.min} to ${INT4.max}`,
  },
  bigint: {
    schema: z
      .union([z.string().regex(/^[+-]?\d{1,20}$/), z.number().refine(Number.isSafeInteger)])
      .transform((value) => BigInt(value))
      .refine((value) => value >= INT8.min && value <= INT8.max)
      .transform(String),
    expected: `a whole number from ${INT8.min} to ${INT8.max}, as a string (or a safe integer)`,
  },
  numeric: {
    schema: z.union([z.string().regex(NUMERIC), z.number().refine(Number.isFinite).transform(String)]),
    expected: 'a decimal number as a string such as "12.50" (or a finite number)',
  },
  boolean: { schema: z.boolean().transform(String), expected: 'true or false' },
  date: { schema: z.string().regex(DATE).refine(isCalendarDate), expected: 'a date as YYYY-MM-DD' },
  timestamptz: {
    schema: z.string().regex(TIMESTAMPTZ).refine(isCalendarDate),
    expected: 'an ISO 8601 timestamp with an offset, such as 2024-05-01T12:30:00.123456Z (at most 6 fractional digits)',
  },
  uuid: { schema: z.string().regex(UUID).transform((uuid) => uuid.toLowerCase()), expected: 'a UUID such as 123e4567-e89b-12d3-a456-426614174000' },
  jsonb: {
    // JSON.stringify escapes NUL as \u0000, which jsonb refuses.
    schema: z.unknown().transform((value) => JSON.stringify(value)).refine((json) => !json.includes('\\u0000')),
    expected: 'any JSON value without NUL characters in its strings',
  },
};

const isExpressionObject = (value: unknown): value is { expression: unknown } =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && 'expression' in value;

/**
 * A column's default, or null for none. `{ "expression": "now()" }` picks one of the fixed
 * expressions; anything else is a literal of the column's type. For jsonb every value is a
 * literal (no expression fits jsonb), so `{ "expression": ... }` there is stored as that object.
 */
function parseDefault(column: string, type: ColumnType, maxLength: number | null, value: unknown): DefaultSpec | null {
  if (value === undefined || value === null) return null;
  const fail = (why: string) => badInput(`column "${column}": the default ${JSON.stringify(value)} is not valid: ${why}`, { column, field: 'default' });
  if (type === 'serial') throw fail('a serial column takes its values from its sequence and has no default');
  if (type !== 'jsonb' && isExpressionObject(value)) {
    const { expression } = value;
    if (!isDefaultExpression(expression)) {
      throw fail(`the only expressions are ${Object.keys(DEFAULT_EXPRESSIONS).join(', ')}`);
    }
    const fits = DEFAULT_EXPRESSIONS[expression].types as readonly ColumnType[];
    if (!fits.includes(type)) throw fail(`${expression} is for ${fits.join(', ')} columns, not ${type}`);
    return { expression };
  }
  const { schema, expected } = LITERALS[type];
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fail(`${type === 'integer' ? 'an' : 'a'} ${type} default must be ${expected}`);
  if (maxLength !== null && [...parsed.data].length > maxLength) throw fail(`it is longer than maxLength ${maxLength}`);
  return { literal: parsed.data };
}

/** Validates one ColumnInput (name rules, type, maxLength, default) into what the DDL layer takes. */
export function parseColumnInput(input: unknown, field: string): ColumnSpec {
  const column = parseInput(columnInputSchema, input, field);
  const name = checkName('column', column.name, `${field}.name`);
  if (column.maxLength !== null) {
    if (column.type !== 'varchar') {
      throw badInput(`column "${name}": maxLength applies to varchar columns only, not ${column.type}`, { column: name, field: `${field}.maxLength` });
    }
    if (column.maxLength < 1 || column.maxLength > MAX_VARCHAR_LENGTH) {
      throw badInput(`column "${name}": maxLength must be from 1 to ${MAX_VARCHAR_LENGTH}, got ${column.maxLength}`, { column: name, field: `${field}.maxLength` });
    }
  }
  return {
    name,
    type: column.type,
    nullable: column.nullable,
    unique: column.unique,
    maxLength: column.maxLength,
    default: parseDefault(name, column.type, column.maxLength, column.default),
  };
}
