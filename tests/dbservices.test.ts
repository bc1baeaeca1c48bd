import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { createServer as createNetServer, connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Arrivals } from './support/arrivals.js';
import { leftover } from './support/leftovers.js';
import { collect, ROW_CHANGES, waitForSubscribers, wsClient } from './support/subscriptions.js';
import { createDbServices, DbServicesError, type DbServices, type RowChange } from '../src/dbservices/index.js';
import { resolveSettings } from '../src/dbservices/settings.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { logicalDatabaseUrl } from './support/capture-modes.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});

const project = () => createTestProject(t);

/** What dbServices' subscribe selects: every field of a row change, its actor included. */
/** What dbServices' RowChanges operation selects (src/dbservices/operations/changes.graphql). */
const ROW_CHANGES_WITH_ACTOR = ROW_CHANGES.replace('changedColumns at', 'changedColumns omittedColumns at actor { kind apiKeyId apiKeyName }');

/** `db`, closed after the test file. */
function closedAfterFile(db: DbServices): DbServices {
  leftover(() => db.close());
  return db;
}

type Transport = 'in-process' | 'remote';
/** A dbServices for the project over one transport, with no environment at all. */
function connect(kind: Transport, p: TestProjectHandle): DbServices {
  return closedAfterFile(kind === 'in-process'
    ? createDbServices({ projectId: p.id, databaseUrl: inject('databaseUrl'), env: {} })
    : createDbServices({ url: t.url, apiKey: p.token, env: {} }));
}

/** What a helper gave: its value, or the DbServicesError it threw (anything else fails the test). */
async function outcome(work: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await work() };
  } catch (error) {
    if (!(error instanceof DbServicesError)) throw new Error(`not a DbServicesError: ${String(error)}`, { cause: error });
    return { error: { code: error.code, message: error.message, details: error.details } };
  }
}

/** Timestamps and change cursors differ between two runs; everything else must not. */
function normalize(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => (key === 'cursor' ? '<cursor>' : v)).replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"/g, '"<timestamp>"'),
  );
}

/**
 * Every helper, in order, on a fresh project. Run once per transport; the two runs must agree
 * exactly (ids too: each project's identities start at 1).
 */
