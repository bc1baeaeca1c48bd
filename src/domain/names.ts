import { badInput } from './errors.js';
import { SYSTEM_TABLES, isSystemTable } from './tables.js';

/**
 * The rules for table and column names. Names are always quoted in SQL, so keywords such as
 * `order` or `user` are fine; the rules keep names portable, unambiguous in `where` filters and
 * clear of what Postgres or the API reserve.
 */

/** Postgres truncates identifiers longer than NAMEDATALEN - 1 bytes; we refuse instead. */
export const MAX_NAME_BYTES = 63;

/** Keys of the `where` language: a column with one of these names could not be filtered on. */
const FILTER_KEYWORDS = ['_and', '_or', '_not'];

/** Postgres's system columns: a user column cannot take these names. */
const SYSTEM_COLUMNS = ['tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid'];

const SNAKE_CASE = /^[a-z_][a-z0-9_]*$/;

export type NameKind = 'table' | 'column';

/** Shows the offending name in a message; very long input is shortened so the error stays readable. */
function quoted(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

/** The first rule the name breaks, phrased as the rule, or undefined when it is fine. */
export function nameProblem(kind: NameKind, name: string): string | undefined {
  if (name === '') return 'a name cannot be empty';
  if (!SNAKE_CASE.test(name)) {
    return 'names are lowercase snake_case: a letter or "_" first, then lowercase letters, digits or "_"';
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) return `a name has at most ${MAX_NAME_BYTES} bytes (this one has ${bytes})`;
  if (name.startsWith('pg_')) return 'names cannot start with "pg_", which Postgres reserves';
  if (FILTER_KEYWORDS.includes(name)) return '"_and", "_or" and "_not" are reserved by the filter language';
  if (kind === 'table' && isSystemTable(name)) {
    return `${SYSTEM_TABLES.map((t) => `"${t}"`).join(', ')} are the system tables' names`;
  }
  if (kind === 'column' && SYSTEM_COLUMNS.includes(name)) {
    return `${SYSTEM_COLUMNS.map((c) => `"${c}"`).join(', ')} are Postgres system columns`;
  }
  return undefined;
}

/**
 * Returns the name when it follows the rules; otherwise BAD_USER_INPUT quoting the name and
 * stating the rule, e.g. `table name "Orders" is not allowed: names are lowercase snake_case ...`.
 */
export function checkName(kind: NameKind, name: string, field: string): string {
  const problem = nameProblem(kind, name);
  if (problem) throw badInput(`${kind} name ${quoted(name)} is not allowed: ${problem}`, { field, name });
  return name;
}
