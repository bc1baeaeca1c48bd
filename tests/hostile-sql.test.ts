import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loginRoleClient, superuserClient } from './support/postgres.js';
import { eventually, sqlAs, type Refusal } from './support/hostile.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { ROW_CHANGES, collect, waitForSubscribers, wsClient } from './support/subscriptions.js';

/**
 * Issue 6, point 1: raw SQL from project A (the `sql` mutation; dbServices `query` runs the same
 * resolver, see hostile-dbservices.test.ts) is confined to A's own tables. Each case is what a
 * hostile bot would try; the test asserts the refusal AND that nothing changed.
 */
let t: TestServer;
let a: TestProjectHandle;
let b: TestProjectHandle;
let su: pg.Client;
let asA: ReturnType<typeof sqlAs>;
let asB: ReturnType<typeof sqlAs>;
const secret = `b-secret-${randomBytes(4).toString('hex')}`;
const loginOf = (p: TestProjectHandle) => `p_${p.id}_login`;
const pwned = `/tmp/paige-pwn-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  t = await startTestServer();
  a = await createTestProject(t);
  b = await createTestProject(t);
  su = await superuserClient();
  asA = sqlAs(t, a);
  asB = sqlAs(t, b);
  const create = `mutation ($p: ID!, $n: String!) { createTable(projectId: $p, input: { name: $n, columns: [{ name: "v", type: TEXT }] }) { name } }`;
  await t.ok(create, { p: a.id, n: 'notes' }, a.token);
  await t.ok(create, { p: b.id, n: 'secrets' }, b.token);
  await asB.ok(`insert into secrets (v) values ($1)`, [secret]);
  await asB.ok(`insert into contacts (phone, name) values ('+15550001111', $1)`, [secret]);
});

/** Everything of B's and of the platform that A must not change. */
async function snapshot() {
  const { rows } = await su.query(
    `SELECT (SELECT json_agg(v ORDER BY v) FROM "${b.schema}".secrets) AS secrets,
            (SELECT json_agg(name ORDER BY id) FROM "${b.schema}".contacts) AS contacts,
            (SELECT json_agg(id ORDER BY id) FROM paige.projects WHERE schema_name IN ($1, $2)) AS projects,
            (SELECT json_agg(token_hash ORDER BY id) FROM paige.api_keys WHERE project_id IN (SELECT id FROM paige.projects WHERE schema_name IN ($1, $2))) AS keys,
            (SELECT value FROM paige.settings WHERE key = 'role_secret') AS role_secret,
            (SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid WHERE c.relnamespace IN ($1::regnamespace, $2::regnamespace) AND g.tgenabled = 'O') AS enabled_triggers,
            -- Other test files create tables (and their capture functions) meanwhile: count only the fixed ones.
            (SELECT count(*) FROM pg_proc WHERE pronamespace = 'paige'::regnamespace AND proname NOT LIKE 'capture\_for\_%') AS platform_functions,
            (SELECT string_agg(p.proname || ':' || md5(p.prosrc), ',' ORDER BY p.proname, g.tgname) FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid
               JOIN pg_class c ON c.oid = g.tgrelid WHERE c.relnamespace IN ($1::regnamespace, $2::regnamespace)) AS trigger_functions,
            (SELECT count(*) FROM pg_class WHERE relnamespace IN ($1::regnamespace, $2::regnamespace)) AS relations,
            (SELECT count(*) FROM pg_namespace WHERE nspowner = to_regrole($3::text)) AS schemas_of_login,
            (SELECT count(*) FROM pg_proc WHERE proowner = to_regrole($3::text)) AS functions_of_login,
            (SELECT count(*) FROM pg_class WHERE relowner = to_regrole($3::text)) AS relations_of_login,
            (SELECT count(*) FROM pg_extension) AS extensions,
            (SELECT string_agg(relname || ':' || relreplident::text, ',' ORDER BY relname) FROM pg_class WHERE relnamespace IN ($1::regnamespace, $2::regnamespace) AND relkind = 'r') AS replica_identities,
            (SELECT count(*) FROM pg_publication_namespace WHERE pnnspid IN ($1::regnamespace, $2::regnamespace)) AS published_schemas,
            (SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots WHERE database = current_database()) AS slots,
            (SELECT count(*) FROM pg_auth_members WHERE member = to_regrole($3::text)) AS memberships_of_login,
            (SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolinherit FROM pg_roles WHERE rolname = $3::text) AS login_has_more`,
    [a.schema, b.schema, loginOf(a)],
  );
  return rows[0];
}

describe("another project's tables and the platform schema", () => {
  const cases = (): Refusal[] => [
    [`select * from ${b.schema}.secrets`, 'FORBIDDEN', /^permission denied for schema p_/],
    [`insert into ${b.schema}.secrets (v) values ('x')`, 'FORBIDDEN'],
    [`update ${b.schema}.contacts set name = 'x'`, 'FORBIDDEN'],
    [`delete from ${b.schema}.secrets`, 'FORBIDDEN'],
    [`truncate ${b.schema}.secrets`, 'FORBIDDEN'],
    [`lock table ${b.schema}.secrets in access exclusive mode`, 'FORBIDDEN'],
    [`select * from ${b.schema}.secrets for update`, 'FORBIDDEN'],
    [`copy ${b.schema}.secrets to stdout`, 'FORBIDDEN'],
    [`select query_to_xml('select * from ${b.schema}.secrets', true, true, '')`, 'FORBIDDEN'],
    [`select * from paige.projects`, 'FORBIDDEN', /^permission denied for schema paige$/],
    [`select value from paige.settings`, 'FORBIDDEN'],
    [`select token_hash from paige.api_keys`, 'FORBIDDEN'],
    [`select new_row from paige.change_log`, 'FORBIDDEN'],
    [`insert into paige.api_keys (id, project_id, name, token_hash) values ('x', '${a.id}', 'x', 'x')`, 'FORBIDDEN'],
    [`delete from paige.change_commits`, 'FORBIDDEN'],
    // The SECURITY DEFINER trigger function and its helper cannot be called directly.
    [`select paige.capture_sql('contacts'::regclass, 'INSERT')`, 'FORBIDDEN'],
    [`select paige.capture_changes()`, 'FORBIDDEN'],
    [`select * from pg_authid`, 'FORBIDDEN'],
    [`select passwd from pg_shadow`, 'FORBIDDEN'],
  ];

  it('cannot read or write them: FORBIDDEN, and nothing changed', async () => {
    const before = await snapshot();
    for (const refusal of cases()) await asA.refused(refusal);
    expect(await snapshot()).toEqual(before);
  });

  it("granting its own tables to PUBLIC or to B's role grants nothing (A does not own them)", async () => {
    await asA.ok(`grant select on notes to public`);
    await asA.ok(`grant all on contacts to ${loginOf(b)}`);
    await asA.ok(`alter default privileges grant select on tables to public`);
    for (const rel of ['notes', 'contacts']) {
      const can = await su.query(`SELECT has_table_privilege($1, $2, 'SELECT') AS can`, [loginOf(b), `"${a.schema}"."${rel}"`]);
      expect(can.rows[0].can, rel).toBe(false);
    }
    await asB.refused([`select * from ${a.schema}.notes`, 'FORBIDDEN']);
  });

  it("cannot see B's statements in pg_stat_activity, nor B's values in pg_stats", async () => {
    const slow = asB.ok(`select pg_sleep(1.5), $1::text as marker`, [secret]);
    expect(await eventually(async () => (await su.query(`SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND state = 'active'`, [loginOf(b)])).rowCount === 1)).toBe(true);
    const seen = await asA.ok(`select query from pg_stat_activity where usename = $1`, [loginOf(b)]);
    expect(seen.rows).toEqual([{ query: '<insufficient privilege>' }]);
    await slow;
    await su.query(`ANALYZE "${b.schema}".secrets, "${b.schema}".contacts`);
    expect((await asA.ok(`select * from pg_stats where schemaname = $1`, [b.schema])).rows).toEqual([]);
    expect(JSON.stringify((await asA.ok(`select * from pg_stats`)).rows)).not.toContain(secret);
  });

  it("cannot read B's large objects (large objects are database-wide, not in a schema)", async () => {
    // B can no longer create one (hostile-tenants: the lock table); one from before is still B's.
    const { rows } = await su.query(`SELECT lo_from_bytea(0, convert_to($1, 'UTF8')) AS oid`, [secret]);
    await su.query(`ALTER LARGE OBJECT ${Number(rows[0]!.oid)} OWNER TO "${loginOf(b)}"`);
    await asA.refused([`select lo_get(${Number(rows[0]!.oid)})`, 'FORBIDDEN', /permission denied for large object/]);
    await asA.refused([`select lo_unlink(${Number(rows[0]!.oid)})`, 'FORBIDDEN']);
  });

  it('residual risk (SECURITY.md): the NAMES of other projects\' tables and roles are visible in pg_catalog, their data is not', async () => {
    const names = await asA.ok(`select relname from pg_class where relnamespace = $1::regnamespace and relkind = 'r' order by 1`, [b.schema]);
    expect(names.rows.map((r) => r.relname)).toContain('secrets');
    expect(JSON.stringify(names.rows)).not.toContain(secret);
  });
});

describe('roles: SET ROLE, RESET ROLE, SET SESSION AUTHORIZATION, set_config gain nothing', () => {
  const cases = (): Refusal[] => [
    [`set role ${loginOf(b)}`, 'FORBIDDEN', /^permission denied to set role/],
    [`set role p_${b.id}_owner`, 'FORBIDDEN'],
    [`set role p_${a.id}_owner`, 'FORBIDDEN'],
    ['set role postgres', 'FORBIDDEN'],
    ['set role pg_read_all_data', 'FORBIDDEN'],
    ['set role pg_write_server_files', 'FORBIDDEN'],
    ['set role pg_execute_server_program', 'FORBIDDEN'],
    ['set role pg_signal_backend', 'FORBIDDEN'],
    ['set session authorization postgres', 'FORBIDDEN'],
    [`set session authorization ${loginOf(b)}`, 'FORBIDDEN'],
    [`select set_config('role', 'postgres', false)`, 'FORBIDDEN'],
    [`select set_config('session_authorization', 'postgres', false)`, 'FORBIDDEN'],
    [`do $$ begin set role postgres; end $$`, 'FORBIDDEN'],
    [`do $$ begin execute 'set role p_${a.id}_owner'; end $$`, 'FORBIDDEN'],
    [`grant p_${a.id}_owner to current_user`, 'FORBIDDEN'],
    ['grant pg_read_all_data to current_user', 'FORBIDDEN'],
    ['alter role current_user superuser', 'FORBIDDEN'],
    ['alter role current_user createrole', 'FORBIDDEN'],
    ['alter role current_user createdb', 'FORBIDDEN'],
    ['alter role current_user bypassrls', 'FORBIDDEN'],
    ['alter role current_user inherit', 'FORBIDDEN'],
    ['alter role current_user connection limit -1', 'FORBIDDEN'],
    ['create role intruder login', 'FORBIDDEN'],
    ['set session_replication_role = replica', 'FORBIDDEN'],
    [`select set_config('temp_file_limit', '-1', false)`, 'FORBIDDEN'],
  ];

  it('every attempt is FORBIDDEN and the role keeps no more than it had', async () => {
    const before = await snapshot();
    for (const refusal of cases()) await asA.refused(refusal);
    expect(await snapshot()).toEqual(before);
  });

  it('what is allowed (RESET ROLE, SET ROLE NONE, set_config role none) leaves current_user as A\'s login role', async () => {
    const me = { current_user: loginOf(a), session_user: loginOf(a) };
    for (const text of ['reset role', 'set role none', 'reset session authorization', `select set_config('role', 'none', false)`]) await asA.ok(text);
    expect((await asA.ok(`select set_config('role', 'none', true) as r, current_user, session_user`)).rows).toEqual([{ r: 'none', ...me }]);
    expect((await asA.ok(`select current_user, session_user`)).rows).toEqual([me]);
  });
});

describe('structure: triggers, tables, functions, extensions', () => {
  const cases = (trigger: string | undefined, slot: string): Refusal[] => [
    ['alter table contacts disable trigger all', 'FORBIDDEN', /must be owner of table contacts/],
    ['alter table notes disable trigger user', 'FORBIDDEN'],
    ...(trigger ? ([[`alter table notes disable trigger "${trigger}"`, 'FORBIDDEN'], [`drop trigger "${trigger}" on notes`, 'FORBIDDEN']] as Refusal[]) : []),
    ['create trigger mine after insert on notes for each statement execute function paige.capture_changes()', 'FORBIDDEN'],
    ['set session_replication_role = replica', 'FORBIDDEN'],
    ['drop table notes', 'FORBIDDEN'],
    ['drop table contacts', 'FORBIDDEN'],
    ['alter table messages drop column body', 'FORBIDDEN'],
    ['alter table notes owner to current_user', 'FORBIDDEN'],
    ['alter table notes enable row level security', 'FORBIDDEN'],
    ['create policy hide on notes using (false)', 'FORBIDDEN'],
    ['create rule swallow as on insert to notes do instead nothing', 'FORBIDDEN'],
    ['create index on notes (v)', 'FORBIDDEN'],
    ['create table mine (id int)', 'FORBIDDEN'],
    ['create table pg_temp.mine (id int)', 'FORBIDDEN'],
    ['create view mine as select 1', 'FORBIDDEN'],
    ['create sequence mine', 'FORBIDDEN'],
    ['create type mine as enum (\'a\')', 'FORBIDDEN'],
    ['create schema mine', 'FORBIDDEN'],
    [`create function mine() returns int language sql as 'select 1'`, 'FORBIDDEN'],
    [`create function pg_temp.mine() returns int language sql as 'select 1'`, 'FORBIDDEN'],
    [`create or replace function paige.capture_changes() returns trigger language plpgsql as 'begin return null; end'`, 'FORBIDDEN'],
    ['drop function paige.capture_changes() cascade', 'FORBIDDEN'],
    ['create extension dblink', 'FORBIDDEN'],
    ['create extension pgcrypto', 'FORBIDDEN'],
    ['create extension file_fdw', 'FORBIDDEN'],
    ['create publication everything for all tables', 'FORBIDDEN'],
    [`create event trigger spy on ddl_command_start execute function paige.capture_changes()`, 'FORBIDDEN'],
    [`load 'auto_explain'`, 'FORBIDDEN'],
    ['alter system set work_mem = \'1GB\'', 'BAD_USER_INPUT', /cannot run inside a transaction block/],
    ['comment on table notes is \'mine\'', 'FORBIDDEN'],
    // Capture from the WAL: the old row it needs, the publication, the slot, the logical messages.
    ['alter table notes replica identity default', 'FORBIDDEN'],
    [`alter publication paige_changes drop tables in schema "${a.schema}"`, 'FORBIDDEN'],
    [`alter publication paige_changes add tables in schema "${b.schema}"`, 'FORBIDDEN'],
    ['drop publication paige_changes', 'FORBIDDEN'],
    [`select pg_create_logical_replication_slot('mine', 'pgoutput')`, 'FORBIDDEN'],
    [`select pg_drop_replication_slot('${slot}')`, 'FORBIDDEN'],
    [`select pg_replication_slot_advance('${slot}', pg_current_wal_lsn())`, 'FORBIDDEN'],
    [`select * from pg_logical_slot_peek_changes('${slot}', null, null)`, 'FORBIDDEN'],
    [`select pg_logical_emit_message(true, 'paige.actor', '{"kind":"ADMIN"}')`, 'FORBIDDEN'],
    [`select * from pg_logical_slot_get_changes('${slot}', null, null)`, 'FORBIDDEN'],
    [`select * from pg_logical_slot_get_binary_changes('${slot}', null, null, 'proto_version', '1', 'publication_names', 'paige_changes')`, 'FORBIDDEN'],
    [`select pg_copy_logical_replication_slot('${slot}', 'mine')`, 'FORBIDDEN'],
    [`select pg_create_physical_replication_slot('mine')`, 'FORBIDDEN'],
    [`alter publication paige_changes add table notes`, 'FORBIDDEN'],
    [`alter publication paige_changes set tables in schema "${a.schema}"`, 'FORBIDDEN'],
    [`alter publication paige_changes set (publish = 'insert')`, 'FORBIDDEN'],
    [`alter publication paige_changes rename to theirs`, 'FORBIDDEN'],
    [`alter publication paige_changes owner to current_user`, 'FORBIDDEN'],
    [`create publication mine for tables in schema "${a.schema}"`, 'FORBIDDEN'],
    [`create publication mine for table notes`, 'FORBIDDEN'],
  ];

  it('every attempt is refused, capture stays whole (triggers enabled, or the publication and slot), and changes are still captured', async () => {
    // Trigger capture: each table's capture triggers; capture from the WAL has none (the case still tries).
    const { rows } = await su.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal LIMIT 1`, [`"${a.schema}".notes`]);
    const trigger = rows[0]?.tgname as string | undefined;
    // The database's slot (whether or not it exists: a tenant is refused either way).
    const slot = (await su.query(`SELECT 'paige_capture_' || oid AS slot FROM pg_database WHERE datname = current_database()`)).rows[0].slot as string;
    const before = await snapshot();
    for (const refusal of cases(trigger, slot)) await asA.refused(refusal);
    expect(await snapshot()).toEqual(before);
    const marker = `captured-${randomBytes(3).toString('hex')}`;
    const changes = collect(wsClient(t, a.token), ROW_CHANGES, { p: a.id, t: 'notes', where: { v: { _eq: marker } } });
    await waitForSubscribers(t, 1);
    await asA.ok(`insert into notes (v) values ($1)`, [marker]);
    const [event] = await changes.waitFor(1);
    expect(event!.data.rowChanges).toMatchObject({ op: 'INSERT', row: { v: marker } });
  });
});