const scenario = (other: TestProjectHandle): [string, (db: DbServices) => Promise<unknown>][] => [
  ['contacts.get missing', (db) => db.contacts.get('+14155550100')],
  ['contacts.upsert', (db) => db.contacts.upsert({ phone: '+14155550100', name: 'Ada', profile: { vip: true } })],
  ['contacts.upsert keeps profile', (db) => db.contacts.upsert({ phone: '+14155550100', name: 'Ada Lovelace' })],
  ['contacts.get', (db) => db.contacts.get('+14155550100')],
  ['contacts.upsert bad phone', (db) => db.contacts.upsert({ phone: '555-0100' })],
  ['conversations.current', (db) => db.conversations.current('+14155550100')],
  ['conversations.current again', (db) => db.conversations.current('+14155550100')],
  ['conversations.setState', (db) => db.conversations.setState('1', { step: 'pick-date', service: 'haircut' })],
  ['conversations.setState unknown', (db) => db.conversations.setState('999', {})],
  ['messages.record', (db) => db.messages.record({ phone: '+14155550100', direction: 'inbound', body: 'hi', payload: { wamid: 'x1' }, idempotencyKey: 'k1' })],
  ['messages.record retry', (db) => db.messages.record({ phone: '+14155550100', direction: 'INBOUND', body: 'hi (retry)', idempotencyKey: 'k1' })],
  ['messages.record outbound', (db) => db.messages.record({ phone: '+14155550100', direction: 'outbound', body: 'Hello! What can I book?' })],
  ['messages.record bad direction', (db) => db.messages.record({ phone: '+14155550100', direction: 'sideways' as 'inbound' })],
  ['conversations.close', (db) => db.conversations.close('1')],
  ['messages.record opens a new conversation', (db) => db.messages.record({ phone: '+14155550100', direction: 'inbound', body: 'back again' })],
  ['tables.ensure creates', (db) => db.tables.ensure('bookings', [{ name: 'name', type: 'text', nullable: false }, { name: 'service', type: 'text' }, { name: 'date', type: 'date' }])],
  ['tables.ensure adds only missing columns', (db) => db.tables.ensure('bookings', [{ name: 'service', type: 'integer' }, { name: 'phone', type: 'text' }, { name: 'price', type: 'numeric' }])],
  ['tables.ensure unchanged', (db) => db.tables.ensure('bookings', [{ name: 'name', type: 'text' }])],
  ['tables.ensure system table', (db) => db.tables.ensure('contacts', [{ name: 'extra', type: 'text' }])],
  ['tables.ensure bad name', (db) => db.tables.ensure('bad name!', [{ name: 'x', type: 'text' }])],
  ['rows.insert one', (db) => db.rows.insert('bookings', { name: 'Ada', service: 'haircut', date: '2025-01-31', phone: '+14155550100', price: '12.50' })],
  ['rows.insert many', (db) => db.rows.insert('bookings', [{ name: 'Bob', service: 'shave', date: '2025-02-01', price: 9 }, { name: 'Cy', service: 'haircut', date: '2025-02-02' }])],
  ['rows.insert bad value', (db) => db.rows.insert('bookings', { name: 'Dee', date: 'next tuesday' })],
  ['rows.insert missing table', (db) => db.rows.insert('nope', { a: 1 })],
  ['rows.find', (db) => db.rows.find('bookings', { where: { service: { _eq: 'haircut' } }, orderBy: [{ column: 'date', direction: 'desc' }], first: 10 })],
  ['rows.find first', (db) => db.rows.find('bookings', { orderBy: [{ column: 'id' }], first: 1 })],
  ['rows.find bad where', (db) => db.rows.find('bookings', { where: { name: { _near: 1 } } })],
  ['rows.find missing table', (db) => db.rows.find('nope')],
  ['rows.update', (db) => db.rows.update('bookings', { name: { _eq: 'Bob' } }, { service: 'beard trim' })],
  ['rows.upsert', (db) => db.rows.upsert('bookings', [{ id: '1', name: 'Ada', service: 'colour', date: '2025-01-31' }, { id: '10', name: 'Eve', service: 'haircut', date: '2025-03-01' }], ['id'])],
  ['rows.delete', (db) => db.rows.delete('bookings', { name: { _in: ['Cy', 'Eve'] } })],
  ['rows.find after writes', (db) => db.rows.find('bookings', { orderBy: [{ column: 'id' }] })],
  ['rows.findPage paging', async (db) => {
    const first = await db.rows.findPage('bookings', { orderBy: [{ column: 'id' }], first: 1 });
    return [first, await db.rows.findPage('bookings', { orderBy: [{ column: 'id' }], first: 1, after: first.endCursor ?? undefined })];
  }],
  ['query', (db) => db.query('select b.name, b.price, c.phone from bookings b left join contacts c on c.phone = b.phone where b.id = $1', [1])],
  ['query system tables', (db) => db.query('select count(*)::int as messages, max(conversation_id) as last_conversation from messages')],
  ['query another project', (db) => db.query(`select * from ${other.schema}.contacts`)],
  ['query platform schema', (db) => db.query('select * from paige.api_keys')],
  ['query two statements', (db) => db.query('select 1; select 2')],
  ['query syntax', (db) => db.query('selec 1')],
];

