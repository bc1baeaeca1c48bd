import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { superuserClient } from './support/postgres.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';

let t: TestServer;
let a: TestProjectHandle;
let b: TestProjectHandle;
let admin: pg.Client;

beforeAll(async () => {
  t = await startTestServer();
  a = await createTestProject(t);
  b = await createTestProject(t);
  admin = await superuserClient();
});

const SQL = /* GraphQL */ `
  mutation ($projectId: ID!, $text: String!, $params: [JSON]) {
    sql(projectId: $projectId, text: $text, params: $params) { columns rows rowCount truncated }
  }`;
const run = (project: TestProjectHandle, text: string, params?: unknown[]) => t.gql(SQL, { projectId: project.id, text, params }, project.token);
const ok = async (project: TestProjectHandle, text: string, params?: unknown[]) => {
  const result = await run(project, text, params);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data.sql as { columns: string[]; rows: Record<string, unknown>[]; rowCount: number; truncated: boolean };
};
const loginSessions = async (project: TestProjectHandle) =>
  (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1`, [`p_${project.id}_login`])).rows[0]!.n;

describe('sql', () => {
  it("runs as the project's login role with its schema on the search_path, values lossless", async () => {
    await ok(a, `insert into contacts (phone, name, profile) values ($1, $2, $3)`, ['+14155550100', 'Ada', { big: 12345678901234567890n.toString(), n: 1.5 }]);
    const result = await ok(
      a,
      `select current_user as "user", current_schema() as "schema", id, phone, profile,
              9007199254740993::bigint as big, 1.10::numeric as num, date '2024-02-29' as day,
              timestamptz '2024-05-01 12:30:00.123456+02' as at, $1::int + 1 as param
         from contacts where phone = '+14155550100'`,
      [41],
    );
    expect(result.columns).toEqual(['user', 'schema', 'id', 'phone', 'profile', 'big', 'num', 'day', 'at', 'param']);
    expect(result.rows).toEqual([
      {
        user: `p_${a.id}_login`,
        schema: a.schema,
        id: expect.stringMatching(/^\d+$/),
        phone: '+14155550100',
        profile: { big: '12345678901234567890', n: 1.5 },
        big: '9007199254740993',
        num: '1.10',
        day: '2024-02-29',
        at: '2024-05-01T10:30:00.123456Z',
        param: 42,
      },
    ]);
    expect(result).toMatchObject({ rowCount: 1, truncated: false });

    // null is SQL NULL, an object JSON text, an array a Postgres array.
    const kinds = await ok(a, `select $1::text is null as a, coalesce($2::int, 7) as b, $3::jsonb as c, 2 = any($4::int[]) as d`, [null, null, { x: [1, 'y'] }, [1, 2, 3]]);
    expect(kinds.rows).toEqual([{ a: true, b: 7, c: { x: [1, 'y'] }, d: true }]);
  });

  it("project A cannot read B's tables or the platform schema: FORBIDDEN", async () => {
    await ok(b, `insert into contacts (phone) values ('+15550001111')`);
    for (const text of [`select * from ${b.schema}.contacts`, `select * from paige.projects`, `select * from paige.settings`, `select * from paige.api_keys`]) {
      const result = await run(a, text);
      expect(result.errors?.[0]?.extensions?.code, text).toBe('FORBIDDEN');
      expect(result.errors?.[0]?.message, text).toMatch(/^permission denied for schema (p_[0-9a-f]+|paige)$/);
    }
    const write = await run(a, `insert into ${b.schema}.contacts (phone) values ('+15550002222')`);
    expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // And the project key of B cannot run A's SQL at all.
    const foreign = await t.gql(SQL, { projectId: a.id, text: 'select 1' }, b.token);
    expect(foreign.errors?.[0]).toMatchObject({ message: `project "${a.id}" not found`, extensions: { code: 'NOT_FOUND' } });
  });

  it('cannot change structure, create objects or take another role', async () => {
    for (const text of [
      'drop table contacts',
      'alter table messages add column x int',
      'truncate contacts',
      'create table mine (id int)',
      'create temporary table scratch (id int)',
      'create table public.mine (id int)',
      `set role p_${a.id}_owner`,
      'select * from pg_authid',
    ]) {
      const result = await run(a, text);
      expect(result.errors?.[0]?.extensions?.code, text).toBe('FORBIDDEN');
    }
    const tables = await ok(a, `select count(*)::int as n from information_schema.columns where table_schema = current_schema() and table_name = 'messages'`);
    expect(tables.rows).toEqual([{ n: 7 }]);
  });

  it('refuses several statements in one text and runs none of them', async () => {
    const result = await run(a, `insert into contacts (phone) values ('+15550009999'); delete from contacts`);
    expect(result.errors?.[0]).toMatchObject({
      message: 'cannot insert multiple commands into a prepared statement',
      extensions: { code: 'BAD_USER_INPUT', sqlState: '42601' },
    });
    expect((await ok(a, `select count(*)::int as n from contacts where phone = '+15550009999'`)).rows).toEqual([{ n: 0 }]);
  });

  it('syntax errors, unknown tables and bad values are BAD_USER_INPUT or NOT_FOUND, never INTERNAL', async () => {
    expect((await run(a, 'selec 1')).errors?.[0]).toMatchObject({ message: 'syntax error at or near "selec"', extensions: { code: 'BAD_USER_INPUT' } });
    expect((await run(a, 'select * from nope')).errors?.[0]).toMatchObject({ message: 'relation "nope" does not exist', extensions: { code: 'NOT_FOUND' } });
    expect((await run(a, 'select $1::int', ['x'])).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await run(a, 'vacuum contacts')).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await run(a, `do $$ begin raise exception 'no booking on sundays'; end $$`)).errors?.[0]).toMatchObject({
      message: 'no booking on sundays',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect((await run(a, '   ')).errors?.[0]).toMatchObject({ message: 'text: cannot be empty', extensions: { code: 'BAD_USER_INPUT' } });
    expect((await run(a, `insert into contacts (phone) values ('+14155550100')`)).errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', columns: ['phone'] } });
  });

  it('caps the rows returned and says so', async () => {
    const result = await ok(a, 'select n, n as n from generate_series(1, 1500) as n');
    expect(result.columns).toEqual(['n', 'n_2']);
    expect(result.rows.length).toBe(1000);
    expect(result.rows[999]).toEqual({ n: 1000, n_2: 1000 });
    expect(result).toMatchObject({ rowCount: 1500, truncated: true });
    const update = await ok(a, `update contacts set name = name where true`);
    expect(update).toMatchObject({ columns: [], rows: [], truncated: false });
    expect(update.rowCount).toBeGreaterThan(0);
  });

  it('keeps at most 8 MB of rows, and refuses a single row over 8 MB without holding it', async () => {
    // 20 rows of 1 MB: the first 8 fit under the byte cap, the rest are counted and dropped.
    const big = await ok(a, `select g, repeat('x', 1000000) as filler from generate_series(1, 20) as g`);
    expect([big.rows.map((row) => row.g), big.rowCount, big.truncated]).toEqual([[1, 2, 3, 4, 5, 6, 7, 8], 20, true]);
    expect(big.rows.every((row) => (row.filler as string).length === 1_000_000)).toBe(true);

    const tooLarge = 'the result sent more than 8 MB without completing a row (one huge row, or data that is not rows such as COPY TO STDOUT): select less of it (a substring, a length, fewer columns)';
    for (const size of [9_000_000, 70_000_000]) {
      const huge = await run(a, `select repeat('x', ${size}) as filler`);
      expect([huge.data, huge.errors?.[0]?.message, huge.errors?.[0]?.extensions?.code]).toEqual([null, tooLarge, 'BAD_USER_INPUT']);
    }
    // The session it was read on is gone; the project's next call gets a good one.
    expect((await ok(a, `select length(repeat('x', 70000000)) as n`)).rows).toEqual([{ n: 70_000_000 }]);
  });

  it('a statement that ends its own session gets an error, and the service and the next call go on', async () => {
    const ended = await run(a, 'select pg_terminate_backend(pg_backend_pid())');
    expect([ended.data, ended.errors?.[0]?.extensions?.code]).toEqual([null, 'UNAVAILABLE']);
    expect((await ok(a, 'select 2 as two')).rows).toEqual([{ two: 2 }]);
  });

  it('an error raised with a connection SQLSTATE is the user\'s error, not the database being down', async () => {
    const raised = await run(a, `do $$ begin raise exception 'pretend' using errcode = '08006'; end $$`);
    expect([raised.status, raised.errors?.[0]?.message, raised.errors?.[0]?.extensions]).toEqual([200, 'pretend', { code: 'BAD_USER_INPUT', sqlState: '08006' }]);
    expect((await ok(a, 'select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('each call is its own transaction and no setting outlives it', async () => {
    await ok(a, 'begin');
    await ok(a, `insert into contacts (phone) values ('+15550003333')`);
    await ok(a, 'rollback');
    expect((await ok(a, `select count(*)::int as n from contacts where phone = '+15550003333'`)).rows).toEqual([{ n: 1 }]);

    await ok(a, 'set statement_timeout = 0');
    await ok(a, 'set search_path = public');
    for (let i = 0; i < 4; i++) {
      expect((await ok(a, `select current_setting('statement_timeout') as t, current_schema() as s`)).rows).toEqual([{ t: '5s', s: a.schema }]);
    }
    // Even a default the role sets for itself does not reach new sessions: the pool's startup options win.
    await ok(a, 'alter role current_user set statement_timeout = 0');
    await t.server.services.projectSql.close(a.id);
    expect((await ok(a, `select current_setting('statement_timeout') as t`)).rows).toEqual([{ t: '5s' }]);
  });

  it('a statement past the timeout is cancelled with a clear error', async () => {
    const started = Date.now();
    const result = await run(a, 'select pg_sleep(30)');
    expect(result.errors?.[0]).toMatchObject({ message: 'the statement was cancelled: it ran longer than the statement timeout', extensions: { code: 'BAD_USER_INPUT' } });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("deleting a project closes its pool; stopping the server closes every pool", async () => {
    const c = await createTestProject(t);
    await ok(c, 'select 1');
    expect(await loginSessions(c)).toBeGreaterThan(0);
    await c.remove();
    expect(await loginSessions(c)).toBe(0);

    const second = await startTestServer();
    const d = await createTestProject(second);
    const result = await second.gql(SQL, { projectId: d.id, text: 'select 1 as one' }, d.token);
    expect(result.data.sql.rows).toEqual([{ one: 1 }]);
    expect(await loginSessions(d)).toBeGreaterThan(0);
    await second.stop();
    // pool.end() resolves once its clients have sent Terminate; the backend exits a moment later.
    for (let i = 0; i < 50 && (await loginSessions(d)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await loginSessions(d)).toBe(0);
    // Its server is stopped: through this one.
    await t.gql(`mutation ($id: ID!, $name: String!) { deleteProject(id: $id, confirmName: $name) }`, { id: d.id, name: d.name });
  });
});