describe("the replication slot, from the login role's own session", () => {
  it('refuses a replication connection (the role may not replicate) and every slot function, and leaves the slot and publication as they were', async () => {
    const before = await snapshot();
    const slot = (await su.query(`SELECT 'paige_capture_' || oid AS slot FROM pg_database WHERE datname = current_database()`)).rows[0].slot as string;
    const login = await loginRoleClient(a.id);
    login.on('error', () => {});
    for (const text of [
      `SELECT pg_create_logical_replication_slot('mine', 'pgoutput')`,
      `SELECT * FROM pg_logical_slot_peek_changes('${slot}', NULL, NULL)`,
      `SELECT * FROM pg_logical_slot_get_changes('${slot}', NULL, NULL)`,
      `SELECT pg_replication_slot_advance('${slot}', pg_current_wal_lsn())`,
      `SELECT pg_drop_replication_slot('${slot}')`,
      `ALTER PUBLICATION paige_changes DROP TABLES IN SCHEMA "${a.schema}"`,
      `ALTER PUBLICATION paige_changes ADD TABLES IN SCHEMA "${b.schema}"`,
    ]) {
      await expect(login.query(text), text).rejects.toMatchObject({ code: '42501' });
    }
    // The replication protocol (what the capture leader streams with) needs the REPLICATION attribute.
    const url = new URL(inject('databaseUrl'));
    const { user, password } = login as unknown as { user: string; password: string };
    url.username = user;
    url.password = password;
    const replication = new pg.Client({ connectionString: url.toString(), replication: 'database' } as pg.ClientConfig);
    replication.on('error', () => {});
    // PG 15: "must be superuser or replication role to start walsender"; PG 16+: "permission denied to start WAL sender".
    await expect(replication.connect()).rejects.toMatchObject({ message: expect.stringMatching(/start (WAL sender|walsender)/) });
    await replication.end().catch(() => {});
    expect(await snapshot()).toEqual(before);
  });
});