describe('dbServices: one set of helpers, two transports', () => {
  it('every helper gives the same result in-process and remote', async () => {
    const other = await project();
    const runs: Record<Transport, Record<string, unknown>> = { 'in-process': {}, remote: {} };
    for (const kind of ['in-process', 'remote'] as const) {
      const db = connect(kind, await project());
      expect(db.transport).toBe(kind);
      for (const [name, step] of scenario(other)) runs[kind][name] = await outcome(() => step(db));
    }
    const inProcess = normalize(runs['in-process']) as Record<string, any>;
    const remote = normalize(runs.remote) as Record<string, any>;
    for (const name of Object.keys(inProcess)) expect(remote[name], name).toEqual(inProcess[name]);

    // And the shared answers are the right ones, not the same wrong ones.
    expect(inProcess['contacts.get missing']).toEqual({ value: null });
    expect(inProcess['contacts.get'].value).toMatchObject({ id: '1', phone: '+14155550100', name: 'Ada Lovelace', profile: { vip: true } });
    expect(inProcess['contacts.upsert bad phone'].error).toMatchObject({ code: 'BAD_USER_INPUT', message: 'input.phone: "555-0100" is not a phone number in E.164 format, such as +14155550123' });
    expect(inProcess['conversations.current again'].value.id).toBe(inProcess['conversations.current'].value.id);
    expect(inProcess['conversations.setState unknown'].error).toMatchObject({ code: 'NOT_FOUND', message: 'conversation "999" not found' });
    expect(inProcess['messages.record retry']).toEqual(inProcess['messages.record']);
    expect(inProcess['messages.record bad direction'].error.code).toBe('BAD_USER_INPUT');
    expect(inProcess['messages.record opens a new conversation'].value.conversation).toMatchObject({ id: '2', status: 'OPEN' });
    expect(inProcess['tables.ensure adds only missing columns'].value.columns.map((c: any) => [c.name, c.type])).toEqual([
      ['id', 'BIGINT'], ['name', 'TEXT'], ['service', 'TEXT'], ['date', 'DATE'], ['phone', 'TEXT'], ['price', 'NUMERIC'],
    ]);
    expect(inProcess['tables.ensure unchanged'].value).toEqual(inProcess['tables.ensure adds only missing columns'].value);
    expect(inProcess['tables.ensure system table'].error.code).toBe('SYSTEM_TABLE');
    expect(inProcess['tables.ensure bad name'].error.code).toBe('BAD_USER_INPUT');
    expect(inProcess['rows.insert one'].value).toEqual({ id: '1', name: 'Ada', service: 'haircut', date: '2025-01-31', phone: '+14155550100', price: '12.50' });
    expect(inProcess['rows.insert many'].value.map((r: any) => r.name)).toEqual(['Bob', 'Cy']);
    expect(inProcess['rows.insert bad value'].error).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('date') });
    expect(inProcess['rows.insert missing table'].error.code).toBe('NOT_FOUND');
    expect(inProcess['rows.find'].value.map((r: any) => r.name)).toEqual(['Cy', 'Ada']);
    expect(inProcess['rows.find bad where'].error.code).toBe('BAD_USER_INPUT');
    expect(inProcess['rows.find missing table'].error).toMatchObject({ code: 'NOT_FOUND', message: 'table "nope" not found' });
    expect(inProcess['rows.find after writes'].value.map((r: any) => [r.name, r.service])).toEqual([['Ada', 'colour'], ['Bob', 'beard trim']]);
    const [page1, page2] = inProcess['rows.findPage paging'].value;
    expect([page1.rows.map((r: any) => r.name), page1.hasNextPage, typeof page1.endCursor]).toEqual([['Ada'], true, 'string']);
    expect([page2.rows.map((r: any) => r.name), page2.hasNextPage]).toEqual([['Bob'], false]);
    expect(inProcess['query'].value).toEqual({ columns: ['name', 'price', 'phone'], rows: [{ name: 'Ada', price: '12.50', phone: '+14155550100' }], rowCount: 1, truncated: false });
    expect(inProcess['query system tables'].value.rows).toEqual([{ messages: 3, last_conversation: '2' }]);
    expect(inProcess['query another project'].error).toMatchObject({ code: 'FORBIDDEN', message: `permission denied for schema ${other.schema}` });
    expect(inProcess['query platform schema'].error).toMatchObject({ code: 'FORBIDDEN', message: 'permission denied for schema paige' });
    expect(inProcess['query two statements'].error.code).toBe('BAD_USER_INPUT');
    expect(inProcess['query syntax'].error).toMatchObject({ code: 'BAD_USER_INPUT', message: 'syntax error at or near "selec"' });
  });
});

