import { beforeAll, describe, expect, it } from 'vitest';
import { readNotifyChannels, type NotifyChannels } from '../src/db/notify-channels.js';
import { Arrivals } from './support/arrivals.js';
import { leftover } from './support/leftovers.js';
import { createTestProject, startTestServer, wireOf, type TestProjectHandle, type TestServer } from './support/server.js';
import { createEmptyDatabase, superuserClient } from './support/postgres.js';
import { expectError, recordStatements, rowApi } from './support/rows.js';

/**
 * The per-process metadata cache (src/db/metadata-cache.ts): two servers on one database,
 * as two processes behind a load balancer would be. What one changes, the other must answer
 * right at once: DDL, a revoked key, a deleted project; with its listener down it must not trust
 * the cache at all. Both talk to Postgres through a wire proxy of their own, which counts a
 * server's statements and acts on its listener's connection.
 */
let a: TestServer;
let b: TestServer;
let project: TestProjectHandle;
let database: string;
let onA: ReturnType<typeof rowApi>;
let onB: ReturnType<typeof rowApi>;

const ADD_COLUMN = /* GraphQL */ `mutation ($p: ID!, $t: String!, $c: ColumnInput!) { addColumn(projectId: $p, table: $t, column: $c) { name } }`;
const RENAME_COLUMN = /* GraphQL */ `mutation ($p: ID!, $t: String!, $n: String!, $nn: String!) { renameColumn(projectId: $p, table: $t, name: $n, newName: $nn) { name } }`;
const DROP_TABLE = /* GraphQL */ `mutation ($p: ID!, $n: String!) { dropTable(projectId: $p, name: $n) }`;
const COLUMNS = /* GraphQL */ `query ($p: ID!, $t: String!) { project(id: $p) { table(name: $t) { columns { name } } } }`;
const CREATE_KEY = /* GraphQL */ `mutation ($p: ID!) { createApiKey(projectId: $p, name: "cache") { apiKey { id } token } }`;
const REVOKE_KEY = /* GraphQL */ `mutation ($id: ID!) { revokeApiKey(id: $id) }`;
const PROJECT = /* GraphQL */ `query ($p: ID!) { project(id: $p) { id } }`;
const SQL = /* GraphQL */ `mutation ($p: ID!, $text: String!, $params: [JSON]) { sql(projectId: $p, text: $text, params: $params) { rowCount } }`;

const metadataOf = (t: TestServer) => t.server.services.metadata;
const catalogReads = (statements: string[]) => statements.filter((s) => /FROM pg_class/.test(s)).length;

/** The connection of a server's listener (its application_name is its own). */
const listenerOf = (t: TestServer) => (applicationName: string) => applicationName === t.server.services.subscriber.applicationName;

/** What a server's listener reports from now on: losing its connection (false), LISTENing again (true). */
function listenerReports(t: TestServer): Arrivals<boolean> {
  const reports = new Arrivals<boolean>();
  leftover(t.server.services.subscriber.onListening((listening) => reports.push(listening)));
  return reports;
}

/** Cuts a server's listening connection and waits until it has reconnected (and so emptied its cache). */
async function reconnectListener(t: TestServer): Promise<void> {
  const reports = listenerReports(t);
  wireOf(t).refuse(listenerOf(t)).release();
  await reports.until('the listener to reconnect', (seen) => (seen.includes(true) ? true : undefined), 15_000);
}

/** Runs `work` with the metadata notifications to B dropped on the way: B's cache is stale, as in the instant before one arrives. */
async function withNotificationsHeldOnB(work: () => Promise<void>): Promise<void> {
  const held = wireOf(b).dropNotifications(listenerOf(b));
  try {
    await work();
  } finally {
    held.release();
    // What was dropped is gone for good, as after a lost connection: make B start clean the way it
    // does after one, for the next test.
    await reconnectListener(b);
  }
}

beforeAll(async () => {
  // A database of their own: every process of a database hears (and must acknowledge) every
  // metadata change, so other test files' servers would both disturb these counts and wait on B
  // while its notifications are held back.
  database = await createEmptyDatabase();
  const own = { DATABASE_URL: database };
  a = await startTestServer(own, {}, { wireProxy: true });
  b = await startTestServer(own, {}, { wireProxy: true });
  project = await createTestProject(a);
  onA = rowApi(a, project);
  onB = rowApi(b, project);
}, 120_000);

