import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { superuserClient } from './support/postgres.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { rowApi } from './support/rows.js';
import { collect, ROW_CHANGES, subscribe, TABLE_CHANGES, waitForSubscribers, wsClient, type Collected } from './support/subscriptions.js';

/**
 * Each captured table has its own trigger function whose statements are generated once from the
 * table's columns (migration 003). These tests change the structure through the API and check
 * that the very next events carry the new columns, written from ONE long-lived session that
 * already ran the old function (its plans must not survive the change), and that functions go
 * with their table and their project.
 */
let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;
/** One superuser session for every write: the function compiled in it before each change. */
let writer: pg.Client;

beforeAll(async () => {
  t = await startTestServer();
  project = await createTestProject(t);
  api = rowApi(t, project);
  writer = await superuserClient();
  await api.createTable({ name: 'items', columns: [{ name: 'label', type: 'TEXT' }, { name: 'qty', type: 'INTEGER' }] });
});

const subscribeToTable = (table: string) => subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: table });

const ddl = (query: string) => t.ok(query, { p: project.id }, project.token);
const change = (sub: Collected, index: number) => {
  const payload = sub.payloads[index]!;
  expect(payload.errors).toBeUndefined();
  return payload.data.rowChanges;
};
const captureFunctions = async (schema: string) =>
  (await writer.query<{ name: string }>(`SELECT function_name AS name FROM paige.capture_functions WHERE schema_name = $1 ORDER BY 1`, [schema])).rows.map((r) => r.name);
const functionExists = async (name: string) =>
  (await writer.query(`SELECT 1 FROM pg_proc WHERE pronamespace = 'paige'::regnamespace AND proname = $1`, [name])).rowCount === 1;

describe('capture follows structural changes', () => {
  it('carries added, renamed and dropped columns in the next event, encoded as Table.rows encodes them', async () => {
    const sub = await subscribeToTable('items');
    const table = `"${project.schema}".items`;
    await writer.query(`INSERT INTO ${table} (label, qty) VALUES ('before', 1)`);
    await sub.waitFor(1);
    expect(change(sub, 0).row).toMatchObject({ label: 'before', qty: 1 });

    await ddl(`mutation ($p: ID!) { addColumn(projectId: $p, table: "items", column: { name: "price", type: NUMERIC }) { name } }`);
    await writer.query(`INSERT INTO ${table} (label, qty, price) VALUES ('added', 2, 12345678901234567890.125)`);
    await sub.waitFor(2);
    const [added] = (await api.page('items', { where: { label: { _eq: 'added' } } })).nodes;
    expect(change(sub, 1).row).toEqual(added);
    expect(change(sub, 1).row.price).toBe('12345678901234567890.125');

    await ddl(`mutation ($p: ID!) { renameColumn(projectId: $p, table: "items", name: "qty", newName: "amount") { name } }`);
    await writer.query(`UPDATE ${table} SET amount = 3 WHERE label = 'added'`);
    await sub.waitFor(3);
    const [renamed] = (await api.page('items', { where: { label: { _eq: 'added' } } })).nodes;
    expect(change(sub, 2)).toMatchObject({ op: 'UPDATE', changedColumns: ['amount'], row: renamed, oldRow: { label: 'added', amount: 2 } });
    expect(change(sub, 2).row).not.toHaveProperty('qty');

    await ddl(`mutation ($p: ID!) { dropColumn(projectId: $p, table: "items", name: "price") }`);
    await writer.query(`DELETE FROM ${table} WHERE label = 'added'`);
    await sub.waitFor(4);
    expect(change(sub, 3)).toMatchObject({ op: 'DELETE', row: null });
    expect(Object.keys(change(sub, 3).oldRow).sort()).toEqual(['amount', 'id', 'label']);
  });

  it('names the table by its new name after renameTable, and drops its function with dropTable', async () => {
    const triggers = t.server.services.capture.mode === 'triggers';
    const before = await captureFunctions(project.schema);
    await ddl(`mutation ($p: ID!) { renameTable(projectId: $p, name: "items", newName: "goods") { name } }`);
    const sub = await subscribeToTable('goods');
    await writer.query(`INSERT INTO "${project.schema}".goods (label) VALUES ('renamed')`);
    await sub.waitFor(1);
    expect(change(sub, 0)).toMatchObject({ table: 'goods', op: 'INSERT', row: { label: 'renamed' } });
    // The function is named by the table's oid: a rename keeps it.
    expect(await captureFunctions(project.schema)).toEqual(before);

    const { rows } = await writer.query<{ name: string }>(
      `SELECT DISTINCT p.proname AS name FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid WHERE g.tgrelid = $1::regclass AND g.tgname LIKE 'paige_capture_%'`,
      [`"${project.schema}".goods`],
    );
    // Capture from the WAL has no trigger and no function at all.
    expect(rows).toHaveLength(triggers ? 1 : 0);
    if (!triggers) return expect(before).toEqual([]);
    const goodsFunction = rows[0]!.name;
    expect(before).toContain(goodsFunction);
    await ddl(`mutation ($p: ID!) { dropTable(projectId: $p, name: "goods") }`);
    expect(await captureFunctions(project.schema)).toEqual(before.filter((name) => name !== goodsFunction));
    expect(await functionExists(goodsFunction)).toBe(false);
  });

  it('drops every capture function of a deleted project, and its schema from the publication', async () => {
    const triggers = t.server.services.capture.mode === 'triggers';
    const other = await createTestProject(t);
    await t.ok(`mutation ($p: ID!) { createTable(projectId: $p, input: { name: "doomed", columns: [{ name: "v", type: TEXT }] }) { name } }`, { p: other.id }, other.token);
    const functions = await captureFunctions(other.schema);
    // One function for each of the three system tables and "doomed", each the one its triggers call.
    const { rows: called } = await writer.query<{ name: string }>(
      `SELECT DISTINCT p.proname AS name FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid JOIN pg_class c ON c.oid = g.tgrelid
        WHERE c.relnamespace = $1::regnamespace AND g.tgname LIKE 'paige_capture_%'`,
      [other.schema],
    );
    expect(functions).toHaveLength(triggers ? 4 : 0);
    expect([...functions].sort()).toEqual(called.map((row) => row.name).sort());
    const published = async () =>
      (await writer.query(`SELECT 1 FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE n.nspname = $1`, [other.schema])).rowCount;
    // Every project schema is in the publication in either mode, so a switch of mode needs no backfill.
    expect(await published()).toBe(t.server.services.capture.mode === 'logical' || (await publicationExists()) ? 1 : 0);
    await other.remove();
    expect(await captureFunctions(other.schema)).toEqual([]);
    for (const name of functions) expect(await functionExists(name), name).toBe(false);
    expect(await published()).toBe(0);
  });
});

