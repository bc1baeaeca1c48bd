import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createEmptyDatabase, superuserClient } from './support/postgres.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { rowApi } from './support/rows.js';
import { ROW_CHANGES, subscribe, subscribeErrors, type Collected } from './support/subscriptions.js';

let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;
/** A superuser session, as an operator's psql. */
let psql: pg.Client;

/** This file's own database: with WAL capture its server is the capture leader, so delivery times are its own, not those of whichever test file's process leads the shared database. */
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createEmptyDatabase();
  t = await startTestServer({ DATABASE_URL: databaseUrl });
  project = await createTestProject(t);
  api = rowApi(t, project);
  psql = await superuserClient(databaseUrl);
  await api.createTable({
    name: 'bookings',
    columns: [
      { name: 'guest', type: 'TEXT' },
      { name: 'status', type: 'TEXT' },
      { name: 'big', type: 'BIGINT' },
      { name: 'price', type: 'NUMERIC' },
      { name: 'day', type: 'DATE' },
      { name: 'starts', type: 'TIMESTAMPTZ' },
      { name: 'ref', type: 'UUID' },
      { name: 'extra', type: 'JSONB' },
      { name: 'seats', type: 'INTEGER' },
      { name: 'paid', type: 'BOOLEAN' },
    ],
  });
});

/** A subscriber to the bookings on its own socket, registered in the hub (or refused) before this resolves. */
const subscribeToBookings = (variables: Record<string, unknown>, token = project.token) => subscribe(t, token, ROW_CHANGES, { p: project.id, t: 'bookings', ...variables });

const changes = (sub: Collected) => sub.payloads.map((payload) => {
  expect(payload.errors).toBeUndefined();
  return payload.data.rowChanges;
});

const table = () => `"${project.schema}".bookings`;

