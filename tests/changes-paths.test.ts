import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type pg from 'pg';
import { createDbServices } from '../src/dbservices/index.js';
import { superuserClient } from './support/postgres.js';
import { readNotifyChannels } from '../src/db/notify-channels.js';
import { Arrivals } from './support/arrivals.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { rowApi } from './support/rows.js';
import { ROW_CHANGES, subscribe } from './support/subscriptions.js';

/** Every write path reaches a subscriber, and the log itself is out of every project's reach. */
let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;

beforeAll(async () => {
  t = await startTestServer();
  project = await createTestProject(t);
  api = rowApi(t, project);
  await api.createTable({ name: 'orders', columns: [{ name: 'sku', type: 'TEXT', unique: true }, { name: 'qty', type: 'INTEGER' }] });
});

const subscribeToTable = (table: string, variables: Record<string, unknown> = {}) => subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: table, ...variables });

const sqlAsLogin = (text: string) => t.gql(`mutation ($p: ID!, $text: String!) { sql(projectId: $p, text: $text) { rowCount } }`, { p: project.id, text }, project.token);

describe('write paths', () => {
  it('delivers writes made through dbServices in another process-like client (in-process transport)', async () => {
    const sub = await subscribeToTable('orders', { where: { sku: { _eq: 'from-bot' } } });
    const db = createDbServices({ projectId: project.id, databaseUrl: inject('databaseUrl') });
    try {
      await db.rows.insert('orders', { sku: 'from-bot', qty: 1 });
    } finally {
      await db.close();
    }
    const [payload] = await sub.waitFor(1);
    expect(payload!.data.rowChanges).toMatchObject({ op: 'INSERT', row: { sku: 'from-bot', qty: 1 } });
  });

  it('delivers an upsert as an INSERT for new rows and an UPDATE for existing ones', async () => {
    const sub = await subscribeToTable('orders', { where: { sku: { _like: 'up-%' } } });
    await api.insert('orders', [{ sku: 'up-a', qty: 1 }]);
    const upserted = await api.upsert('orders', [{ sku: 'up-a', qty: 2 }, { sku: 'up-b', qty: 3 }], ['sku']);
    expect(upserted.errors).toBeUndefined();
    await sub.waitFor(3);
    const [first, ...rest] = sub.payloads.map((p) => p.data.rowChanges);
    expect(first).toMatchObject({ op: 'INSERT', row: { sku: 'up-a', qty: 1 } });
    // Both statements of one transaction: the order within it is Postgres's trigger order.
    expect(rest.map((c) => [c.op, c.row.sku, c.row.qty, c.oldRow?.qty ?? null, c.changedColumns]).sort()).toEqual([
      ['INSERT', 'up-b', 3, null, null],
      ['UPDATE', 'up-a', 2, 1, ['qty']],
    ]);
  });

  it('delivers clearTable as one CLEAR, however many rows it removed', async () => {
    await api.createTable({ name: 'scratch', columns: [{ name: 'n', type: 'INTEGER' }] });
    await api.insert('scratch', Array.from({ length: 50 }, (_, n) => ({ n })));
    const sub = await subscribeToTable('scratch');
    const cleared = await t.ok(`mutation ($p: ID!) { clearTable(projectId: $p, name: "scratch") }`, { p: project.id }, project.token);
    expect(cleared.clearTable).toBe(50);
    await api.insert('scratch', [{ n: 1 }]);
    await sub.waitFor(2);
    expect(sub.payloads.map((p) => p.data.rowChanges.op)).toEqual(['CLEAR', 'INSERT']);
  });

  it('captures the system tables too (contacts through upsertContact)', async () => {
    const sub = await subscribeToTable('contacts');
    await t.ok(`mutation ($p: ID!) { upsertContact(projectId: $p, input: { phone: "+14155550100", name: "Ada" }) { id } }`, { p: project.id }, project.token);
    const [payload] = await sub.waitFor(1);
    expect(payload!.data.rowChanges).toMatchObject({ table: 'contacts', op: 'INSERT', row: { phone: '+14155550100', name: 'Ada' } });
    expect(typeof payload!.data.rowChanges.row.id).toBe('string'); // bigint identity, as a string
  });
});