const publicationExists = async () => ((await writer.query(`SELECT 1 FROM pg_publication WHERE pubname = 'paige_changes'`)).rowCount ?? 0) > 0;

describe('structural changes made outside the API (an operator\'s psql as superuser)', () => {
  it('refresh the capture, announce ALTERED and reach the metadata cache at once', async () => {
    await api.createTable({ name: 'manual', columns: [{ name: 'label', type: 'TEXT' }] });
    const table = `"${project.schema}".manual`;
    const client = wsClient(t, project.token);
    const before = t.server.services.changes.subscriberCount;
    const tables = collect(client, TABLE_CHANGES, { p: project.id });
    const rows = collect(client, ROW_CHANGES, { p: project.id, t: 'manual' });
    await waitForSubscribers(t, before + 2);
    const columns = async () =>
      ((await ddl(`query ($p: ID!) { project(id: $p) { table(name: "manual") { columns { name } } } }`)) as any).project.table.columns.map((c: { name: string }) => c.name);
    expect(await columns()).toEqual(['id', 'label']); // now in this process's metadata cache

    await writer.query(`INSERT INTO ${table} (label) VALUES ('before')`);
    await writer.query(`ALTER TABLE ${table} ADD COLUMN note text, ADD COLUMN price numeric`);
    await writer.query(`INSERT INTO ${table} (label, note, price) VALUES ('added', 'by hand', 12345678901234567890.5)`);
    await tables.waitFor(1);
    expect(tables.payloads[0]!.data.tableChanges).toMatchObject({ projectId: project.id, table: 'manual', kind: 'ALTERED', newName: null });
    expect(await columns()).toEqual(['id', 'label', 'note', 'price']);

    // A dropped column must not break writes: the capture no longer reads it.
    await writer.query(`ALTER TABLE ${table} DROP COLUMN note`);
    await writer.query(`INSERT INTO ${table} (label, price) VALUES ('dropped', 1)`);
    await rows.waitFor(3);
    expect(rows.payloads.map((p) => p.data.rowChanges.row)).toEqual([
      { id: '1', label: 'before' },
      { id: '2', label: 'added', note: 'by hand', price: '12345678901234567890.5' },
      { id: '3', label: 'dropped', price: '1' },
    ]);
    await tables.waitFor(2);
    expect(await columns()).toEqual(['id', 'label', 'price']);

    // Renaming a column or changing its type (reported to the event trigger as a 'table column')
    // must not break writes either, and the next event carries the new name and encoding.
    await writer.query(`ALTER TABLE ${table} RENAME COLUMN label TO title`);
    await writer.query(`ALTER TABLE ${table} ALTER COLUMN price TYPE text USING price::text`);
    await writer.query(`INSERT INTO ${table} (title, price) VALUES ('renamed', 'about 12')`);
    await rows.waitFor(4);
    expect(rows.payloads[3]!.data.rowChanges.row).toEqual({ id: '4', title: 'renamed', price: 'about 12' });
    await tables.waitFor(4);
    expect(await columns()).toEqual(['id', 'title', 'price']);
  });
});
