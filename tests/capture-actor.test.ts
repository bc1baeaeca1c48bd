import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDbServices } from '../src/dbservices/index.js';
import { projectNames } from '../src/db/projects.js';
import { loginRolePassword, readPlatformSecret } from '../src/db/platform-secret.js';
import { startServerInMode } from './support/capture-modes.js';
import { sqlAs } from './support/hostile.js';
import { leftover } from './support/leftovers.js';
import { superuserClient } from './support/postgres.js';
import { rowApi } from './support/rows.js';
import { createTestProject, type TestProjectHandle, type TestServer } from './support/server.js';
import { subscribe, type Collected } from './support/subscriptions.js';

/**
 * Issue 13 point 4: each event names who wrote it (the admin token, a key, bot code in process)
 * or null for a write made outside the API, in both capture modes; and a tenant, through its
 * key's raw `sql` or as its own login role, cannot make its writes name another actor.
 */

const NOTES_CHANGES = /* GraphQL */ `
subscription ($p: ID!) { rowChanges(projectId: $p, table: "notes") { op row actor { kind apiKeyId apiKeyName } } }`;

/** A session of the project's login role straight to the database, as a tenant who set its password would open one. */
async function loginRoleSession(databaseUrl: string, project: TestProjectHandle): Promise<pg.Client> {
  const su = await superuserClient(databaseUrl);
  const { login } = projectNames(project.id);
  const url = new URL(databaseUrl);
  url.username = login;
  url.password = loginRolePassword(await readPlatformSecret(su), login);
  const client = new pg.Client({ connectionString: url.toString() });
  // A refused statement must not end the session's process: the error is the query's.
  client.on('error', () => {});
  await client.connect();
  leftover(() => client.end());
  return client;
}

describe.each(['triggers', 'logical'] as const)('capture by %s', (mode) => {
  let t: TestServer;
  let databaseUrl: string;
  let project: TestProjectHandle;
  let keyId: string;
  let changes: Collected;

  beforeAll(async () => {
    ({ t, databaseUrl } = await startServerInMode(mode));
    project = await createTestProject(t, 'actors');
    keyId = (await t.ok(`query ($p: ID!) { apiKeys(projectId: $p) { id } }`, { p: project.id })).apiKeys[0].id;
    await rowApi(t, project).createTable({ name: 'notes', columns: [{ name: 'v', type: 'TEXT' }] });
    changes = await subscribe(t, project.token, NOTES_CHANGES, { p: project.id });
  });

  const key = () => ({ kind: 'API_KEY', apiKeyId: keyId, apiKeyName: 'test' });
  const sql = () => sqlAs(t, project);

  it('names the actor of each write: the admin token, a key (its writes and its raw sql), bot code in process, and null from psql', async () => {
    await t.ok(`mutation ($p: ID!) { insertRows(projectId: $p, table: "notes", rows: [{ v: "admin" }]) }`, { p: project.id });
    expect((await rowApi(t, project).insert('notes', [{ v: 'key' }])).errors).toBeUndefined();
    await sql().ok(`insert into notes (v) values ('sql')`);
    const bot = createDbServices({ projectId: project.id, databaseUrl });
    try {
      await bot.rows.insert('notes', { v: 'bot' });
    } finally {
      await bot.close();
    }
    const psql = await superuserClient(databaseUrl);
    await psql.query(`INSERT INTO "${project.schema}".notes (v) VALUES ('psql')`);
    const events = await changes.waitFor(5);
    expect(events.map((e) => [e.data.rowChanges.row.v, e.data.rowChanges.actor])).toEqual([
      ['admin', { kind: 'ADMIN', apiKeyId: null, apiKeyName: null }],
      ['key', key()],
      ['sql', key()],
      ['bot', { kind: 'IN_PROCESS', apiKeyId: null, apiKeyName: null }],
      ['psql', null],
    ]);
  });

  it("refuses or ignores every way a key's raw sql could name another actor: its writes still name the key", async () => {
    const admin = `'{"kind":"ADMIN"}'`;
    const refused = [
      `with m as (select pg_logical_emit_message(true, 'paige.actor', ${admin})) insert into notes (v) select 'forged' from m`,
      `with m as (select pg_logical_emit_message(false, 'paige.actor', ${admin})) insert into notes (v) select 'forged' from m`,
      `with r as (select set_config('paige.actor_marked', '', true)), m as (select paige_actor.mark(${admin}) from r) insert into notes (v) select 'forged' from m`,
      `with m as (select paige_actor.mark(${admin}, 'a guessed proof')) insert into notes (v) select 'forged' from m`,
      `insert into paige.transaction_actors (xid, actor) values (pg_current_xact_id(), ${admin})`,
      `update paige.change_commits set actor = ${admin}`,
    ];
    for (const text of refused) await sql().refused([text, 'FORBIDDEN']);
    // A setting of the same name as the actor's means nothing to capture.
    await sql().ok(`with s as (select set_config('paige.actor', ${admin}, true)) insert into notes (v) select 'setting' from s`);
    await sql().ok(`insert into notes (v) values ('honest')`);
    const events = (await changes.waitFor(7)).slice(5);
    expect(events.map((e) => [e.data.rowChanges.row.v, e.data.rowChanges.actor])).toEqual([
      ['setting', key()],
      ['honest', key()],
    ]);
  });

  it("refuses the login role's own session (outside the API) any mark or actor message: its writes name no actor", async () => {
    const login = await loginRoleSession(databaseUrl, project);
    await login.query(`SET search_path = "${project.schema}"`);
    for (const text of [
      `SELECT paige_actor.mark('{"kind":"ADMIN"}')`,
      `SELECT paige_actor.mark('{"kind":"ADMIN"}', 'a guessed proof')`,
      `SELECT pg_logical_emit_message(true, 'paige.actor', '{"kind":"ADMIN"}')`,
      `INSERT INTO paige.transaction_actors (xid, actor) VALUES (pg_current_xact_id(), '{"kind":"ADMIN"}')`,
    ]) {
      await login.query('BEGIN');
      await expect(login.query(text), text).rejects.toMatchObject({ code: '42501' });
      await login.query('ROLLBACK');
    }
    await login.query(`INSERT INTO notes (v) VALUES ('login role')`);
    const [event] = (await changes.waitFor(8)).slice(7);
    expect([event!.data.rowChanges.row.v, event!.data.rowChanges.actor]).toEqual(['login role', null]);
  });

  it.runIf(mode === 'triggers')('keeps no actor row once its transaction has ended (paige.transaction_actors stays empty)', async () => {
    const su = await superuserClient(databaseUrl);
    const actorRows = async () => Number((await su.query(`SELECT count(*) FROM paige.transaction_actors`)).rows[0].count);
    // Every write above was marked: the commit stamp took each row out.
    expect(await actorRows()).toBe(0);
    // Raw sql that writes nothing is marked too (before its statement runs), and has no commit stamp.
    for (let i = 0; i < 3; i++) await sql().ok('select 1');
    expect(await actorRows()).toBe(3);
    await t.server.services.changes.prune();
    expect(await actorRows()).toBe(0);
  });
});
