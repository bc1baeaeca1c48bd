import type { ColumnInfo, ColumnType } from '../domain/tables.js';
import { quoteLiteral } from './identifiers.js';
import { timestamptzToIso } from './pool.js';

/** The largest n Postgres accepts in varchar(n). */
export const MAX_VARCHAR_LENGTH = 10_485_760;

/** The only expressions a column default may be, with the SQL written for each and the types it fits. */
export const DEFAULT_EXPRESSIONS = {
  'now()': { sql: 'now()', types: ['timestamptz'] },
  current_date: { sql: 'CURRENT_DATE', types: ['date'] },
  'gen_random_uuid()': { sql: 'gen_random_uuid()', types: ['uuid'] },
} as const satisfies Record<string, { sql: string; types: readonly ColumnType[] }>;
export type DefaultExpression = keyof typeof DEFAULT_EXPRESSIONS;

export const isDefaultExpression = (value: unknown): value is DefaultExpression =>
  typeof value === 'string' && Object.hasOwn(DEFAULT_EXPRESSIONS, value);

/**
 * A validated default: a literal already in Postgres's input syntax for the column's type (the
 * resolver checked it), or one of the fixed expressions. Never raw SQL.
 */
export type DefaultSpec = { literal: string } | { expression: DefaultExpression };

/**
 * Each API column type as Postgres names it, for `$n::type` casts and column declarations alike:
 * a fixed table, never user text. (`serial` is declared as `serial` and cast as `int4`.)
 */
export const SQL_TYPES: Record<ColumnType, string> = {
  text: 'text',
  varchar: 'varchar',
  integer: 'int4',
  serial: 'int4',
  bigint: 'int8',
  numeric: 'numeric',
  boolean: 'bool',
  date: 'date',
  timestamptz: 'timestamptz',
  uuid: 'uuid',
  jsonb: 'jsonb',
};

/** The type in a column declaration: SQL_TYPES, but `serial` for serial and `varchar(n)` with a length. */
export function sqlType(type: ColumnType, maxLength: number | null): string {
  if (type === 'serial') return 'serial';
  if (type === 'varchar' && maxLength !== null) return `varchar(${checkedLength(maxLength)})`;
  return SQL_TYPES[type];
}

function checkedLength(maxLength: number): number {
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_VARCHAR_LENGTH) throw new Error(`invalid varchar length ${maxLength}`);
  return maxLength;
}

/**
 * `DEFAULT ...` for a column. A literal is quoted by quoteLiteral and cast explicitly to the
 * column's base type (varchar without its length: an explicit cast to varchar(n) would silently
 * truncate, the resolver checks the length instead).
 */
export function defaultSql(type: ColumnType, spec: DefaultSpec): string {
  if ('expression' in spec) {
    const expression = DEFAULT_EXPRESSIONS[spec.expression];
    if (!(expression.types as readonly ColumnType[]).includes(type)) throw new Error(`${spec.expression} does not fit ${type}`);
    return `DEFAULT ${expression.sql}`;
  }
  if (type === 'serial') throw new Error('a serial column takes no default');
  return `DEFAULT ${quoteLiteral(spec.literal)}::${SQL_TYPES[type]}`;
}

/** How pg_get_expr prints the fixed expressions. */
const EXPRESSION_BY_SQL = new Map<string, DefaultExpression>([
  ['now()', 'now()'],
  ['CURRENT_DATE', 'current_date'],
  ['gen_random_uuid()', 'gen_random_uuid()'],
]);

/**
 * The text of a constant as pg_get_expr prints it: `'it''s'::text`, `'-5'::integer`,
 * `'2024-01-02 01:04:05.123456+00'::timestamp with time zone`, or bare `5`, `1.50`, `true`.
 */
function constantText(sql: string): string | undefined {
  const quoted = /^'((?:[^']|'')*)'(?:::[a-z ]+(?:\(\d+\))?)?$/s.exec(sql);
  if (quoted) return quoted[1]!.replaceAll("''", "'");
  if (/^-?\d+(?:\.\d+)?$/.test(sql) || sql === 'true' || sql === 'false') return sql;
  return undefined;
}

/**
 * Column.default as the API reports it: the literal as a value of the column's type, encoded like
 * row values (bigint and numeric as strings, timestamptz as ISO 8601 with microseconds), or
 * `{ expression }` for now(), current_date and gen_random_uuid(). Serial and identity columns
 * report null: their values come from a sequence, which the type (SERIAL) or the key already says.
 * A default the API did not write (none exist: project roles cannot run DDL) is reported as
 * `{ expression: <its SQL> }` rather than hidden.
 */
export function decodeDefault(column: Pick<ColumnInfo, 'type' | 'defaultSql' | 'identity'>): unknown {
  const sql = column.defaultSql;
  if (sql === null || column.identity) return null;
  if (column.type === 'serial' && /^nextval\(/.test(sql)) return null;
  const expression = EXPRESSION_BY_SQL.get(sql);
  if (expression) return { expression };
  const text = constantText(sql);
  if (text === undefined) return { expression: sql };
  switch (column.type) {
    case 'integer':
    case 'serial':
      return Number(text);
    case 'boolean':
      return text === 'true';
    case 'timestamptz':
      return timestamptzToIso(text);
    case 'jsonb':
      return JSON.parse(text) as unknown;
    default:
      // text, varchar, bigint, numeric (strings, so no digit is lost), date, uuid
      return text;
  }
}
