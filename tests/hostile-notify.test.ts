import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { createDbServices, type DbServices } from '../src/dbservices/index.js';
import { Arrivals } from './support/arrivals.js';
import { leftover } from './support/leftovers.js';
import { loginRoleClient, superuserClient } from './support/postgres.js';
import { sqlAs } from './support/hostile.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { ROW_CHANGES, collect, waitForSubscribers, wsClient } from './support/subscriptions.js';

/**
 * Issue 6, point 2 (NOTIFY is untrusted, LISTEN learns nothing) and point 1 through dbServices'
 * `query`, which bot code calls in-process: the same confinement as the `sql` mutation.
 */
let t: TestServer;
let a: TestProjectHandle;
let b: TestProjectHandle;
let su: pg.Client;
/** The wake-up channel's name before issue 14; now it ends in a suffix derived from the platform secret. */
const CHANNEL = 'paige_changes';
const secret = `b-secret-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  t = await startTestServer();
  a = await createTestProject(t);
  b = await createTestProject(t);
  su = await superuserClient();
  await t.ok(`mutation ($p: ID!) { createTable(projectId: $p, input: { name: "notes", columns: [{ name: "v", type: TEXT }] }) { name } }`, { p: b.id }, b.token);
});

const insertIntoB = (v: string) => t.ok(`mutation ($p: ID!, $v: String!) { insertRows(projectId: $p, table: "notes", rows: [{ v: $v }]) }`, { p: b.id, v }, b.token);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('NOTIFY on the platform channel from project SQL', () => {
  it('reaches no listener of ours (the real channel is named after the platform secret): no event, no error, and real changes still arrive', async () => {
    const asA = sqlAs(t, a);
    const listenerPid = async () => (await su.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [t.server.services.subscriber.applicationName])).rows[0]?.pid;
    const pid = await listenerPid();
    const changes = collect(wsClient(t, b.token), ROW_CHANGES, { p: b.id, t: 'notes' });
    await waitForSubscribers(t, 1);
    const reads = (await t.metrics()).paige_change_log_reads_total!;
    const forged = JSON.stringify({ schema: b.schema, table: 'notes', op: 'INSERT', row: { v: 'forged' } });
    await asA.ok(`notify ${CHANNEL}`);
    await asA.ok(`select pg_notify($1, $2)`, [CHANNEL, forged]);
    // 5000 distinct payloads in one transaction: 5000 notifications at commit.
    await asA.ok(`select count(pg_notify($1, i::text)) from generate_series(1, 5000) as i`, [CHANNEL]);
    await sleep(500);
    expect(changes.payloads).toEqual([]);
    expect(changes.error).toBeUndefined();
    // Other test files' commits on this database wake the listener too (a few reads); the 5002
    // forged notifications did not (they reached no listener; before, wake-ups coalesced).
    expect((await t.metrics()).paige_change_log_reads_total! - reads).toBeLessThan(100);
    expect(await listenerPid()).toBe(pid);

    await insertIntoB('real');
    const [event] = await changes.waitFor(1);
    expect(event!.data.rowChanges).toMatchObject({ op: 'INSERT', table: 'notes', row: { v: 'real' } });
    await sleep(200);
    expect(changes.payloads).toHaveLength(1);
  });

  it('a payload over 8000 bytes is a clear BAD_USER_INPUT', async () => {
    const result = await sqlAs(t, a).run(`select pg_notify($1, repeat('x', 9000))`, [CHANNEL]);
    expect(result.errors?.[0]).toMatchObject({ message: 'payload string too long', extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('LISTEN on the platform channel', () => {
  it("a session of A's login role that listens on the name it can guess hears nothing of B's commits", async () => {
    const listener = await loginRoleClient(a.id);
    const received = new Arrivals<{ channel: string; payload?: string }>();
    listener.on('notification', (message) => received.push({ channel: message.channel, payload: message.payload }));
    await listener.query(`LISTEN ${CHANNEL}`);
    await listener.query('LISTEN paige_test_marker');
    await insertIntoB(secret);
    // Delivered in commit order: once the marker sent after B's commit is heard, B's would have been.
    await su.query(`NOTIFY paige_test_marker`);
    await received.first(1, 'the marker', (message) => message.channel === 'paige_test_marker', 5_000);
    expect(received.items).toEqual([{ channel: 'paige_test_marker', payload: '' }]);
    // The log itself stays out of reach.
    await expect(listener.query('SELECT new_row FROM paige.change_log')).rejects.toMatchObject({ code: '42501' });
  });
});

describe('dbServices query (in-process, as bot code runs it)', () => {
  let db: DbServices;
  beforeAll(() => {
    db = createDbServices({ projectId: a.id, databaseUrl: inject('databaseUrl'), env: {} });
    leftover(() => db.close());
  });

  it('runs as A\'s login role, and every hostile statement is refused with the same codes as the sql mutation', async () => {
    expect((await db.query('select current_user as u, session_user as s')).rows).toEqual([{ u: `p_${a.id}_login`, s: `p_${a.id}_login` }]);
    for (const [text, code] of [
      [`select * from ${b.schema}.notes`, 'FORBIDDEN'],
      [`delete from ${b.schema}.notes`, 'FORBIDDEN'],
      ['select * from paige.api_keys', 'FORBIDDEN'],
      ['set role postgres', 'FORBIDDEN'],
      [`set role p_${a.id}_owner`, 'FORBIDDEN'],
      [`select set_config('role', 'postgres', false)`, 'FORBIDDEN'],
      ['set session authorization postgres', 'FORBIDDEN'],
      ['alter table contacts disable trigger all', 'FORBIDDEN'],
      [`create function f() returns int language sql as 'select 1'`, 'FORBIDDEN'],
      ['create extension dblink', 'FORBIDDEN'],
      [`copy contacts from program 'id'`, 'FORBIDDEN'],
      [`select pg_read_file('/etc/passwd')`, 'FORBIDDEN'],
      // Other sessions only: its own may be ended (see sql.test.ts), and which comes first is up to Postgres.
      [`select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'paige-db%' and pid <> pg_backend_pid()`, 'FORBIDDEN'],
      ['copy contacts from stdin', 'BAD_USER_INPUT'],
      ['select 1; drop table contacts', 'BAD_USER_INPUT'],
    ] as const) {
      await expect(db.query(text), text).rejects.toMatchObject({ name: 'DbServicesError', code });
    }
    const started = Date.now();
    await expect(db.query('select pg_sleep(600)')).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: 'the statement was cancelled: it ran longer than the statement timeout' });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await db.query('select current_user as u')).rows).toEqual([{ u: `p_${a.id}_login` }]);
    expect((await su.query(`SELECT count(*)::int AS n FROM "${b.schema}".notes`)).rows[0].n).toBeGreaterThan(0);
  }, 20_000);
});
