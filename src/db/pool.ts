import pg from 'pg';
import { parseReturnableJson } from '../domain/json-depth.js';

/**
 * Type parsers that keep every value exact. node-postgres would turn timestamptz into a
 * millisecond `Date` and jsonb through JSON.parse; here bigint and numeric stay strings (its
 * default), date stays `YYYY-MM-DD`, and timestamptz becomes ISO 8601 with its microseconds.
 */
const OID = { INT8: 20, NUMERIC: 1700, DATE: 1082, TIMESTAMPTZ: 1184, TIMESTAMP: 1114, JSON: 114, JSONB: 3802 } as const;

/**
 * '2024-05-01 12:30:00.123456+00' (TimeZone=UTC) → '2024-05-01T12:30:00.123456Z'. Years outside
 * 0000-9999 use ISO 8601's expanded form as JavaScript writes it ('+010000', '-000001'); Postgres's
 * '0001 BC' is ISO year 0000 (there is no year 0 BC), so 'N BC' is year 1 - N.
 */
export function timestamptzToIso(text: string): string {
  if (text === 'infinity' || text === '-infinity') return text;
  const match = /^(\d{4,})(-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d(?::?\d\d){0,2})?( BC)?$/.exec(text);
  if (!match) return text;
  const [, yearText, monthDay, time, offset, bc] = match;
  const year = bc ? 1 - Number(yearText) : Number(yearText);
  const isoYear = year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
  const zone = !offset || /^[+-]00(:?00)*$/.test(offset) ? 'Z' : offset.length === 3 ? `${offset}:00` : offset;
  return `${isoYear}${monthDay}T${time}${zone}`;
}

const identity = (value: string) => value;
const parsers = new Map<number, (value: string) => unknown>([
  [OID.INT8, identity],
  [OID.NUMERIC, identity],
  [OID.DATE, identity],
  [OID.TIMESTAMP, identity],
  [OID.TIMESTAMPTZ, timestamptzToIso],
  // A value too deep to serialise becomes a TooDeepJson, which the API answers with a clear error.
  [OID.JSON, parseReturnableJson],
  [OID.JSONB, parseReturnableJson],
]);

export const exactTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    return parsers.get(oid) ?? pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Anything that runs one statement: the pool (any free session) or one session (inside a transaction). */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.ClientBase, 'query'>;

/** A pool as its users see it: statements, and sessions for transactions; not its settings, not its end. */
export type Pool = Pick<pg.Pool, 'query' | 'connect'>;

export interface PoolOptions {
  /** @default 10 */
  max?: number;
  /** Sent as the session's application_name, so the service's own backends can be told apart. */
  applicationName?: string;
  /** A statement_timeout for every session, in ms. */
  statementTimeoutMs?: number;
  /** A lock_timeout for every session, in ms. */
  lockTimeoutMs?: number;
  /** Let the process exit while only idle clients remain (a bot that never calls close()). @default false */
  allowExitOnIdle?: boolean;
  /** More planner settings for every session, as startup options (`-c name=value`, fixed text). */
  plannerOptions?: string;
}

/**
 * Startup options for every session whose values go through `exactTypes`: UTC and ISO output
 * whatever the server's defaults, so the parsers see one format.
 */
export const EXACT_SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,YMD';

/**
 * Bounds on every statement of the platform pool, as session defaults: the API's reads and writes
 * on behalf of a project (issue 14, point 6). Without them a read waiting on a table its project
 * locked, or scanning with a costly filter, held its connection for minutes.
 * - statement: 10 s, twice a project's own raw SQL timeout (5 s). The API's statements are single
 *   pages and bounded writes; one past 10 s is a filter scanning a huge table, and is refused.
 * - lock: 2 s, under the 5 s a project's raw SQL can hold a lock on its own table: the API's call
 *   fails fast (CONFLICT naming the table) instead of holding a platform connection in the queue.
 *   Row locks between the API's own single-statement writes last milliseconds.
 * Work that must wait longer says so for its own transaction (migrate, the capture switch, DDL,
 * deleteProject: SET LOCAL).
 */
export const PLATFORM_TIMEOUTS = { statementMs: 10_000, lockMs: 2_000 } as const;

/** A pool whose sessions run in UTC (so timestamps read back the same everywhere) with exact types. */
export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types: exactTypes,
    application_name: options.applicationName ?? 'paige-db',
    // jit=off: the service's statements are short, and the planner's cost for the change-log read
    // (estimated from the size of the log's biggest transactions) crosses jit_above_cost, so every
    // read paid ~18 ms of LLVM compilation for a 0.3 ms query (found with auto_explain).
    options: `${EXACT_SESSION_OPTIONS} -c jit=off${options.plannerOptions ? ` ${options.plannerOptions}` : ''}`,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.lockTimeoutMs ? { lock_timeout: options.lockTimeoutMs } : {}),
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: options.allowExitOnIdle ?? false,
  });
  // An idle client whose backend dies emits 'error' on the pool; without a handler that kills the process.
  pool.on('error', () => {});
  keepClientErrorsHeard(pool);
  return pool;
}

/**
 * A checked-out client whose session ends (Postgres stopped, or a session terminated, which raw
 * SQL may do to its own) emits 'error' as well as failing its query; pg-pool listens only while
 * the client is idle, and an unheard 'error' ends the process. The query's own error is what
 * callers see; pg-pool drops the broken client when it is released.
 */
export function keepClientErrorsHeard(pool: pg.Pool): void {
  pool.on('connect', (client) => void client.on('error', () => {}));
}

/** Runs `work` in a transaction on one client, rolling back on any error. */
export async function inTransaction<T>(pool: Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Type OIDs whose text a change's row carries as JSON values rather than strings. */
const TEXT_VALUE = { BOOL: 16, INT2: 21, INT4: 23, FLOAT4: 700, FLOAT8: 701, JSON: 114, JSONB: 3802 } as const;

/**
 * A column's text as Postgres prints it (a pgoutput value, in a UTC, ISO session) as the API's
 * value: the same encoding a row read through `exactTypes` gets, and the one the trigger capture
 * writes with to_jsonb (bigint and numeric as strings, timestamptz as ISO 8601 with microseconds,
 * jsonb parsed, booleans and small integers as JSON).
 */
export function apiValueOfText(typeOid: number, text: string): unknown {
  switch (typeOid) {
    case TEXT_VALUE.BOOL:
      return text === 't';
    case TEXT_VALUE.INT2:
    case TEXT_VALUE.INT4:
      return Number(text);
    case TEXT_VALUE.FLOAT4:
    case TEXT_VALUE.FLOAT8:
      return Number.isFinite(Number(text)) ? Number(text) : text;
    case TEXT_VALUE.JSON:
    case TEXT_VALUE.JSONB:
      return parseReturnableJson(text);
    case OID.TIMESTAMPTZ:
      return timestamptzToIso(text);
    default:
      return text;
  }
}
