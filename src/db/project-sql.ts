import pg from 'pg';
import { badInput } from '../domain/errors.js';
import { isPostgresError } from './pg-errors.js';
import { EXACT_SESSION_OPTIONS, exactTypes, keepClientErrorsHeard } from './pool.js';
import { LOGIN_ROLE_LIMITS, projectNames, resetLoginPasswordSql } from './sql/projects.sql.js';
import { loginRolePassword, readPlatformSecret } from './platform-secret.js';

/** The most rows one `sql` call returns; `rowCount` still tells how many the statement produced. */
export const SQL_ROW_CAP = 1000;

/**
 * The most row data (as Postgres sent it) one `sql` call keeps: past it, rows are counted and
 * dropped as past the row cap. A single row over it could never be returned, and node-postgres
 * holds a whole row in memory before anyone sees it, so a session that receives more than this
 * without completing a row (`select repeat('x', 500000000)`) is cut off instead.
 */
export const SQL_BYTE_CAP = 8 * 1024 * 1024;

/** Connections each server process opens per project (the role allows LOGIN_ROLE_LIMITS.connections in all). */
const POOL_SIZE = 2;

export interface SqlResult {
  /** Result column names, in order; a repeated name gets `_2`, `_3`… so that every row key is unique. */
  columns: string[];
  rows: Record<string, unknown>[];
  /** Rows the statement returned or changed, as Postgres counts them (0 for statements without a count). */
  rowCount: number;
  /** True when only the first rows are in `rows`: more than SQL_ROW_CAP rows, or more than SQL_BYTE_CAP of them. */
  truncated: boolean;
}