describe('files, programs and the server', () => {
  const cases = (): Refusal[] => [
    [`copy notes to '${pwned}'`, 'FORBIDDEN', /COPY to a file/],
    [`copy notes from '/etc/passwd'`, 'FORBIDDEN', /COPY from a file/],
    [`copy notes from program 'id'`, 'FORBIDDEN', /COPY to or from an external program/],
    [`copy (select 1) to program 'touch ${pwned}'`, 'FORBIDDEN'],
    [`select pg_read_file('/etc/passwd')`, 'FORBIDDEN', /permission denied for function pg_read_file/],
    [`select pg_read_binary_file('/etc/passwd')`, 'FORBIDDEN'],
    [`select pg_ls_dir('.')`, 'FORBIDDEN'],
    [`select pg_stat_file('/etc/passwd')`, 'FORBIDDEN'],
    [`select lo_import('/etc/passwd')`, 'FORBIDDEN'],
    [`select lo_export(0, '${pwned}')`, 'FORBIDDEN'],
    [`select pg_reload_conf()`, 'FORBIDDEN'],
    [`select pg_switch_wal()`, 'FORBIDDEN'],
    // node-postgres cannot feed COPY FROM STDIN; this used to hang the session and the request for ever.
    ['copy notes from stdin', 'BAD_USER_INPUT', /COPY \.\.\. FROM STDIN cannot be used through sql/],
  ];

  it('no COPY to or from files or programs, no server files, no server functions', async () => {
    for (const refusal of cases()) await asA.refused(refusal);
    expect(existsSync(pwned)).toBe(false);
    // The sessions that refused COPY FROM STDIN are healthy and reused.
    for (let i = 0; i < 3; i++) expect((await asA.ok('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it("cannot terminate or cancel the service's backends: the listener stays up and subscriptions still deliver", async () => {
    const listenerName = t.server.services.subscriber.applicationName;
    const listener = async () => (await su.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [listenerName])).rows.map((r) => r.pid as number);
    const [pid] = await listener();
    expect(pid).toBeTypeOf('number');
    const changes = collect(wsClient(t, a.token), ROW_CHANGES, { p: a.id, t: 'notes' });
    await waitForSubscribers(t, 1);
    // A session of B's that is open for certain (B's raw-SQL pool ends sessions idle for 10 s):
    // the last case needs a backend of B to aim at, or it finds no row and nothing is refused.
    const bSession = await loginRoleClient(b.id);
    try {
      for (const refusal of [
        [`select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'paige-db-listener%'`, 'FORBIDDEN', /terminate/],
        [`select pg_cancel_backend(pid) from pg_stat_activity where application_name like 'paige-db-listener%'`, 'FORBIDDEN'],
        [`select pg_terminate_backend(${pid})`, 'FORBIDDEN'],
        [`select pg_terminate_backend(pid) from pg_stat_activity where usename <> current_user and pid <> pg_backend_pid()`, 'FORBIDDEN'],
        [`select pg_terminate_backend(pid) from pg_stat_activity where usename = '${loginOf(b)}'`, 'FORBIDDEN', /terminate/],
      ] as Refusal[]) {
        await asA.refused(refusal);
      }
      expect((await bSession.query('select 1 as alive')).rows).toEqual([{ alive: 1 }]);
    } finally {
      await bSession.end();
    }
    expect(await listener()).toEqual([pid]);
    await asA.ok(`insert into notes (v) values ('after the attempt')`);
    const [event] = await changes.waitFor(1);
    expect(event!.data.rowChanges).toMatchObject({ op: 'INSERT', row: { v: 'after the attempt' } });
  });
});

/** Backends of A's login role that are running a statement right now. */
const activeBackends = async () =>
  Number((await su.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND state <> 'idle'`, [loginOf(a)])).rows[0].n);

describe('time: the statement timeout cannot be escaped', () => {
  const timedOut = /^the statement was cancelled: it ran longer than the statement timeout$/;
  it.each([
    'select pg_sleep(600)',
    `select set_config('statement_timeout', '0', false), pg_sleep(600)`,
    `do $$ begin perform set_config('statement_timeout', '0', false); perform pg_sleep(600); end $$`,
    'select count(*) from generate_series(1, 1000000000)',
  ])('%s is cancelled after 5 s and leaves no backend running', async (text) => {
    const started = Date.now();
    await asA.refused([text, 'BAD_USER_INPUT', timedOut]);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await eventually(async () => (await activeBackends()) === 0, 1_000), 'a backend of the login role is still busy').toBe(true);
    // The next statement runs with the 5 s timeout again.
    expect((await asA.ok(`select current_setting('statement_timeout') as t`)).rows).toEqual([{ t: '5s' }]);
  }, 15_000);

  it('a cursor WITH HOLD (which COMMIT would run with no timeout) is closed before COMMIT', async () => {
    const started = Date.now();
    await asA.ok('declare forever cursor with hold for select pg_sleep(600)');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await activeBackends()).toBe(0);
    expect((await asA.ok('select count(*)::int as n from pg_cursors where is_holdable')).rows).toEqual([{ n: 0 }]);
  });

  it('LISTEN ends with the call (DISCARD ALL); session-level advisory locks are refused', async () => {
    await asA.refused(['select pg_advisory_lock(42), pg_advisory_lock_shared(43)', 'FORBIDDEN', /^permission denied for function pg_advisory_lock/]);
    await asA.ok('listen paige_changes');
    for (let i = 0; i < 3; i++) expect((await asA.ok('select pg_listening_channels() as c')).rows).toEqual([]);
  });

  it("cannot take another project's DDL lock key: advisory locks are refused (B's createTable never depended on one)", async () => {
    const keys = [`pg_advisory_xact_lock(${0x7064646c}, hashtext('${b.schema}'))`, `pg_advisory_xact_lock(hashtext('${b.schema}'))`];
    await asA.refused([`select ${keys.join(', ')}, pg_sleep(3)`, 'FORBIDDEN', /^permission denied for function pg_advisory_xact_lock$/]);
  });
});

describe('Postgres limits', () => {
  it('a statement or parameter past a Postgres limit is BAD_USER_INPUT, not a 500', async () => {
    const deep = `select ${'('.repeat(20_000)}1${')'.repeat(20_000)} as v`;
    await asA.refused([deep, 'BAD_USER_INPUT', /stack depth limit exceeded|memory exhausted/]);
    const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
    const result = await asA.run('select $1::int[] as v', [nested(7)]);
    expect(result.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^number of array dimensions (\(7\) )?exceeds the maximum allowed \(6\)$/), extensions: { code: 'BAD_USER_INPUT', sqlState: '54000' } });
    // Strings Postgres text cannot hold are refused rather than changed (node-postgres would send U+FFFD).
    expect((await asA.run('select $1::text as v', ['a\ud800b'])).errors?.[0]).toMatchObject({ message: 'params[0]: a string cannot contain a lone UTF-16 surrogate', extensions: { code: 'BAD_USER_INPUT' } });
    await asA.refused([`select 'a\udc00' as v`, 'BAD_USER_INPUT', /^text: cannot contain a lone UTF-16 surrogate$/]);
  });
});

describe('several statements in one text', () => {
  it('are refused as documented (BAD_USER_INPUT 42601) and none of them runs', async () => {
    for (const text of ['select 1; drop table notes', `insert into notes (v) values ('one'); insert into notes (v) values ('two')`, `select 1; select pg_sleep(600)`, `commit; drop table notes`]) {
      const error = await asA.refused([text, 'BAD_USER_INPUT', /^cannot insert multiple commands into a prepared statement$/]);
      expect(error.extensions?.sqlState).toBe('42601');
    }
    expect((await asA.ok(`select count(*)::int as n from notes where v in ('one', 'two')`)).rows).toEqual([{ n: 0 }]);
    // A semicolon inside a literal or a comment is not a second statement.
    expect((await asA.ok(`select 'a; drop table notes' as v -- ; drop table notes`)).rows).toEqual([{ v: 'a; drop table notes' }]);
  });
});

describe('the login role\'s password', () => {
  it('changing it (Postgres lets a role do that) does not lock the service out of the project', async () => {
    const c = await createTestProject(t);
    const asC = sqlAs(t, c);
    await asC.ok(`alter role current_user password 'chosen-by-the-bot'`);
    await t.server.services.projectSql.close(c.id);
    expect((await asC.ok('select current_user as u')).rows).toEqual([{ u: loginOf(c) }]);
    // The test helper logs in with the derived password: it works again.
    const direct = await loginRoleClient(c.id);
    await direct.end();
  });
});
