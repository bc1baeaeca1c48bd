import pg from 'pg';
import { DomainError, badInput } from '../domain/errors.js';
import { isPostgresError } from './pg-errors.js';
import { markTransaction } from './actor.js';
import type { Actor } from '../domain/actor.js';
import { runCappedQuery, SessionCutOff, type Caps, type CappedResult } from './pg-capped-query.js';
import { EXACT_SESSION_OPTIONS, exactTypes, keepClientErrorsHeard } from './pool.js';
import { LOGIN_ROLE_LIMITS, projectNames, resetLoginPasswordSql } from './sql/projects.sql.js';
import { actorMarkProof, loginRolePassword, readPlatformSecret } from './platform-secret.js';

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

const rowTooLargeError = () =>
  badInput(
    `the result sent more than ${SQL_BYTE_CAP / 1024 / 1024} MB without completing a row (one huge row, or data that is not rows such as COPY TO STDOUT): select less of it (a substring, a length, fewer columns)`,
  );

/**
 * Small pools, opened on demand, that log in as each project's own login role: it has USAGE on
 * its schema and DML on its tables and nothing else, so raw SQL cannot reach another project or
 * the platform schema whatever it says. search_path, statement_timeout and TimeZone are startup
 * options (they outrank anything the role sets for itself with ALTER ROLE), and every call ends
 * with DISCARD ALL so a SET cannot outlive it.
 */
export class ProjectSqlPools {
  private readonly pools = new Map<string, Promise<pg.Pool>>();
  /** Each project's proof for marking its login role's transactions with their actor. */
  private readonly markProofs = new Map<string, string>();

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
    const secret = await readPlatformSecret(this.platform);
    url.password = loginRolePassword(secret, names.login);
    this.markProofs.set(projectId, actorMarkProof(secret, names.login));
    const pool = new pg.Pool({
      connectionString: url.toString(),
      max: POOL_SIZE,
      types: exactTypes,
      application_name: 'paige-db sql',
      // UTC and ISO dates as on the platform pool, so the same exact-type parsers apply.
      // paige_bounded before pg_catalog (named, or Postgres searches it first): LIKE, strpos,
      // replace… resolve to the wrappers that bound their cost (migration 010).
      options: `-c search_path=${names.schema},paige_bounded,pg_catalog -c statement_timeout=${LOGIN_ROLE_LIMITS.statementTimeout} ${EXACT_SESSION_OPTIONS}`,
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

  /**
   * Runs one statement as the project's login role, in a transaction of its own, marked with its
   * actor before the statement runs (so the statement cannot name another).
   */
  async run(projectId: string, actor: Actor, text: string, params: readonly unknown[] = [], cap = SQL_ROW_CAP): Promise<SqlResult> {
    const client = await this.connect(projectId);
    let reusable = false;
    try {
      const result = await statementInTransaction(client, { actor, proof: this.markProofs.get(projectId)! }, text, [...params], { rows: cap, bytes: SQL_BYTE_CAP });
      reusable = await resetSession(client);
      return sqlResult(result);
    } catch (error) {
      if (error instanceof SessionCutOff) throw rowTooLargeError();
      // An error Postgres answered leaves the session usable once reset; any other (a socket
      // that failed, a bug of ours) leaves it in a state nobody knows: it is not reused.
      if (isPostgresError(error) || error instanceof DomainError) reusable = await resetSession(client);
      throw error;
    } finally {
      client.release(!reusable);
    }
  }

  /** Ends a project's pool (its project was deleted); the next call opens a new one. */
  async close(projectId: string): Promise<void> {
    const pool = this.pools.get(projectId);
    this.pools.delete(projectId);
    this.markProofs.delete(projectId);
    await pool?.then((p) => p.end(), () => {});
  }

  async closeAll(): Promise<void> {
    const ids = [...this.pools.keys()];
    await Promise.all(ids.map((id) => this.close(id)));
  }
}

/**
 * BEGIN, the statement, COMMIT; ROLLBACK when it fails (unless the session was cut off). A COMMIT
 * or ROLLBACK in the user's text already ended the transaction: ours then only warns.
 */
async function statementInTransaction(client: pg.PoolClient, mark: { actor: Actor; proof: string }, text: string, params: unknown[], caps: Caps): Promise<CappedResult> {
  await client.query('BEGIN');
  let result: CappedResult;
  try {
    await markTransaction(client, mark.actor, mark.proof);
    result = await runCappedQuery(client, text, params, caps);
    // A cursor WITH HOLD runs its whole query during COMMIT, where Postgres has already turned
    // the statement timeout off (DECLARE ... WITH HOLD FOR SELECT pg_sleep(600) ran for 10
    // minutes): close every cursor first, so COMMIT has nothing of the user's left to run.
    await client.query('CLOSE ALL');
    await client.query('COMMIT');
  } catch (error) {
    if (!(error instanceof SessionCutOff)) await client.query('ROLLBACK');
    throw error;
  }
  return result;
}

/** DISCARD ALL, so that no SET, prepared statement or temporary state outlives the call. False when the session could not be reset. */
async function resetSession(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('DISCARD ALL');
    return true;
  } catch {
    return false;
  }
}

function sqlResult({ fields, rows, rowCount, seen }: CappedResult): SqlResult {
  const columns = uniqueNames(fields.map((field) => field.name));
  return {
    columns,
    rows: rows.map((values) => Object.fromEntries(columns.map((name, i) => [name, values[i]]))),
    rowCount: rowCount ?? seen,
    truncated: seen > rows.length,
  };
}
