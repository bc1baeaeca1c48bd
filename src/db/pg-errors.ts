import { DomainError } from '../domain/errors.js';
import { MATCH_BUDGET } from '../domain/like.js';
import { refusedMatcher } from './bounded-matching.js';

/** The fields node-postgres copies from a Postgres ErrorResponse. */
interface PgError {
  code: string;
  message: string;
  detail?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

/** An error Postgres answered with (a SQLSTATE), as opposed to a socket that failed or a bug of ours. */
export const isPostgresError = (error: unknown): error is PgError =>
  error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && /^[0-9A-Z]{5}$/.test((error as unknown as { code: string }).code);

/** "Key (a, b)=(1, 2) already exists." → ['a', 'b'] */
function keyColumns(detail: string | undefined): string[] {
  const match = /^Key \((.+?)\)=/.exec(detail ?? '');
  return match ? match[1]!.split(', ').map((c) => c.replace(/^"|"$/g, '')) : [];
}

const tableWord = (error: PgError) => (error.table ? ` in table "${error.table}"` : '');

/** Socket errors of a connection to Postgres that was refused, dropped or never made. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Postgres is not there for us right now: the socket failed, node-postgres lost the connection,
 * or the server is shutting down or starting (57P01–57P03), or out of connections (53300).
 */
function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (typeof code === 'string' && CONNECTION_ERRNOS.has(code)) return true;
  // Only what the server ends a session with (FATAL): raw SQL can RAISE any SQLSTATE as an ERROR.
  // 08P01 (protocol violation) would be a bug of ours: masked and logged, not "try again".
  if (typeof code === 'string' && (severity === 'FATAL' || severity === 'PANIC')) return /^(08...|57P0[123]|53300)$/.test(code) && code !== '08P01';
  return /^Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/.test(error.message);
}

/**
 * The platform pool's bounds (src/db/database.ts, PLATFORM_TIMEOUTS) hit by the API's statement on
 * `table`: the error names the table and the limit. Undefined for any other error.
 */
export function tableLimitError(error: unknown, table: string, limits: { statementMs: number; lockMs: number }): DomainError | undefined {
  if (!isPostgresError(error)) return undefined;
  if (error.code === '55P03')
    return new DomainError('CONFLICT', `table "${table}" is locked by another transaction (waited ${limits.lockMs / 1000} s, the lock timeout): try again when it has finished`, {
      table,
      limit: 'lock_timeout',
    });
  if (error.code === '57014' && /statement timeout/.test(error.message))
    return new DomainError('BAD_USER_INPUT', `the statement on table "${table}" ran longer than the ${limits.statementMs / 1000} s statement timeout: narrow the filter or read fewer rows`, {
      table,
      limit: 'statement_timeout',
    });
  return undefined;
}

/**
 * The one place where Postgres error codes become domain errors. Returns undefined for anything
 * that is not a user's fault; that is masked as INTERNAL_SERVER_ERROR and logged. A database that
 * cannot be reached is not the user's fault either, but it is no bug: UNAVAILABLE says to retry.
 */