/** `a, a, b` → `a, a_2, b`. */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name}_${count}`;
  });
}

interface RawResult {
  command: string | null;
  rowCount: number | null;
  fields: { name: string }[];
  rows: unknown[][];
}

/** Thrown when a row passed SQL_BYTE_CAP: the session was cut off, there is nothing to roll back on it. */
class RowTooLarge extends Error {}

const rowTooLargeError = () =>
  badInput(
    `the result sent more than ${SQL_BYTE_CAP / 1024 / 1024} MB without completing a row (one huge row, or data that is not rows such as COPY TO STDOUT): select less of it (a substring, a length, fewer columns)`,
  );

/**
 * One statement over the extended protocol, which refuses several statements in one text
 * (42601, "cannot insert multiple commands into a prepared statement"). Rows past the caps are
 * read off the socket and dropped, so a large result costs time (bounded by the statement
 * timeout) but not memory; more than SQL_BYTE_CAP without a complete row ends the session.
 */
function runCapped(client: pg.PoolClient, text: string, params: unknown[], cap: number): Promise<{ result: RawResult; seen: number }> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let kept = 0;
    let keptBytes = 0;
    let copyIn = false;
    // Bytes received since the last complete row: a row still arriving past the limit is cut off
    // before node-postgres has buffered all of it.
    const socket = (client as unknown as { connection: { stream: NodeJS.EventEmitter & { destroy(): void } } }).connection.stream;
    let pendingBytes = 0;
    let tooLarge = false;
    const onData = (chunk: Buffer) => {
      pendingBytes += chunk.length;
      if (pendingBytes > SQL_BYTE_CAP && !tooLarge) {
        tooLarge = true;
        socket.destroy();
      }
    };
    socket.on('data', onData);
    const query = new pg.Query({
      text,
      values: params,
      rowMode: 'array',
      queryMode: 'extended',
      callback: (error: Error | null, result: RawResult) => {
        socket.off('data', onData);
        if (tooLarge) reject(new RowTooLarge());
        else if (error && copyIn) reject(badInput('COPY ... FROM STDIN cannot be used through sql: send the rows with INSERT or insertRows'));
        else if (error) reject(error);
        else resolve({ result, seen });
      },
    } as pg.QueryConfig & { queryMode: 'extended'; callback: unknown });
    // Query's row handler is internal to node-postgres; wrapping it is the one place that counts rows.
    const internals = query as unknown as {
      handleDataRow(message: unknown): void;
      handleCopyInResponse(connection: { sendCopyFail(message: string): void; sync(): void }): void;
    };
    // COPY ... FROM STDIN: node-postgres answers CopyFail, but over the extended protocol the backend
    // then waits for a Sync, and the one node-postgres pipelined was ignored during copy-in: without
    // a second Sync the session (and the request) hang for ever.
    internals.handleCopyInResponse = (connection) => {
      copyIn = true;
      connection.sendCopyFail('COPY FROM STDIN is not supported');
      connection.sync();
    };
    const keepRow = internals.handleDataRow.bind(query);
    internals.handleDataRow = (message) => {
      seen += 1;
      pendingBytes = 0;
      // Only a prefix is kept: once a row does not fit, no later row is kept either.
      if (kept !== seen - 1 || kept >= cap) return;
      const bytes = (message as { length: number }).length;
      if (keptBytes + bytes > SQL_BYTE_CAP) return;
      keptBytes += bytes;
      kept += 1;
      keepRow(message);
    };
    client.query(query);
  });
}

/**
 * Small pools, opened on demand, that log in as each project's own login role: it has USAGE on
 * its schema and DML on its tables and nothing else, so raw SQL cannot reach another project or
 * the platform schema whatever it says. search_path, statement_timeout and TimeZone are startup
 * options (they outrank anything the role sets for itself with ALTER ROLE), and every call ends
 * with DISCARD ALL so a SET cannot outlive it.
 */
export class ProjectSqlPools {
  private readonly pools = new Map<string, Promise<pg.Pool>>();

  constructor(
    /** The platform pool, to derive login passwords. */
    private readonly platform: pg.Pool,
    /** The platform connection string: its host, port and database are reused. */
    private readonly url: string,
  ) {}

  private open(projectId: string): Promise<pg.Pool> {
    let pool = this.pools.get(projectId);
    if (!pool) {
      pool = this.create(projectId);
      this.pools.set(projectId, pool);
      pool.catch(() => this.pools.delete(projectId));
    }
    return pool;
  }

  private async create(projectId: string): Promise<pg.Pool> {
    const names = projectNames(projectId);
    const url = new URL(this.url);
    url.username = names.login;
    url.password = loginRolePassword(await readPlatformSecret(this.platform), names.login);
    const pool = new pg.Pool({
      connectionString: url.toString(),
      max: POOL_SIZE,
      types: exactTypes,
      application_name: 'paige-db sql',
      // UTC and ISO dates as on the platform pool, so the same exact-type parsers apply.
      options: `-c search_path=${names.schema} -c statement_timeout=${LOGIN_ROLE_LIMITS.statementTimeout} ${EXACT_SESSION_OPTIONS}`,
      idleTimeoutMillis: 10_000,
    });
    // A backend killed while idle (deleteProject terminates them) must not crash the process.
    pool.on('error', () => {});
    keepClientErrorsHeard(pool);
    return pool;
  }

  /**
   * A session of the project's pool. A failed login (28P01) means raw SQL changed the role's own
   * password, which Postgres allows any role: set the derived one again and retry once.
   */
  private async connect(projectId: string): Promise<pg.PoolClient> {
    const pool = await this.open(projectId);
    try {
      return await pool.connect();
    } catch (error) {
      if ((error as { code?: unknown }).code !== '28P01') throw error;
      const { login } = projectNames(projectId);
      await this.platform.query(resetLoginPasswordSql(login, loginRolePassword(await readPlatformSecret(this.platform), login)));
      return pool.connect();
    }
  }

  /** Runs one statement as the project's login role, in a transaction of its own. */
  async run(projectId: string, text: string, params: readonly unknown[] = [], cap = SQL_ROW_CAP): Promise<SqlResult> {
    const client = await this.connect(projectId);
    let broken = false;
    try {
      await client.query('BEGIN');
      let outcome: { result: RawResult; seen: number };
      let cutOff = false;
      try {
        outcome = await runCapped(client, text, [...params], cap).catch((error: unknown) => {
          cutOff = error instanceof RowTooLarge;
          throw cutOff ? rowTooLargeError() : error;
        });
        // A cursor WITH HOLD runs its whole query during COMMIT, where Postgres has already turned
        // the statement timeout off (DECLARE ... WITH HOLD FOR SELECT pg_sleep(600) ran for 10
        // minutes): close every cursor first, so COMMIT has nothing of the user's left to run.
        await client.query('CLOSE ALL');
        // A COMMIT or ROLLBACK in the text already ended the transaction: this only warns.
        await client.query('COMMIT');
      } catch (error) {
        if (!cutOff) await client.query('ROLLBACK');
        throw error;
      } finally {
        if (cutOff) broken = true;
        else await client.query('DISCARD ALL');
      }
      const { result, seen } = outcome;
      const columns = uniqueNames(result.fields.map((field) => field.name));
      const rows = result.rows.map((values) => Object.fromEntries(columns.map((name, i) => [name, values[i]])));
      return { columns, rows, rowCount: result.rowCount ?? seen, truncated: seen > rows.length };
    } catch (error) {
      // A failure of our own statements leaves the session in an unknown state: do not reuse it.
      broken ||= !isPostgresError(error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Ends a project's pool (its project was deleted); the next call opens a new one. */
  async close(projectId: string): Promise<void> {
    const pool = this.pools.get(projectId);
    this.pools.delete(projectId);
    await pool?.then((p) => p.end(), () => {});
  }

  async closeAll(): Promise<void> {
    const ids = [...this.pools.keys()];
    await Promise.all(ids.map((id) => this.close(id)));
  }
}