describe('the wake-up', () => {
  it('is one NOTIFY per transaction, carrying no data, sent only when the transaction commits (trigger capture)', async () => {
    if (t.server.services.capture.mode !== 'triggers') return;
    const listener = await superuserClient();
    const writer = await superuserClient();
    const pid = (await writer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const heard: pg.Notification[] = [];
    // Other test files write to the same database: keep only this writer's notifications.
    listener.on('notification', (n) => n.processId === pid && heard.push(n));
    const { changes: channel } = await readNotifyChannels(listener);
    await listener.query(`LISTEN ${channel}`);
    const schema = `"${project.schema}"`;
    await writer.query('BEGIN');
    await writer.query(`INSERT INTO ${schema}.orders (sku, qty) SELECT 'tx-' || g, g FROM generate_series(1, 3) g`);
    await writer.query(`UPDATE ${schema}.orders SET qty = qty + 1 WHERE sku LIKE 'tx-%'`);
    await writer.query(`INSERT INTO ${schema}.contacts (phone) VALUES ('+14155550199')`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heard).toHaveLength(0);
    await writer.query('COMMIT');
    await writer.query('BEGIN');
    await writer.query(`INSERT INTO ${schema}.orders (sku, qty) VALUES ('rolled-back', 1)`);
    await writer.query('ROLLBACK');
    await writer.query(`UPDATE ${schema}.orders SET qty = 0 WHERE false`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard.map((n) => [n.channel, n.payload])).toEqual([[channel, '']]);
  });

  it("comes from the capture leader alone, never from a writer's transaction (capture from the WAL)", async () => {
    if (t.server.services.capture.mode !== 'logical') return;
    const listener = await superuserClient();
    const writer = await superuserClient();
    const pid = (await writer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const heard = new Arrivals<pg.Notification>();
    listener.on('notification', (n) => heard.push(n));
    const { changes: channel } = await readNotifyChannels(listener);
    await listener.query(`LISTEN ${channel}`);
    const leaders = async () =>
      (await listener.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'paige-db-capture'`)).rows.map((row) => row.pid as number);
    const sub = await subscribeToTable('orders', { where: { sku: { _like: 'wal-%' } } });
    const schema = `"${project.schema}"`;
    await writer.query('BEGIN');
    await writer.query(`INSERT INTO ${schema}.orders (sku, qty) SELECT 'wal-' || g, g FROM generate_series(1, 3) g`);
    await writer.query(`UPDATE ${schema}.orders SET qty = qty + 1 WHERE sku LIKE 'wal-%'`);
    await writer.query('COMMIT');
    // The subscriber has the changes: the append that brought them sent its NOTIFY before.
    await sub.waitFor(6);
    const appenders = await leaders();
    await heard.until('a NOTIFY from the capture leader', (items) => (items.some((n) => appenders.includes(n.processId)) ? true : undefined));
    expect(heard.items.filter((n) => n.processId === pid)).toEqual([]);
    expect(new Set(heard.items.filter((n) => appenders.includes(n.processId)).map((n) => n.payload))).toEqual(new Set(['']));
  });
});

describe('the change log is the platform’s', () => {
  it('cannot be read, written or forged by the project login role', async () => {
    for (const text of [
      'SELECT * FROM paige.change_log',
      `INSERT INTO paige.change_log (schema_name, table_name, op) VALUES ('x', 'y', 'INSERT')`,
      `SELECT paige.record_table_change('x', 'y', 'CREATED', NULL)`,
      ...(t.server.services.capture.mode === 'triggers' ? ['DROP TRIGGER paige_capture_insert ON orders'] : []),
      'ALTER TABLE orders DISABLE TRIGGER ALL',
      // What capture from the WAL rests on: the old row in the WAL, the publication, the slot.
      'ALTER TABLE orders REPLICA IDENTITY DEFAULT',
      'ALTER PUBLICATION paige_changes DROP TABLES IN SCHEMA public',
      `SELECT pg_create_logical_replication_slot('tenant', 'pgoutput')`,
      `SELECT pg_logical_emit_message(true, 'paige.actor', '{"kind":"ADMIN"}')`,
    ]) {
      const result = await sqlAsLogin(text);
      expect(result.errors?.[0]?.extensions?.code, text).toBe('FORBIDDEN');
    }
  });

  it('still captures after those attempts (the triggers, or the publication and the slot, are intact)', async () => {
    const sub = await subscribeToTable('orders', { where: { sku: { _eq: 'still-captured' } } });
    expect((await sqlAsLogin(`INSERT INTO orders (sku, qty) VALUES ('still-captured', 1)`)).errors).toBeUndefined();
    await sub.waitFor(1);
  });
});
