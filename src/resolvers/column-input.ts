import { z } from 'zod';
import { badInput } from '../domain/errors.js';
import { COLUMN_TYPES, type ColumnType } from '../domain/tables.js';
import { DEFAULT_EXPRESSIONS, MAX_VARCHAR_LENGTH, isDefaultExpression, type DefaultSpec } from '../db/column-types.js';
import type { ColumnSpec } from '../db/ddl.js';
import { checkName } from '../domain/names.js';
import { columnSchema } from '../domain/values.js';
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

const isExpressionObject = (value: unknown): value is { expression: unknown } =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && 'expression' in value;

/**
 * A column's default, or null for none. `{ "expression": "now()" }` picks one of the fixed
 * expressions; anything else is a literal of the column's type, checked and encoded like a row
 * value (so 'now' or 'today', which Postgres would evaluate once at CREATE, are refused). For
 * jsonb every value is a literal (no expression fits jsonb), so `{ "expression": ... }` there is
 * stored as that object.
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
  // The same codec as row values, so a default is valid exactly when the same value in a row is.
  const parsed = columnSchema({ type, maxLength }).safeParse(value);
  // The codec's message already shows the value ("expected ..., got 3.5").
  if (!parsed.success) throw badInput(`column "${column}": the default is not valid: ${parsed.error.issues[0]!.message}`, { column, field: 'default' });
  return { literal: String(parsed.data) };
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
