import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { leftover } from './support/leftovers.js';
import { recordStatements } from './support/rows.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { loginRoleClient } from './support/postgres.js';
import { ROW_CHANGES, subscribe, subscribeErrors, type Collected } from './support/subscriptions.js';
import { seededRandom } from './support/random.js';

/**
 * Table.rows { changesCursor } (issue 15 point 6): a page and `rowChanges(since: changesCursor)`
 * together are exact. Every change the page does not show comes, none it shows comes again,
 * whatever commits between the query and the subscription and in whatever order Postgres makes
 * transactions visible. In the embedded run this is logical capture (the log filled from the
 * WAL a moment after each commit); on the machine's Postgres, the trigger fallback.
 */
let t: TestServer;
let project: TestProjectHandle;
let writer: pg.Client;

const PAGE = /* GraphQL */ `query ($p: ID!, $t: String!, $where: JSON, $first: Int) {
  project(id: $p) { table(name: $t) { rows(where: $where, first: $first) { nodes changesCursor } } } }`;
const PAGE_BY_FRAGMENT = /* GraphQL */ `query ($p: ID!, $t: String!) {
  project(id: $p) { table(name: $t) { rows { ...Snapshot } } } }
  fragment Snapshot on RowConnection { nodes changesCursor }`;
const CREATE_TABLE = /* GraphQL */ `mutation ($p: ID!, $input: CreateTableInput!) { createTable(projectId: $p, input: $input) { name } }`;

type Row = { id: string; n: number; tag: string };
type Change = { op: string; row: Row | null; oldRow: Row | null; cursor: string };

beforeAll(async () => {
  t = await startTestServer({}, {}, { wireProxy: true });
  project = await createTestProject(t);
  // Writes from outside the API, as the project's own raw SQL role (so the test controls transactions).
  writer = await loginRoleClient(project.id);
});

async function table(name: string): Promise<string> {
  await t.ok(CREATE_TABLE, { p: project.id, input: { name, columns: [{ name: 'n', type: 'INTEGER' }, { name: 'tag', type: 'TEXT' }] } }, project.token);
  return name;
}

async function page(name: string, where?: unknown): Promise<{ nodes: Row[]; changesCursor: string }> {
  return (await t.ok(PAGE, { p: project.id, t: name, where, first: 1000 }, project.token)).project.table.rows;
}

const changesOf = (collected: Collected): Change[] => collected.payloads.map((payload) => payload.data.rowChanges);

/** Waits until the change that inserted the row tagged `tag` has come, and returns every change so far. */
async function through(collected: Collected, tag: string): Promise<Change[]> {
  for (;;) {
    const changes = changesOf(collected);
    if (changes.some((change) => change.op === 'INSERT' && change.row?.tag === tag)) return changes;
    await collected.waitFor(collected.payloads.length + 1, 15_000);
  }
}