describe('dbServices settings', () => {
  const attempt = (options: Parameters<typeof createDbServices>[0]) => {
    try {
      createDbServices(options);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(DbServicesError);
      return { code: (error as DbServicesError).code, message: (error as DbServicesError).message, setting: (error as DbServicesError).details.setting };
    }
  };

  it('a missing setting is one clear error naming it', () => {
    expect(attempt({ env: {} })).toEqual({
      code: 'CONFIGURATION',
      setting: 'PAIGE_PROJECT_ID',
      message: 'dbServices: PAIGE_PROJECT_ID is not set: set PAIGE_PROJECT_ID and DATABASE_URL (or PAIGE_DATA_DIR) to run in-process, or PAIGE_URL and PAIGE_API_KEY to call a paige-db server',
    });
    expect(attempt({ env: { PAIGE_PROJECT_ID: 'abc' } })).toEqual({
      code: 'CONFIGURATION',
      setting: 'DATABASE_URL',
      message:
        'dbServices: DATABASE_URL is not set: project abc runs in-process on the Postgres of paige-db; set DATABASE_URL to it, or PAIGE_DATA_DIR to the data dir of a paige-db running the embedded Postgres (./.paige-data by default), or PAIGE_URL and PAIGE_API_KEY to go through a server',
    });
    // In-process with a data dir (option or PAIGE_DATA_DIR); a database URL wins over it.
    expect(resolveSettings({ env: { PAIGE_PROJECT_ID: 'abc', PAIGE_DATA_DIR: '.paige-data' } })).toMatchObject({ transport: 'in-process', database: { dataDir: '.paige-data' } });
    expect(resolveSettings({ projectId: 'abc', dataDir: '/srv/paige', env: { PAIGE_URL: 'http://127.0.0.1:1/graphql', DATABASE_URL: 'postgres://x@h/db' } }))
      .toMatchObject({ transport: 'in-process', database: { dataDir: '/srv/paige' } });
    expect(resolveSettings({ env: { PAIGE_PROJECT_ID: 'abc', PAIGE_DATA_DIR: '.paige-data', DATABASE_URL: 'postgres://x@h/db' } }))
      .toMatchObject({ transport: 'in-process', database: { databaseUrl: 'postgres://x@h/db' } });
    expect(attempt({ env: { PAIGE_URL: 'http://127.0.0.1:1/graphql' } })).toMatchObject({ setting: 'PAIGE_API_KEY', message: expect.stringMatching(/^dbServices: PAIGE_API_KEY is not set/) });
    expect(attempt({ env: { PAIGE_URL: 'localhost:4000', PAIGE_API_KEY: 'k' } })).toMatchObject({ setting: 'PAIGE_URL' });
    // Explicit options override the environment, either way.
    expect(attempt({ projectId: 'abc', databaseUrl: 'postgres://x@127.0.0.1/db', env: { PAIGE_URL: 'http://127.0.0.1:1/graphql' } })).toBeUndefined();
    expect(attempt({ url: 'http://127.0.0.1:1/graphql', apiKey: 'k', env: { PAIGE_PROJECT_ID: 'abc' } })).toBeUndefined();
  });

  it('createDbServices() with no arguments reads PAIGE_PROJECT_ID and DATABASE_URL, or PAIGE_URL and PAIGE_API_KEY', async () => {
    const p = await project();
    const saved = { ...process.env };
    try {
      process.env.PAIGE_PROJECT_ID = p.id;
      process.env.DATABASE_URL = inject('databaseUrl');
      delete process.env.PAIGE_URL;
      const local = closedAfterFile(createDbServices());
      expect(local.transport).toBe('in-process');
      await local.contacts.upsert({ phone: '+14155550111', name: 'Env' });

      delete process.env.PAIGE_PROJECT_ID;
      delete process.env.DATABASE_URL;
      process.env.PAIGE_URL = t.url;
      process.env.PAIGE_API_KEY = p.token;
      const remote = closedAfterFile(createDbServices());
      expect(remote.transport).toBe('remote');
      expect((await remote.contacts.get('+14155550111'))?.name).toBe('Env');
    } finally {
      process.env = saved;
    }
  });

  it('a wrong key or an unreachable server is a DbServicesError too', async () => {
    const p = await project();
    const badKey = closedAfterFile(createDbServices({ url: t.url, apiKey: 'pdb_nope', projectId: p.id, env: {} }));
    await expect(badKey.contacts.get('+14155550100')).rejects.toMatchObject({ name: 'DbServicesError', code: 'UNAUTHENTICATED', message: 'invalid or revoked token' });
    const nowhere = closedAfterFile(createDbServices({ url: 'http://127.0.0.1:9/graphql', apiKey: 'k', projectId: p.id, env: {} }));
    await expect(nowhere.contacts.get('+14155550100')).rejects.toMatchObject({
      name: 'DbServicesError',
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^could not reach the paige-db server at http:\/\/127\.0\.0\.1:9\/graphql: /),
    });
    const wrongPath = closedAfterFile(createDbServices({ url: t.url.replace(/\/graphql$/, '/nope'), apiKey: p.token, env: {} }));
    await expect(wrongPath.contacts.get('+14155550100')).rejects.toMatchObject({
      code: 'CONFIGURATION',
      message: `dbServices: ${t.url.replace(/\/graphql$/, '/nope')} answered HTTP 404 without a GraphQL result: set PAIGE_URL to the /graphql endpoint of a paige-db server`,
      details: { setting: 'PAIGE_URL' },
    });
    const ended = await new Promise<DbServicesError>((resolve) => nowhere.subscribe('contacts', { onError: resolve }, () => {}));
    expect(ended).toMatchObject({ name: 'DbServicesError', code: 'UNAVAILABLE', message: 'could not reach the paige-db server at http://127.0.0.1:9/graphql: connect ECONNREFUSED 127.0.0.1:9' });
    const wrongProject = closedAfterFile(createDbServices({ projectId: 'ffffffffffff', databaseUrl: inject('databaseUrl'), env: {} }));
    await expect(wrongProject.rows.find('contacts')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'project "ffffffffffff" not found' });
    await expect(wrongProject.contacts.get('+14155550100')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'project "ffffffffffff" not found' });
  });
});