export function mapPgError(error: unknown): DomainError | undefined {
  if (isUnavailable(error)) return new DomainError('UNAVAILABLE', 'the database cannot be reached right now; try again shortly');
  if (!isPostgresError(error)) return undefined;
  const where = tableWord(error);
  switch (error.code) {
    case '23505': {
      const columns = keyColumns(error.detail);
      return new DomainError('CONFLICT', `a row with the same ${columns.map((c) => `"${c}"`).join(', ') || 'key'} already exists${where}`, {
        table: error.table,
        columns,
      });
    }
    case '23503': {
      const columns = keyColumns(error.detail);
      const dangling = /is not present in table "(.+?)"/.exec(error.detail ?? '');
      const message = dangling
        ? `${columns.map((c) => `"${c}"`).join(', ')} must refer to an existing row of "${dangling[1]}"${where}`
        : `the row is still referenced${/from table "(.+?)"/.exec(error.detail ?? '')?.[1] ? ` from table "${/from table "(.+?)"/.exec(error.detail ?? '')![1]}"` : ''}`;
      return new DomainError('CONFLICT', message, { table: error.table, columns });
    }
    case '23502':
      return new DomainError('BAD_USER_INPUT', `column "${error.column}"${where} cannot be null`, { table: error.table, column: error.column });
    case '23514':
      return new DomainError('BAD_USER_INPUT', `a value violates the check "${error.constraint}"${where}`, { table: error.table });
    case '22001': // string too long for varchar(n)
    case '22003': // numeric out of range
    case '22007': // bad datetime format
    case '22008': // datetime out of range
    case '22P02': // invalid text representation
    case '22P05': // untranslatable character
    case '22021': // bad byte sequence for encoding (NUL)
    case '2201B': // invalid regular expression
    case '22025': // invalid escape sequence (LIKE)
    case '22012': // division by zero
      return new DomainError('BAD_USER_INPUT', error.message, { table: error.table, column: error.column });
    case '42P01':
      return new DomainError('NOT_FOUND', error.message);
    case '42703':
      return new DomainError('NOT_FOUND', error.message);
    case '42P07': // duplicate_table: a table, index or sequence of that name exists (DDL racing, or a sequence's name)
      return new DomainError('CONFLICT', `the name is taken: ${error.message}`);
    case '42701': // duplicate_column
      return new DomainError('CONFLICT', error.message, { table: error.table, column: error.column });
    case '55P03': // lock_not_available: DDL gave up waiting (lock_timeout) for a table another transaction holds
      return new DomainError('CONFLICT', 'the table is in use by another transaction; try again when it has finished');
    case '42P10': // invalid_column_reference: upsertRows' onConflict names no unique constraint
      return new DomainError('BAD_USER_INPUT', `onConflict: the columns must be those of the primary key or of a unique constraint (${error.message})`);
    case '21000': // cardinality_violation: one upsert reaching the same row twice, or a subquery in raw SQL
      return /ON CONFLICT/.test(error.message)
        ? new DomainError('BAD_USER_INPUT', 'rows: two rows of one upsert have the same onConflict key; send each key once')
        : new DomainError('BAD_USER_INPUT', error.message, { sqlState: error.code });
    case '42501':
      return refusedMatcher(error.message) ?? new DomainError('FORBIDDEN', error.message);
    case '53200': // out of memory; "out of shared memory" is Postgres' lock table, one per cluster, full when this needed a lock
      return new DomainError('UNAVAILABLE', `the database is out of memory right now (${error.message}: another session may hold very many locks); try again shortly`);
    case '57014':
      return new DomainError('BAD_USER_INPUT', 'the statement was cancelled: it ran longer than the statement timeout');
    case '25001': // active_sql_transaction: raw SQL such as VACUUM that cannot run in a transaction
    case '0A000': // feature_not_supported, from raw SQL
    case 'P0001': // raise_exception, from a DO block in raw SQL
      return new DomainError('BAD_USER_INPUT', error.message, { sqlState: error.code });
    default:
      // Any other data exception (class 22) is a value the user sent or wrote.
      if (error.code.startsWith('22')) return new DomainError('BAD_USER_INPUT', error.message, { sqlState: error.code });
      // 42xxx syntax and name errors only reach here from raw SQL, where the user wrote them.
      if (error.code.startsWith('42')) return new DomainError('BAD_USER_INPUT', error.message, { sqlState: error.code });
      // A filter's _like over the matching budget (paige.filter_over_budget names its column).
      if (error.code === '54000' && error.column) return new DomainError('BAD_USER_INPUT', error.message, { column: error.column, limit: MATCH_BUDGET });
      // 54xxx program limits (array dimensions, stack depth, too many columns, a raw SQL match
      // over the budget of migration 010): raw SQL or its parameters went past a limit
      // (tests/fuzz.test.ts sends a 150-deep array param).
      if (error.code.startsWith('54')) return new DomainError('BAD_USER_INPUT', error.message, { sqlState: error.code });
      return undefined;
  }
}

/**
 * For a tenant's raw SQL (`sql`, dbServices `query`): as mapPgError, and any other ERROR Postgres
 * answered came from the user's own statement (raw SQL can RAISE any SQLSTATE, or hit a
 * serialisation failure): theirs to read, with its SQLSTATE, not a masked 500.
 */
export function mapUserSqlError(error: unknown): DomainError | undefined {
  const mapped = mapPgError(error);
  if (mapped || !isPostgresError(error) || (error as { severity?: unknown }).severity !== 'ERROR') return mapped;
  return new DomainError('BAD_USER_INPUT', error.message, { sqlState: error.code });
}
