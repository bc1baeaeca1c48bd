import fc from 'fast-check';
import { API_TYPES, valueCaseOf, type ApiType } from './fuzz-values.js';

/**
 * Table and column names, and whole ColumnInputs, for the createTable fuzz. `mustAccept` follows
 * the documented name rules: lowercase snake_case, at most 63 bytes, not starting with pg_, not
 * _and/_or/_not, not a system table (tables) or a Postgres system column or the added key `id`
 * (columns, when no primaryKey is given).
 */

export interface NameCase {
  value: string;
  mustAccept: boolean;
}

const SYSTEM_TABLES = ['contacts', 'conversations', 'messages'];
const SYSTEM_COLUMNS = ['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid', 'id'];

function followsRules(name: string, kind: 'table' | 'column'): boolean {
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || Buffer.byteLength(name) > 63) return false;
  if (name.startsWith('pg_') || ['_and', '_or', '_not'].includes(name)) return false;
  return !(kind === 'table' ? SYSTEM_TABLES : SYSTEM_COLUMNS).includes(name);
}

/** Names that look like names but break a rule, or are plain hostile text. */
const hostileNames = fc.oneof(
  fc.constantFrom(
    '',
    'a'.repeat(64),
    'é'.repeat(32), // 64 bytes, 32 characters
    'ü'.repeat(31) + 'a', // 63 bytes, multibyte
    '日本語',
    '\u{1F600}'.repeat(16), // 64 bytes of emoji
    'Orders',
    'ORDER',
    'order items',
    ' order',
    'order\0',
    '\0',
    'a\ud800',
    '\udfff',
    'a"b',
    'a"; DROP TABLE contacts; --',
    "a'); DROP SCHEMA paige CASCADE; --",
    'paige.projects',
    'public.x',
    'a-b',
    '1abc',
    'pg_class',
    'pg_',
    '_and',
    '_or',
    '_not',
    'contacts',
    'messages',
    'conversations',
    'xmin',
    'ctid',
    'id',
    'ａｂｃ', // fullwidth
    'K', // Kelvin sign, lowercases to k
    'ı', // dotless i
    '\u0130', // İ
    'a\u0301', // combining accent
    'a\u200bb', // zero-width space
    'tab\tname',
    'new\nline',
  ),
  fc.string({ unit: 'binary', minLength: 0, maxLength: 70 }),
  fc.stringMatching(/^[a-z_][a-z0-9_]{60,70}$/),
);

const snakeCase = fc.stringMatching(/^[a-z_][a-z0-9_]{0,62}$/);

const nameOf = (kind: 'table' | 'column') =>
  fc.oneof({ weight: 5, arbitrary: snakeCase }, { weight: 2, arbitrary: hostileNames }).map((value): NameCase => ({ value, mustAccept: followsRules(value, kind) }));

export const nameCase = nameOf('table');

export interface ColumnCase {
  input: { name: string; type: string; nullable?: boolean; unique?: boolean; maxLength?: number; default?: unknown };
  mustAccept: boolean;
}

const DEFAULT_EXPRESSIONS: Record<string, ApiType> = { 'now()': 'timestamptz', current_date: 'date', 'gen_random_uuid()': 'uuid' };

/** A default for a column of `type`: usually none, else a value of the type (valid or not), an expression, or SQL. */
const defaultFor = (type: ApiType): fc.Arbitrary<{ value: unknown; mustAccept: boolean }> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant({ value: undefined, mustAccept: true }) },
    {
      weight: 3,
      arbitrary: valueCaseOf(type).map((c) => ({ value: c.value, mustAccept: c.mustAccept && type !== 'serial' && (type !== 'varchar' || c.value === null || [...String(c.value)].length <= 8) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('now()', 'current_date', 'gen_random_uuid()', 'random()', "pg_sleep(10)", '1); DROP TABLE x; --', 'nextval(\'x\')')
        .map((expression) => ({ value: { expression }, mustAccept: DEFAULT_EXPRESSIONS[expression] === type })),
    },
  );

export const columnSpec: fc.Arbitrary<ColumnCase> = fc
  .tuple(nameOf('column'), fc.constantFrom(...API_TYPES), fc.boolean(), fc.boolean(), fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, fc.constantFrom(8, 1, 0, -1, 10_485_760, 10_485_761, 2 ** 31 - 1)))
  .chain(([name, type, nullable, unique, maxLength]) =>
    defaultFor(type).map(({ value, mustAccept }): ColumnCase => {
      // The fuzzed varchar columns are varchar(8) unless the case says otherwise.
      const length = type === 'varchar' ? (maxLength ?? 8) : maxLength;
      const lengthOk = length === null || (type === 'varchar' && length >= 1 && length <= 10_485_760);
      const input: ColumnCase['input'] = { name: name.value, type: type.toUpperCase(), nullable, unique };
      if (length !== null) input.maxLength = length;
      if (value !== undefined) input.default = value;
      // A jsonb default `{ expression }` is a literal object, which is fine.
      const defaultOk = mustAccept || (type === 'jsonb' && typeof value === 'object' && value !== null && 'expression' in value);
      return { input, mustAccept: name.mustAccept && lengthOk && defaultOk && (length === 8 || type !== 'varchar' || value === undefined) };
    }),
  );