describe('statements', () => {
  it('a warm flat rows read with a project key is ONE statement, and so is a warm insertRows', async () => {
    await onA.createTable({ name: 'counted', columns: [{ name: 'label', type: 'TEXT' }] });
    expect(metadataOf(a).trusted).toBe(true);
    expect((await onA.insert('counted', [{ label: 'one' }])).errors).toBeUndefined();
    await onA.page('counted', { first: 1 });

    const read = await recordStatements(a, async () => expect((await onA.page('counted', { first: 10 })).nodes).toEqual([{ id: '1', label: 'one' }]));
    expect(read).toHaveLength(1);
    // The page's keyset read, inside the statement that caps its bytes (src/db/sql/rows.sql.ts).
    expect(read[0]).toMatch(/^SELECT .*FROM \(SELECT "id", "label", .* FROM "p_\w+"\."counted"/s);

    const write = await recordStatements(a, async () => expect((await onA.insert('counted', [{ label: 'two' }])).errors).toBeUndefined());
    expect(write).toHaveLength(1);
    // One statement, marked with its actor within itself (src/db/actor.ts).
    expect(write[0]).toMatch(/^WITH "paige\.actor" AS \(SELECT paige_actor\.mark\(\$\d+::jsonb\)\) INSERT INTO "p_\w+"\."counted"/);
  });
});

describe('two servers on one database', () => {
  it('a column added through A can be written through B at once', async () => {
    await onA.createTable({ name: 'grows', columns: [{ name: 'a', type: 'TEXT' }] });
    expect((await onB.insert('grows', [{ a: 'warm' }])).errors).toBeUndefined();
    const dropped = (await b.metrics()).paige_metadata_cache_drops_total!;
    await a.ok(ADD_COLUMN, { p: project.id, t: 'grows', c: { name: 'b', type: 'INTEGER' } }, project.token);
    // A answered only after B acknowledged dropping the schema's tables.
    expect((await b.metrics()).paige_metadata_cache_drops_total!).toBeGreaterThan(dropped);
    const inserted = await onB.insert('grows', [{ a: 'x', b: 7 }]);
    expect(inserted.errors).toBeUndefined();
    expect(inserted.data!.insertRows).toEqual([{ id: '2', a: 'x', b: 7 }]);
    expect((await b.ok(COLUMNS, { p: project.id, t: 'grows' }, project.token)).project.table.columns.map((c: { name: string }) => c.name)).toEqual(['id', 'a', 'b']);
  });

  it('a table dropped through A is NOT_FOUND through B at once', async () => {
    await onA.createTable({ name: 'doomed', columns: [{ name: 'a', type: 'TEXT' }] });
    expect((await onB.insert('doomed', [{ a: 'warm' }])).errors).toBeUndefined();
    await onB.page('doomed');
    await a.ok(DROP_TABLE, { p: project.id, n: 'doomed' }, project.token);
    expectError(await onB.insert('doomed', [{ a: 'late' }]), 'NOT_FOUND', 'table "doomed" not found');
    expect((await onB.rows('doomed')).data).toEqual({ project: { table: null } });
  });

  it('before B has heard of a change: a new column is found, a renamed one refused, a dropped table NOT_FOUND, each after one fresh catalog read', async () => {
    await onA.createTable({ name: 'shifting', columns: [{ name: 'a', type: 'TEXT' }] });
    expect((await onB.insert('shifting', [{ a: 'warm' }])).errors).toBeUndefined();
    await onB.page('shifting');
    await withNotificationsHeldOnB(async () => {
      await a.ok(ADD_COLUMN, { p: project.id, t: 'shifting', c: { name: 'b', type: 'INTEGER' } }, project.token);
      // B's cache still says (id, a): "b" unknown → one catalog read → found.
      const statements = await recordStatements(b, async () => {
        const inserted = await onB.insert('shifting', [{ a: 'x', b: 1 }]);
        expect(inserted.errors).toBeUndefined();
        expect(inserted.data!.insertRows).toEqual([{ id: '2', a: 'x', b: 1 }]);
      });
      expect(catalogReads(statements)).toBe(1);

      await a.ok(RENAME_COLUMN, { p: project.id, t: 'shifting', n: 'a', nn: 'c' }, project.token);
      // Cached (id, a, b): the INSERT names "a", Postgres says 42703, the fresh read knows "c".
      expectError(await onB.insert('shifting', [{ a: 'y' }]), 'NOT_FOUND', 'rows[0]: column "a" not found in table "shifting"');
      expect((await onB.insert('shifting', [{ c: 'y', b: 2 }])).data!.insertRows).toEqual([{ id: '3', c: 'y', b: 2 }]);
      expect((await onB.page('shifting', { where: { c: { _eq: 'y' } } })).nodes).toEqual([{ id: '3', c: 'y', b: 2 }]);

      await a.ok(DROP_TABLE, { p: project.id, n: 'shifting' }, project.token);
      expectError(await onB.insert('shifting', [{ c: 'z' }]), 'NOT_FOUND', 'table "shifting" not found');
    });
  });

  it('a key revoked through A fails through B at once', async () => {
    for (let i = 0; i < 20; i += 1) {
      const { createApiKey } = await a.ok(CREATE_KEY, { p: project.id });
      expect((await b.ok(PROJECT, { p: project.id }, createApiKey.token)).project.id).toBe(project.id);
      await b.ok(PROJECT, { p: project.id }, createApiKey.token);
      const dropped = (await b.metrics()).paige_metadata_cache_drops_total!;
      expect(await a.ok(REVOKE_KEY, { id: createApiKey.apiKey.id })).toEqual({ revokeApiKey: true });
      // A answered only after B acknowledged dropping the key.
      expect((await b.metrics()).paige_metadata_cache_drops_total!).toBeGreaterThan(dropped);
      const refused = await b.gql(PROJECT, { p: project.id }, createApiKey.token);
      expect(refused.status).toBe(401);
      expectError(refused, 'UNAUTHENTICATED', 'invalid or revoked token');
    }
  });

  it('a project deleted through A is gone through B at once, its keys with it', async () => {
    const other = await createTestProject(a);
    const otherOnB = rowApi(b, other);
    await otherOnB.createTable({ name: 'kept', columns: [{ name: 'a', type: 'TEXT' }] });
    await otherOnB.page('kept');
    await other.remove();
    expectError(await b.gql(PROJECT, { p: other.id }, other.token), 'UNAUTHENTICATED', 'invalid or revoked token');
    expect((await b.ok(PROJECT, { p: other.id })).project).toBeNull();
    expectError(await b.gql(`mutation ($p: ID!) { insertRows(projectId: $p, table: "kept", rows: [{ a: "x" }]) }`, { p: other.id }), 'NOT_FOUND', `project "${other.id}" not found`);
  });

  it("a tenant's notification on the channel names it can guess reaches no process", async () => {
    await onA.createTable({ name: 'unreached', columns: [{ name: 'a', type: 'TEXT' }] });
    await onA.page('unreached');
    const dropped = (await a.metrics()).paige_metadata_cache_drops_total!;
    const channels = await platformChannels();
    const acks = await notificationsOn(channels.metadataAck);
    // A payload it could have seen (a valid tag), on the names the channels had before issue 14.
    const replayed = metadataOf(a).tags.payloadOf({ kind: 'tables', schema: project.schema });
    await a.ok(SQL, { p: project.id, text: `SELECT pg_notify('paige_metadata', $1), pg_notify('paige_metadata_ack', 'x ' || $1)`, params: [replayed] }, project.token);
    // Then a marker on the real channel: its ack comes after anything sent before it was handled.
    const marker = metadataOf(a).tags.payloadOf({ kind: 'key', keyId: 'no-such-key' });
    await (await superuserClient(database)).query(`SELECT pg_notify($1, $2)`, [channels.metadata, marker]);
    await acks.first(1, "A's acknowledgement of the marker", (notification) => notification.endsWith(` ${marker}`));
    expect(acks.items.filter((notification) => notification.includes(replayed))).toEqual([]);
    expect((await a.metrics()).paige_metadata_cache_drops_total!).toBe(dropped);
    expect(await recordStatements(a, () => onA.page('unreached'))).toHaveLength(1);
  });

  it('a notification on the platform channel, even a replayed one, only makes the cache read again', async () => {
    await onA.createTable({ name: 'forged', columns: [{ name: 'a', type: 'TEXT' }] });
    await onA.page('forged');
    expect(await recordStatements(a, () => onA.page('forged'))).toHaveLength(1);
    const dropped = (await a.metrics()).paige_metadata_cache_drops_total!;
    const channels = await platformChannels();
    // A's listener answers every well-formed notification once it has acted on it.
    const acks = await notificationsOn(channels.metadataAck);
    // Were the channel reached (by someone who knows the secret): garbage is ignored; a payload
    // seen go by (replayed here) names the schema's tables, which are dropped.
    const replayed = metadataOf(a).tags.payloadOf({ kind: 'tables', schema: project.schema });
    await (await superuserClient(database)).query(`SELECT pg_notify($1, 'nonsense'), pg_notify($1, $2)`, [channels.metadata, replayed]);
    const ack = `${channels.metadataAck} ${a.server.services.subscriber.applicationName} ${replayed}`;
    await acks.first(1, "A's acknowledgement of the replayed payload", (notification) => notification === ack);
    expect((await a.metrics()).paige_metadata_cache_drops_total!).toBeGreaterThan(dropped);
    const after = await recordStatements(a, async () => expect((await onA.page('forged')).nodes).toEqual([]));
    expect(after).toHaveLength(2);
    expect(catalogReads(after)).toBe(1);
    expect(await recordStatements(a, () => onA.page('forged'))).toHaveLength(1);
  });

  it('a session that LISTENs learns that metadata changed, never which project, table or key', async () => {
    const channels = await platformChannels();
    const payloads = await notificationsOn(channels.metadata, channels.metadataAck);
    await onA.createTable({ name: 'watched', columns: [{ name: 'a', type: 'TEXT' }] });
    const { createApiKey } = await a.ok(CREATE_KEY, { p: project.id });
    await a.ok(REVOKE_KEY, { id: createApiKey.apiKey.id });
    await payloads.first(2, 'two notifications on the metadata channel', (p) => p.startsWith(`${channels.metadata} `));
    for (const payload of payloads.items) {
      expect(payload).toMatch(/^(paige_metadata_[0-9a-f]{16} [A-Za-z0-9_-]{16}#[0-9a-f]{12}|paige_metadata_ack_[0-9a-f]{16} paige-db-listener-\S+ [A-Za-z0-9_-]{16}#[0-9a-f]{12})$/);
      for (const secret of [project.id, project.schema, 'watched', createApiKey.apiKey.id]) expect(payload).not.toContain(secret);
    }
  });
});

describe("with B's listener down", () => {
  it('B bypasses the cache while it cannot hear changes, and starts afresh when it can again', async () => {
    await onA.createTable({ name: 'outage', columns: [{ name: 'a', type: 'TEXT' }] });
    await onB.page('outage');
    expect(await recordStatements(b, () => onB.page('outage'))).toHaveLength(1);
    const { createApiKey } = await a.ok(CREATE_KEY, { p: project.id });
    await b.ok(PROJECT, { p: project.id }, createApiKey.token);

    // B's listening connection is cut, and kept from reconnecting while the test needs it down.
    const reports = listenerReports(b);
    const down = wireOf(b).refuse(listenerOf(b));
    try {
      await reports.until("B's listener to notice", (seen) => (seen.includes(false) ? true : undefined));
      expect(metadataOf(b).trusted).toBe(false);

      // Every lookup goes to Postgres: the key, the project, the catalog, then the page.
      const read = await recordStatements(b, () => onB.page('outage'));
      expect(read).toHaveLength(4);
      await a.ok(ADD_COLUMN, { p: project.id, t: 'outage', c: { name: 'b', type: 'INTEGER' } }, project.token);
      expect((await onB.insert('outage', [{ a: 'x', b: 1 }])).data!.insertRows).toEqual([{ id: '1', a: 'x', b: 1 }]);
      await a.ok(REVOKE_KEY, { id: createApiKey.apiKey.id });
      expectError(await b.gql(PROJECT, { p: project.id }, createApiKey.token), 'UNAUTHENTICATED', 'invalid or revoked token');
      expect(metadataOf(b).trusted).toBe(false);
    } finally {
      down.release();
    }
    await reports.until("B's listener to reconnect", (seen) => (seen.at(-1) === true ? true : undefined), 15_000);
    expect(metadataOf(b).trusted).toBe(true);
    // Reconnected: everything was forgotten (notifications sent meanwhile reached nobody).
    const first = await recordStatements(b, async () => expect((await onB.page('outage')).nodes).toEqual([{ id: '1', a: 'x', b: 1 }]));
    expect(first).toHaveLength(4);
    expect(await recordStatements(b, () => onB.page('outage'))).toHaveLength(1);
  }, 30_000);
});

/** The channels of this database, as the platform (and only it) can name them. */
async function platformChannels(): Promise<NotifyChannels> {
  return readNotifyChannels(await superuserClient(database));
}

/** The notifications on `channels` ("<channel> <payload>") that a superuser session hears from now on. */
async function notificationsOn(...channels: string[]): Promise<Arrivals<string>> {
  const listener = await superuserClient(database);
  const heard = new Arrivals<string>();
  listener.on('notification', (message) => heard.push(`${message.channel} ${message.payload}`));
  for (const channel of channels) await listener.query(`LISTEN ${channel}`);
  return heard;
}