describe('rowChanges', () => {
  it('delivers an insert by another client within 1 s, encoded exactly as Table.rows encodes it', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _eq: 'lossless' } } });
    const row = {
      guest: 'lossless',
      big: '9007199254740993',
      price: '12345678901234567890.123456789',
      day: '2024-02-29',
      starts: '2024-05-01T12:30:00.123456Z',
      ref: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
      extra: { nested: [1, 'two', { three: true }] },
      seats: 3,
      paid: true,
    };
    const sentAt = Date.now();
    const inserted = await api.insert('bookings', [row]);
    expect(inserted.errors).toBeUndefined();
    const [payload] = await sub.waitFor(1, 1_000);
    expect(Date.now() - sentAt).toBeLessThan(1_000);
    const change = payload!.data.rowChanges;
    const page = await api.page('bookings', { where: { guest: { _eq: 'lossless' } } });
    expect(change).toMatchObject({ projectId: project.id, table: 'bookings', op: 'INSERT', oldRow: null, changedColumns: null });
    expect(change.row).toEqual(page.nodes[0]);
    expect(change.row).toMatchObject(row);
    expect(change.cursor).toMatch(/^\d+\.\d+$/);
    expect(Date.parse(change.at)).toBeGreaterThan(sentAt - 60_000);
  });

  it('keeps timestamps in UTC with microseconds whatever the writing session TimeZone is', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _eq: 'tz' } } });
    await psql.query(`SET TimeZone = 'Asia/Kolkata'`);
    await psql.query(`INSERT INTO ${table()} (guest, starts) VALUES ('tz', '2024-05-01 18:00:00.000001+05:30')`);
    await psql.query(`RESET TimeZone`);
    const [payload] = await sub.waitFor(1);
    expect(payload!.data.rowChanges.row.starts).toBe('2024-05-01T12:30:00.000001Z');
  });

  it('delivers update, delete and clear with the right fields', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _like: 'udc%' } } });
    const [{ id }] = (await api.insert('bookings', [{ guest: 'udc', status: 'open', seats: 1 }])).data.insertRows;
    await api.update('bookings', { id: { _eq: id } }, { status: 'closed', seats: 2 });
    await api.remove('bookings', { id: { _eq: id } });
    await psql.query(`TRUNCATE ${table()}`);
    await sub.waitFor(4);
    const [insert, update, remove, clear] = changes(sub);
    expect(insert.op).toBe('INSERT');
    expect(update).toMatchObject({
      op: 'UPDATE',
      changedColumns: ['status', 'seats'],
      oldRow: { id, guest: 'udc', status: 'open', seats: 1 },
      row: { id, guest: 'udc', status: 'closed', seats: 2 },
    });
    expect(remove).toMatchObject({ op: 'DELETE', row: null, changedColumns: null, oldRow: { id, status: 'closed' } });
    expect(clear).toMatchObject({ op: 'CLEAR', table: 'bookings', row: null, oldRow: null, changedColumns: null });
    expect(new Set(changes(sub).map((c) => c.cursor)).size).toBe(4);
  });

  it('pairs old and new rows when the update changes the key itself', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _eq: 'rekey' } } });
    await psql.query(`INSERT INTO ${table()} (id, guest, seats) VALUES (900001, 'rekey', 1), (900002, 'rekey', 2)`);
    await psql.query(`UPDATE ${table()} SET id = id + 10 WHERE guest = 'rekey'`);
    await sub.waitFor(4);
    const updates = changes(sub).filter((c) => c.op === 'UPDATE');
    expect(updates.map((u) => [u.oldRow.id, u.row.id, u.row.seats, u.oldRow.seats]).sort()).toEqual([
      ['900001', '900011', 1, 1],
      ['900002', '900012', 2, 2],
    ]);
    expect(updates.every((u) => u.changedColumns.join() === 'id')).toBe(true);
  });

  it('captures raw SQL as the project login role and a superuser session', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _in: ['raw-login', 'raw-superuser'] } } });
    const raw = await t.gql(`mutation ($p: ID!) { sql(projectId: $p, text: "INSERT INTO bookings (guest) VALUES ('raw-login')") { rowCount } }`, { p: project.id }, project.token);
    expect(raw.errors).toBeUndefined();
    await psql.query(`INSERT INTO ${table()} (guest) VALUES ('raw-superuser')`);
    await sub.waitFor(2);
    expect(changes(sub).map((c) => [c.op, c.row.guest])).toEqual([['INSERT', 'raw-login'], ['INSERT', 'raw-superuser']]);
  });

  it('delivers 10,000 rows inserted in one transaction, complete and in order', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _eq: 'bulk' } } });
    await psql.query(`INSERT INTO ${table()} (guest, seats) SELECT 'bulk', g FROM generate_series(1, 10000) g`);
    await sub.waitFor(10_000, 30_000);
    const all = changes(sub);
    expect(all).toHaveLength(10_000);
    expect(all.map((c) => c.row.seats)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect(new Set(all.map((c) => c.cursor)).size).toBe(10_000);
  }, 60_000);

  it('delivers a 100 KB jsonb row whole (the NOTIFY carries no data)', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _eq: 'big-json' } } });
    const extra = { blob: 'x'.repeat(100 * 1024), list: Array.from({ length: 500 }, (_, i) => i) };
    const inserted = await api.insert('bookings', [{ guest: 'big-json', extra }]);
    expect(inserted.errors).toBeUndefined();
    const [payload] = await sub.waitFor(1);
    expect(payload!.data.rowChanges.row.extra).toEqual(extra);
  });

  it('never delivers a rolled-back insert', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _in: ['rolled-back', 'committed'] } } });
    await psql.query('BEGIN');
    await psql.query(`INSERT INTO ${table()} (guest) VALUES ('rolled-back')`);
    await psql.query('ROLLBACK');
    await psql.query(`INSERT INTO ${table()} (guest) VALUES ('committed')`);
    await sub.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes(sub).map((c) => c.row.guest)).toEqual(['committed']);
  });

  it('delivers a transaction that took its log position first but committed last, after the earlier commit', async () => {
    const sub = await subscribeToBookings({ where: { guest: { _in: ['first-in', 'second-in'] } } });
    const a = await superuserClient(databaseUrl);
    const b = await superuserClient(databaseUrl);
    await a.query('BEGIN');
    await a.query(`INSERT INTO ${table()} (guest) VALUES ('first-in')`);
    await b.query('BEGIN');
    await b.query(`INSERT INTO ${table()} (guest) VALUES ('second-in')`);
    await b.query('COMMIT');
    // The reader has now moved past B's commit: a reader at "id > last" would skip A for good.
    await sub.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await a.query('COMMIT');
    await sub.waitFor(2);
    const [first, second] = changes(sub);
    expect([first.row.guest, second.row.guest]).toEqual(['second-in', 'first-in']);
    // A did take its id first: commit order, not id order, decided.
    expect(BigInt(second.row.id)).toBeLessThan(BigInt(first.row.id));
  });

  it('filters with the where language: a delete by its old row, an update when either row matches', async () => {
    const sub = await subscribeToBookings({ where: { _and: [{ guest: { _like: 'flt%' } }, { status: { _eq: 'open' } }] } });
    const rows = (await api.insert('bookings', [{ guest: 'flt1', status: 'open' }, { guest: 'flt2', status: 'closed' }])).data.insertRows;
    await api.update('bookings', { guest: { _eq: 'flt1' } }, { status: 'closed' }); // leaves the filter: sent
    await api.update('bookings', { guest: { _eq: 'flt2' } }, { seats: 5 }); // never matched: not sent
    await api.update('bookings', { guest: { _eq: 'flt2' } }, { status: 'open' }); // enters the filter: sent
    await api.remove('bookings', { guest: { _eq: 'flt2' } }); // old row matches: sent
    await api.remove('bookings', { guest: { _eq: 'flt1' } }); // old row closed: not sent
    await psql.query(`INSERT INTO ${table()} (guest, status) VALUES ('flt-end', 'open')`);
    await sub.waitFor(5);
    expect(changes(sub).map((c) => [c.op, (c.row ?? c.oldRow).guest])).toEqual([
      ['INSERT', 'flt1'],
      ['UPDATE', 'flt1'],
      ['UPDATE', 'flt2'],
      ['DELETE', 'flt2'],
      ['INSERT', 'flt-end'],
    ]);
    expect(rows).toHaveLength(2);
  });

  it('resumes with since: exactly the 500 changes made while disconnected, then live, no duplicate', async () => {
    const first = await subscribeToBookings({ where: { guest: { _like: 'resume%' } } });
    await api.insert('bookings', [{ guest: 'resume-0' }]);
    const [payload] = await first.waitFor(1);
    const cursor = payload!.data.rowChanges.cursor;
    first.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 1; i <= 500; i += 1) await psql.query(`INSERT INTO ${table()} (guest, seats) VALUES ('resume-' || $1, $1::int)`, [i]);
    const resumed = await subscribeToBookings({ where: { guest: { _like: 'resume%' } }, since: cursor });
    await resumed.waitFor(500);
    await api.insert('bookings', [{ guest: 'resume-live' }]);
    await resumed.waitFor(501);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const got = changes(resumed).map((c) => c.row.guest);
    expect(got).toEqual([...Array.from({ length: 500 }, (_, i) => `resume-${i + 1}`), 'resume-live']);
  });

  it('answers a malformed or never-issued cursor with BAD_USER_INPUT', async () => {
    const registered = t.server.services.changes.subscriberCount;
    const bad = await subscribeToBookings({ since: 'not-a-cursor' });
    await bad.ended();
    expect(subscribeErrors(bad)).toMatchObject([
      { message: 'since: "not-a-cursor" is not a cursor of a row change nor a changesCursor of Table.rows', extensions: { code: 'BAD_USER_INPUT', field: 'since' } },
    ]);
    const future = await subscribeToBookings({ since: '999999999999.1' });
    await future.ended();
    expect(subscribeErrors(future)).toMatchObject([
      { message: 'since: no change with this cursor was ever committed', extensions: { code: 'BAD_USER_INPUT', field: 'since' } },
    ]);
    // The failed subscriptions left nothing registered.
    expect(t.server.services.changes.subscriberCount).toBe(registered);
  });

  it("does not let project B's key subscribe to project A's table", async () => {
    const other = await createTestProject(t);
    const sub = await subscribeToBookings({}, other.token);
    await sub.ended();
    expect(subscribeErrors(sub)).toMatchObject([{ message: `project "${project.id}" not found`, extensions: { code: 'NOT_FOUND' } }]);
  });

  it('refuses a socket without a valid token', async () => {
    const sub = await subscribeToBookings({}, 'pdb_nope_nope');
    await sub.ended();
    expect((sub.error as { code?: number }).code).toBe(4403);
  });
});