describe('Table.rows changesCursor', () => {
  it('is read by the page\'s one statement, through fragments too', async () => {
    const name = await table('one_statement');
    const statements = await recordStatements(t, () => page(name));
    expect(statements.filter((s) => s.includes('pg_current_snapshot()'))).toHaveLength(1);
    expect(statements.filter((s) => /^\s*SELECT/i.test(s) && s.includes('one_statement'))).toHaveLength(1);
    const { nodes, changesCursor } = (await t.ok(PAGE_BY_FRAGMENT, { p: project.id, t: name }, project.token)).project.table.rows;
    expect(nodes).toEqual([]);
    expect(changesCursor).toMatch(/^\d+@\d+:\d+:[\d,]*$/);
  });

  it('delivers what committed after the page and what was in progress during it, not what the page shows', async () => {
    const name = await table('in_progress');
    await writer.query(`INSERT INTO in_progress (n, tag) VALUES (1, 'before')`);
    // A transaction open while the page is read: its row is not in the page, and commits after it.
    const open = await loginRoleClient(project.id);
    await open.query('BEGIN');
    await open.query(`INSERT INTO in_progress (n, tag) VALUES (2, 'open')`);
    const { nodes, changesCursor } = await page(name);
    expect(nodes.map((row) => row.tag)).toEqual(['before']);
    await open.query('COMMIT');
    await writer.query(`INSERT INTO in_progress (n, tag) VALUES (3, 'after')`);

    const changes = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: name, since: changesCursor });
    await writer.query(`INSERT INTO in_progress (n, tag) VALUES (4, 'live')`);
    expect((await through(changes, 'live')).map((change) => change.row?.tag)).toEqual(['open', 'after', 'live']);
  });

  it('works with a filter whose page is empty', async () => {
    const name = await table('empty_page');
    const { nodes, changesCursor } = await page(name, { tag: { _eq: 'wanted' } });
    expect(nodes).toEqual([]);
    await writer.query(`INSERT INTO empty_page (n, tag) VALUES (1, 'wanted')`);
    const changes = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: name, where: { tag: { _eq: 'wanted' } }, since: changesCursor });
    expect((await through(changes, 'wanted')).map((change) => change.op)).toEqual(['INSERT']);
  });

  it('with writers racing the queries, every page plus its changes is the table, each change once', { timeout: 120_000 }, async () => {
    const name = await table('racing');
    const ids = 40;
    await writer.query(`INSERT INTO racing (n, tag) SELECT i, 'seed' FROM generate_series(1, ${ids}) i`);
    let writing = true;
    // Several sessions, so that transactions commit (and become visible) concurrently.
    const sessions = await Promise.all(Array.from({ length: 4 }, () => loginRoleClient(project.id)));
    const seed = Date.now();
    const random = seededRandom(seed);
    const randomInt = random.int;
    const writers = sessions.map(async (session, w) => {
      for (let i = 0; writing; i++) {
        const id = 1 + randomInt(ids * 2);
        const roll = randomInt(3);
        if (roll === 0) await session.query(`INSERT INTO racing (n, tag) VALUES ($1, $2)`, [id, `w${w}-${i}`]);
        else if (roll === 1) await session.query(`UPDATE racing SET n = n + 1, tag = $2 WHERE id = (SELECT id FROM racing WHERE id >= $1 ORDER BY id LIMIT 1)`, [id, `w${w}-${i}`]);
        else await session.query(`DELETE FROM racing WHERE id = (SELECT id FROM racing WHERE id >= $1 ORDER BY id LIMIT 1)`, [id]);
      }
    });
    const subscribers: { snapshot: Row[]; changes: Collected }[] = [];
    for (let round = 0; round < 12; round++) {
      const { nodes, changesCursor } = await page(name);
      subscribers.push({ snapshot: nodes, changes: await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: name, since: changesCursor }) });
    }
    writing = false;
    await Promise.all(writers);
    await writer.query(`INSERT INTO racing (n, tag) VALUES (0, 'end')`);
    const final = (await writer.query<Row>(`SELECT id::text AS id, n, tag FROM racing ORDER BY racing.id`)).rows;

    for (const [i, { snapshot, changes }] of subscribers.entries()) {
      const rows = new Map(snapshot.map((row) => [String(row.id), row]));
      for (const change of await through(changes, 'end')) {
        const id = String((change.row ?? change.oldRow)!.id);
        // A change the page already showed would insert a row it has, or find an old row it does not.
        if (change.op === 'INSERT') expect(rows.has(id), `subscriber ${i}: INSERT of row ${id}, already in the page`).toBe(false);
        else expect(rows.get(id), `subscriber ${i}: ${change.op} of row ${id}, as the page and earlier changes have it`).toEqual(change.oldRow);
        if (change.op === 'DELETE') rows.delete(id);
        else rows.set(id, change.row!);
      }
      expect([...rows.values()].sort((a, b) => Number(a.id) - Number(b.id)), `subscriber ${i}: its page plus its changes (seed ${seed})`).toEqual(final);
    }
  });

  it('a cursor that is not one is BAD_USER_INPUT naming since; one older than the retention is CURSOR_EXPIRED', async () => {
    const name = await table('old_cursor');
    const refused = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: name, since: '5@10:3:' });
    expect(subscribeErrors(refused)).toMatchObject([
      { message: 'since: "5@10:3:" is not a cursor of a row change nor a changesCursor of Table.rows', extensions: { code: 'BAD_USER_INPUT', field: 'since' } },
    ]);

    const { changesCursor } = await page(name);
    await writer.query(`INSERT INTO old_cursor (n, tag) VALUES (1, 'pruned')`);
    // Written to the log (from the WAL, a moment after its commit) before it is pruned.
    const seen = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: name, since: changesCursor });
    await through(seen, 'pruned');
    await t.server.services.changes.prune(new Date(Date.now() + 365 * 86_400_000));
    const expired = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: name, since: changesCursor });
    await expired.ended();
    expect(subscribeErrors(expired)).toMatchObject([{ message: expect.stringMatching(/^since: the changes after this changesCursor are older than the retention and were pruned/), extensions: { code: 'CURSOR_EXPIRED' } }]);
  });
});

describe('the page snapshot through the public API only', () => {
  it('a rows query without changesCursor reads no snapshot', async () => {
    const name = await table('no_snapshot');
    const statements = await recordStatements(t, () => t.ok(`query ($p: ID!) { project(id: $p) { table(name: "no_snapshot") { rows { nodes } } } }`, { p: project.id }, project.token));
    expect(statements.some((s) => s.includes('pg_current_snapshot()'))).toBe(false);
    expect(name).toBe('no_snapshot');
  });

  it('another project cannot subscribe with a page cursor to a table it cannot see: NOT_FOUND', async () => {
    const name = await table('private_rows');
    const { changesCursor } = await page(name);
    const other = await createTestProject(t);
    leftover(() => other.remove());
    const refused = await subscribe(t, other.token, ROW_CHANGES, { p: project.id, t: name, since: changesCursor });
    expect(subscribeErrors(refused)).toMatchObject([{ message: `project "${project.id}" not found`, extensions: { code: 'NOT_FOUND' } }]);
  });
});