describe('dbServices in-process when Postgres does not answer or says no', () => {
  // Nothing listens on port 9 (discard) here; the password must never appear in what the bot sees.
  const unreachable = 'postgres://paige:s3cret-pw@127.0.0.1:9/paige';

  it('every call is UNAVAILABLE, naming host:port/database and not the password; the next call tries again', async () => {
    const db = closedAfterFile(createDbServices({ projectId: 'ffffffffffff', databaseUrl: unreachable, env: {} }));
    const expected = {
      name: 'DbServicesError',
      code: 'UNAVAILABLE',
      message: 'dbServices: the database at 127.0.0.1:9/paige cannot be reached (connect ECONNREFUSED 127.0.0.1:9)',
      details: { database: '127.0.0.1:9/paige' },
    };
    for (let i = 0; i < 2; i++) await expect(db.contacts.get('+14155550100')).rejects.toMatchObject(expected);
    await expect(db.query('select 1')).rejects.toMatchObject(expected);
    const ended = await new Promise<DbServicesError>((resolve) => db.subscribe('contacts', { onError: resolve }, () => {}));
    expect(ended).toMatchObject(expected);
    expect(JSON.stringify([ended.message, ended.details])).not.toContain('s3cret-pw');
  });

  it('a database that goes away after the first calls: UNAVAILABLE, naming it', async () => {
    const p = await project();
    // The bot reaches Postgres through a TCP relay this test owns, then the relay goes away.
    const target = new URL(inject('databaseUrl'));
    const open = new Set<Socket>();
    const relay = createNetServer((inbound) => {
      const outbound = connectTcp(Number(target.port || 5432), target.hostname);
      for (const socket of [inbound, outbound]) {
        open.add(socket);
        socket.on('error', () => {}).on('close', () => open.delete(socket));
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    leftover(() => new Promise<void>((resolve) => relay.close(() => resolve())));
    const via = new URL(target);
    via.hostname = '127.0.0.1';
    via.port = String((relay.address() as AddressInfo).port);
    const db = closedAfterFile(createDbServices({ projectId: p.id, databaseUrl: via.toString(), env: { LOG_LEVEL: 'silent' } }));
    expect(await db.contacts.upsert({ phone: '+14155550177', name: 'Before' })).toMatchObject({ name: 'Before' });

    await new Promise<void>((resolve) => {
      relay.close(() => resolve());
      for (const socket of open) socket.destroy();
    });
    await expect(db.contacts.get('+14155550177')).rejects.toMatchObject({
      name: 'DbServicesError',
      code: 'UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`^dbServices: the database at 127\\.0\\.0\\.1:${via.port}/${target.pathname.slice(1)} cannot be reached \\(`)),
    });
  });

  it('a database that does not exist is CONFIGURATION, naming it and DATABASE_URL', async () => {
    const url = new URL(inject('databaseUrl'));
    url.pathname = '/paige_no_such_database';
    const db = closedAfterFile(createDbServices({ projectId: 'ffffffffffff', databaseUrl: url.toString(), env: {} }));
    await expect(db.contacts.get('+14155550100')).rejects.toMatchObject({
      name: 'DbServicesError',
      code: 'CONFIGURATION',
      message: `dbServices: connecting to the database at ${url.hostname}:${url.port || '5432'}/paige_no_such_database failed: database "paige_no_such_database" does not exist`,
      details: { setting: 'DATABASE_URL' },
    });
  });
});

describe.each(['in-process', 'remote'] as const)('dbServices %s', (kind) => {
  it('an idempotencyKey sent twice stores one message', async () => {
    const p = await project();
    const db = connect(kind, p);
    const message = { phone: '+447700900123', direction: 'inbound' as const, body: 'hello', idempotencyKey: 'wamid.HBgM' };
    const [first, second] = [await db.messages.record(message), await db.messages.record({ ...message, body: 'hello again' })];
    expect(second).toEqual(first);
    const concurrent = await Promise.all([1, 2, 3, 4].map(() => db.messages.record({ ...message, idempotencyKey: 'wamid.race' })));
    expect(new Set(concurrent.map((m) => m.id)).size).toBe(1);
    const { rows } = await db.query(`select idempotency_key, count(*)::int as n from messages group by 1 order by 1`);
    expect(rows).toEqual([{ idempotency_key: 'wamid.HBgM', n: 1 }, { idempotency_key: 'wamid.race', n: 1 }]);
  });

  it('tables.ensure from several processes at once: one table, every column once, nothing dropped', async () => {
    const p = await project();
    const db = connect(kind, p);
    const other = connect(kind === 'in-process' ? 'remote' : 'in-process', p);
    const spec = (extra: string) => [{ name: 'title', type: 'text' as const }, { name: extra, type: 'integer' as const }];
    const results = await Promise.all([db.tables.ensure('tasks', spec('a')), other.tables.ensure('tasks', spec('b')), db.tables.ensure('tasks', spec('c'))]);
    for (const result of results) expect(result.name).toBe('tasks');
    const final = await db.tables.ensure('tasks', []);
    expect(final.columns.map((c) => c.name).sort()).toEqual(['a', 'b', 'c', 'id', 'title']);
    await db.rows.insert('tasks', { title: 'kept', a: 1 });
    // Asking for a column with another type changes nothing, and the data stays.
    await db.tables.ensure('tasks', [{ name: 'title', type: 'integer' }]);
    expect((await db.tables.ensure('tasks', [])).columns.find((c) => c.name === 'title')?.type).toBe('TEXT');
    expect(await db.rows.find('tasks')).toEqual([{ id: '1', title: 'kept', a: 1, b: null, c: null }]);
  });

  it("query cannot reach another project's tables or the platform schema", async () => {
    const mine = await project();
    const theirs = await project();
    await connect(kind, theirs).contacts.upsert({ phone: '+15550001234', name: 'Secret' });
    const db = connect(kind, mine);
    for (const text of [`select * from ${theirs.schema}.contacts`, 'select * from paige.projects', 'select * from paige.settings', `update ${theirs.schema}.contacts set name = 'x'`]) {
      await expect(db.query(text), text).rejects.toMatchObject({ name: 'DbServicesError', code: 'FORBIDDEN' });
    }
    // Unqualified names are the project's own tables.
    expect((await db.query('select count(*)::int as n from contacts')).rows).toEqual([{ n: 0 }]);
  });

  it('a row changed through GraphQL (as a dashboard would) is seen by the next rows.find', async () => {
    const p = await project();
    const db = connect(kind, p);
    await db.tables.ensure('notes', [{ name: 'text', type: 'text' }]);
    const [note] = await db.rows.insert('notes', [{ text: 'draft' }]);
    await t.ok(
      `mutation ($p: ID!, $where: JSON!) { updateRows(projectId: $p, table: "notes", where: $where, set: { text: "edited in the dashboard" }) }`,
      { p: p.id, where: { id: { _eq: note!.id } } },
      p.token,
    );
    expect(await db.rows.find('notes')).toEqual([{ id: note!.id, text: 'edited in the dashboard' }]);
  });

  it('subscribe delivers the same row changes a dashboard receives, resumes with since, and reports errors', async () => {
    const p = await project();
    const db = connect(kind, p);
    await db.tables.ensure('orders', [{ name: 'item', type: 'text' }, { name: 'qty', type: 'integer' }]);
    const baseline = t.server.services.changes.subscriberCount;
    const dashboard = collect(wsClient(t, p.token), ROW_CHANGES_WITH_ACTOR, { p: p.id, t: 'orders', where: { qty: { _gt: 1 } } });
    await waitForSubscribers(t, baseline + 1);
    // A first change whose cursor the helper resumes from: no gap, however long its subscription takes to start.
    await db.rows.insert('orders', { item: 'seed', qty: 5 });
    const [seed] = await dashboard.waitFor(1);
    const seen = new Arrivals<RowChange>();
    const stop = db.subscribe('orders', { where: { qty: { _gt: 1 } }, since: seed!.data.rowChanges.cursor }, (change) => seen.push(change));
    await db.rows.insert('orders', [{ item: 'tea', qty: 1 }, { item: 'cake', qty: 3 }]);
    await t.ok(`mutation ($p: ID!) { updateRows(projectId: $p, table: "orders", where: { item: { _eq: "cake" } }, set: { qty: 4 }) }`, { p: p.id }, p.token);
    await dashboard.waitFor(3);
    await seen.first(2, 'two changes through db.subscribe', undefined, 5_000);
    expect(seen.items).toEqual(dashboard.payloads.slice(1).map((payload) => payload.data.rowChanges));
    expect(seen.items.map((c) => [c.op, c.row?.item, c.row?.qty])).toEqual([['INSERT', 'cake', 3], ['UPDATE', 'cake', 4]]);
    stop();
    dashboard.unsubscribe();

    // Resume after the first change: the second one comes again, nothing else. A live change
    // made after the replay ends the list, so a duplicate replayed late would show before it.
    const resumed = new Arrivals<RowChange>();
    const stopResumed = db.subscribe('orders', { since: seen.items[0]!.cursor }, (change) => resumed.push(change));
    await resumed.first(1, 'the replayed change', undefined, 3_000);
    await db.rows.insert('orders', { item: 'pie', qty: 2 });
    await resumed.first(2, 'the replayed change and the live one', undefined, 3_000);
    expect(resumed.items[0]?.cursor).toBe(seen.items[1]!.cursor);
    expect(resumed.items.map((c) => [c.op, c.row?.item, c.row?.qty])).toEqual([['UPDATE', 'cake', 4], ['INSERT', 'pie', 2]]);
    stopResumed();

    const errors = new Arrivals<DbServicesError>();
    db.subscribe('missing', { onError: (error) => errors.push(error) }, () => {});
    await errors.first(1, 'the error of a subscription to a missing table', undefined, 3_000);
    expect(errors.items[0]).toMatchObject({ name: 'DbServicesError', code: 'NOT_FOUND', message: 'table "missing" not found' });
  });
});

describe('dbServices in-process with no paige-db server running', () => {
  it('a bot that subscribes gets its changes in logical capture mode too: it stands for the replication slot itself', async () => {
    // A database a server once put in logical mode (and made a project in), then stopped.
    const url = await logicalDatabaseUrl();
    const server = await startTestServer({ DATABASE_URL: url, PAIGE_CAPTURE: 'logical' });
    const p = await createTestProject(server);
    await server.stop();

    const db = closedAfterFile(createDbServices({ projectId: p.id, databaseUrl: url, env: {} }));
    await db.tables.ensure('orders', [{ name: 'item', type: 'text' }]);
    const seen = new Arrivals<RowChange>();
    db.subscribe('orders', {}, (change) => seen.push(change));
    // The subscription starts live at a moment the bot cannot see: probe until its first event.
    const deadline = Date.now() + 15_000;
    for (let probe = 1; !seen.items.length; probe++) {
      if (Date.now() > deadline) throw new Error(`no event for ${probe - 1} probes: nobody captures this database's changes`);
      await db.rows.insert('orders', { item: `probe ${probe}` });
      await seen.first(1, 'a probe', undefined, 1_000).catch(() => undefined);
    }
    await db.rows.insert('orders', { item: 'tea' });
    await seen.until('the insert after the first change', (items) => (items.some((c) => c.row?.item === 'tea') ? true : undefined), 10_000);
    expect(seen.items.at(-1)).toMatchObject({ op: 'INSERT', row: { item: 'tea' }, actor: { kind: 'IN_PROCESS' } });
  });
});

describe('the example booking bot (plain JavaScript, paige-db/dbservices from dist)', () => {
  const root = resolve(import.meta.dirname, '..');

  beforeAll(async () => {
    // The package export points at dist/: compile it from this tree so the bot runs today's code.
    // The package only, not `npm run build`: that empties dist/ first, and a dashboard test file
    // starting its server meanwhile (in the other worker) found no dist/web and served 503.
    await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root });
  }, 240_000);

  it('a dashboard subscription sees the contact, the message and the booking within 1 s', async () => {
    const p = await project();
    const bot = spawn(process.execPath, ['examples/booking-bot/index.js'], {
      cwd: root,
      // Zero configuration: the runtime's environment only.
      env: { PATH: process.env.PATH, PAIGE_PROJECT_ID: p.id, DATABASE_URL: inject('databaseUrl') },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: bot.stdout! })[Symbol.asyncIterator]();
    const next = async () => JSON.parse(((await lines.next()).value as string) ?? 'null');
    try {
      expect(await next()).toEqual({ ready: true, transport: 'in-process' });

      const client = wsClient(t, p.token);
      const baseline = t.server.services.changes.subscriberCount;
      const contacts = collect(client, ROW_CHANGES, { p: p.id, t: 'contacts' });
      const messages = collect(client, ROW_CHANGES, { p: p.id, t: 'messages' });
      const bookings = collect(client, ROW_CHANGES, { p: p.id, t: 'bookings' });
      await waitForSubscribers(t, baseline + 3);

      const submission = { phone: '+14155550123', name: 'Ada', service: 'haircut', date: '2025-06-02', messageId: 'wamid.1' };
      const sentAt = Date.now();
      bot.stdin!.write(`${JSON.stringify(submission)}\n`);
      const arrivals = await Promise.all([contacts.waitFor(1, 5_000), messages.waitFor(1, 5_000), bookings.waitFor(1, 5_000)].map((wait) => wait.then(() => Date.now() - sentAt)));
      expect(Math.max(...arrivals), `arrivals after ${arrivals.join(', ')} ms`).toBeLessThanOrEqual(1_000);

      expect(contacts.payloads[0]!.data.rowChanges).toMatchObject({ op: 'INSERT', row: { phone: '+14155550123', name: 'Ada' } });
      expect(messages.payloads[0]!.data.rowChanges).toMatchObject({ op: 'INSERT', row: { direction: 'inbound', body: 'Book haircut on 2025-06-02', idempotency_key: 'wamid.1' } });
      expect(bookings.payloads[0]!.data.rowChanges).toMatchObject({ op: 'INSERT', row: { name: 'Ada', service: 'haircut', date: '2025-06-02', phone: '+14155550123' } });

      const result = await next();
      expect(result.reply).toBe(`Thanks Ada! Your haircut is booked for 2025-06-02 (booking #${result.booking.id}).`);
      await messages.waitFor(2, 2_000);
      expect(messages.payloads[1]!.data.rowChanges.row).toMatchObject({ direction: 'outbound', body: result.reply });

      // The same submission again (a channel retry): one booking, the same answer.
      bot.stdin!.write(`${JSON.stringify(submission)}\n`);
      expect((await next()).booking.id).toBe(result.booking.id);
      // A date that does not exist: the user is told, nothing is booked.
      bot.stdin!.write(`${JSON.stringify({ ...submission, date: '2025-02-30', messageId: 'wamid.2' })}\n`);
      const refused = await next();
      expect(refused.booking).toBeNull();
      expect(refused.reply).toMatch(/^Sorry Ada, I could not book that: .*date/);
      const { sql } = await t.ok(`mutation ($p: ID!) { sql(projectId: $p, text: "select count(*)::int as n from bookings") { rows } }`, { p: p.id }, p.token);
      expect(sql.rows).toEqual([{ n: 1 }]);
      contacts.unsubscribe();
      messages.unsubscribe();
      bookings.unsubscribe();
    } finally {
      bot.stdin!.end();
      await new Promise((r) => bot.once('exit', r));
    }
    expect(bot.exitCode).toBe(0);
  }, 60_000);

  it('without settings the bot exits with the error naming the missing one', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const bot = spawn(process.execPath, ['examples/booking-bot/index.js'], { cwd: root, env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      bot.stderr!.on('data', (chunk) => (stderr += chunk));
      bot.once('exit', (code) => done({ code, stderr }));
    });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('dbServices: PAIGE_PROJECT_ID is not set: set PAIGE_PROJECT_ID and DATABASE_URL (or PAIGE_DATA_DIR) to run in-process, or PAIGE_URL and PAIGE_API_KEY to call a paige-db server');
  });
});
