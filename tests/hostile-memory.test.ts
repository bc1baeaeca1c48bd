import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerInMode } from './support/capture-modes.js';
import { sqlAs } from './support/hostile.js';
import { acknowledgedSocket, type RawSocket } from './support/raw-socket.js';
import { expectError, rowApi } from './support/rows.js';
import { createTestProject, type TestProjectHandle, type TestServer } from './support/server.js';
import { subscribe, waitForSubscriberCount } from './support/subscriptions.js';
import { expectUnharmed, startVictim, type Victim } from './support/victim.js';

/**
 * Issue 14, point 5: memory without a bound. A tenant with one project key writes large rows
 * and replays them (`rowChanges(since:)`) many times at once, or reads them in one page: the
 * process's memory stays under the bounds README and SECURITY.md state, a replay whose client is
 * gone stops reading, and another project's subscriber keeps its latency. Sizes are modest (5 MB
 * rows) but each attack showed its failure before the bounds existed.
 */

const MB = 1024 * 1024;
/** The page byte cap of Table.rows (src/db/rows.ts). */
const PAGE_BYTES = 8 * MB;
/** What ten concurrent replays of 30 MB of events may add to the heap (stated in SECURITY.md). */
const REPLAY_HEAP_BOUND = 100 * MB;

const ROW_CHANGES_OMITTED = /* GraphQL */ `
subscription ($p: ID!, $t: String!, $where: JSON, $since: String) {
  rowChanges(projectId: $p, table: $t, where: $where, since: $since) { cursor op row oldRow omittedColumns }
}`;

const ROWS_LITERAL_FIRST = /* GraphQL */ `query ($p: ID!) { project(id: $p) { table(name: "blobs") { rows(first: 5000) { nodes } } } }`;
const ROWS_VARIABLE_FIRST = /* GraphQL */ `query ($p: ID!, $first: Int) { project(id: $p) { table(name: "blobs") { rows(first: $first) { nodes } } } }`;

/** A subscriber that reads nothing once subscribed (its socket paused): the server must not buffer for it. */
async function stalledReplay(t: TestServer, project: TestProjectHandle, table: string, since: string): Promise<RawSocket> {
  const raw = await acknowledgedSocket(t, project.token);
  raw.send({ id: 'r', type: 'subscribe', payload: { query: ROW_CHANGES_OMITTED, variables: { p: project.id, t: table, since } } });
  raw.socket.pause();
  return raw;
}

/** The highest heap use seen while `work` runs, above what it was before (sampled every 5 ms). */
async function heapGrowthDuring(work: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage().heapUsed) - before;
}

describe.each(['logical', 'triggers'] as const)('memory bounds, %s capture', (mode) => {
  let t: TestServer;
  let attacker: TestProjectHandle;
  let asAttacker: ReturnType<typeof sqlAs>;
  let api: ReturnType<typeof rowApi>;
  let victim: Victim;
  /** The victim's subscriber: the hub's count when no test subscription is left. */
  const IDLE = 1;

  beforeAll(async () => {
    ({ t } = await startServerInMode(mode));
    attacker = await createTestProject(t);
    asAttacker = sqlAs(t, attacker);
    api = rowApi(t, attacker);
    await api.createTable({ name: 'blobs', columns: [{ name: 'title', type: 'TEXT' }, { name: 'big', type: 'TEXT' }] });
    victim = await startVictim(t);
  });
  afterAll(() => t?.stop());

  it('first is at most 1000 rows, literal or variable: BAD_USER_INPUT naming the limit', async () => {
    // A literal over it is also over graphql-armor's cost (which multiplies by a literal first only);
    // a variable reaches the resolver, which holds it to the same 1000 rows (and the page to 8 MB).
    expect((await t.gql(ROWS_LITERAL_FIRST, { p: attacker.id }, attacker.token)).errors?.[0]?.message).toMatch(/^Syntax Error: Query Cost limit of 5000 exceeded/);
    const variable = await t.gql(ROWS_VARIABLE_FIRST, { p: attacker.id, first: 5000 }, attacker.token);
    expectError(variable, 'BAD_USER_INPUT', 'first: expected between 0 and 1000, got 5000');
    expect(variable.errors![0]!.extensions).toMatchObject({ field: 'first', limit: 1000 });
  });

  it('a page of rows stops before 8 MB and says so; the client pages on and gets every row', async () => {
    await api.createTable({ name: 'pages', columns: [{ name: 'v', type: 'TEXT' }] });
    await asAttacker.ok(`insert into pages (v) select repeat('x', 3000000) || n from generate_series(1, 6) n`);
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; ; pages++) {
      expect(pages, 'pages needed for 6 rows of 3 MB').toBeLessThan(6);
      const page = await api.page('pages', { first: 10, ...(after ? { after } : {}) });
      expect(page.nodes.length, 'rows in one page').toBeLessThanOrEqual(Math.floor(PAGE_BYTES / 3_000_000));
      seen.push(...page.nodes.map((node) => String(node.v).slice(3_000_000)));
      if (!page.pageInfo.hasNextPage) break;
      expect(page.pageInfo.endCursor).not.toBeNull();
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('a single row larger than the page cap is BAD_USER_INPUT naming the limit', async () => {
    await api.createTable({ name: 'huge', columns: [{ name: 'v', type: 'TEXT' }] });
    await asAttacker.ok(`insert into huge (v) values (repeat('x', 9000000))`);
    const result = await api.rows('huge');
    // Not expectError: on failure it would print the 9 MB row.
    expect(result.errors?.map((e) => [e.extensions?.code, e.message]), `a page of ${JSON.stringify(result).length} bytes`).toEqual([
      ['BAD_USER_INPUT', expect.stringMatching(/^rows: the next row is 9000\d{3} bytes, more than the 8 MB one page may hold; read it with sql/)],
    ]);
    expect(result.errors![0]!.extensions?.limit).toBe(PAGE_BYTES);
  });

  it('an event whose row is over 2 MB comes without its large values, named in omittedColumns', async () => {
    const all = await subscribe(t, attacker.token, ROW_CHANGES_OMITTED, { p: attacker.id, t: 'blobs' });
    const byBig = await subscribe(t, attacker.token, ROW_CHANGES_OMITTED, { p: attacker.id, t: 'blobs', where: { big: { _like: 'y%' } } });
    const byTitle = await subscribe(t, attacker.token, ROW_CHANGES_OMITTED, { p: attacker.id, t: 'blobs', where: { title: { _eq: 'small' } } });
    await asAttacker.ok(`insert into blobs (title, big) values ('large', repeat('y', 5000000))`);
    await asAttacker.ok(`insert into blobs (title, big) values ('small', 'y')`);
    const [large, small] = await all.waitFor(2);
    expect(large!.errors).toBeUndefined();
    expect(large!.data.rowChanges).toMatchObject({ op: 'INSERT', row: { title: 'large' }, omittedColumns: ['big'] });
    expect(large!.data.rowChanges.row).not.toHaveProperty('big');
    expect(small!.data.rowChanges).toMatchObject({ row: { title: 'small', big: 'y' }, omittedColumns: [] });
    // A filter on a value that was not streamed cannot be decided here: the event is delivered
    // (nothing lost) and omittedColumns says why; a filter on the streamed values decides as usual.
    expect((await byBig.waitFor(2)).map((p) => p.data.rowChanges.row.title)).toEqual(['large', 'small']);
    expect((await byTitle.waitFor(1)).map((p) => p.data.rowChanges.row.title)).toEqual(['small']);
    for (const s of [all, byBig, byTitle]) s.unsubscribe();
    await waitForSubscriberCount(t, IDLE);
  });

  // 6-15 s on this machine alone; with a load average of 25 on its 2 cores they took 17-30 s.
  it('ten concurrent replays of large events keep heap growth under 100 MB; a bystander is unharmed', { timeout: 90_000 }, async () => {
    const live = await subscribe(t, attacker.token, ROW_CHANGES_OMITTED, { p: attacker.id, t: 'blobs' });
    await asAttacker.ok(`insert into blobs (title) values ('mark')`);
    const since = (await live.waitFor(1))[0]!.data.rowChanges.cursor as string;
    await asAttacker.ok(`insert into blobs (title, big) select 'big-' || n, repeat('z', 5000000) || n from generate_series(1, 6) n`);
    await live.waitFor(7, 60_000);
    live.unsubscribe();
    await waitForSubscriberCount(t, IDLE);

    const quiet = await victim.measure(20);
    const replays: RawSocket[] = [];
    let attacked: Awaited<ReturnType<typeof victim.measure>> | undefined;
    const growth = await heapGrowthDuring(async () => {
      for (let i = 0; i < 10; i++) replays.push(await stalledReplay(t, attacker, 'blobs', since));
      attacked = await victim.measure(20);
      for (const raw of replays) raw.socket.resume();
      // Every replay delivers all 6 events (the large values omitted), then waits for live ones.
      await Promise.all(replays.map((raw) => raw.received(6, (m) => m.type === 'next', 60_000)));
    });
    console.log(`${mode}: 10 replays of 6 × 5 MB events: heap growth ${(growth / MB).toFixed(1)} MB`);
    for (const raw of replays) {
      const events = raw.messages.filter((m) => m.type === 'next').map((m) => m.payload.data.rowChanges);
      expect(events.map((e) => [e.row.title, e.omittedColumns])).toEqual([1, 2, 3, 4, 5, 6].map((n) => [`big-${n}`, ['big']]));
      raw.socket.terminate();
    }
    await waitForSubscriberCount(t, IDLE);
    expect(growth, `heap growth ${(growth / MB).toFixed(1)} MB`).toBeLessThan(REPLAY_HEAP_BOUND);
    expectUnharmed(quiet, attacked!, `${mode}: 10 concurrent replays of large events`);
  });

  it('a replay stops reading the log when its client is gone; more than 10 at once in one project are refused', { timeout: 90_000 }, async () => {
    await api.createTable({ name: 'many', columns: [{ name: 'v', type: 'TEXT' }] });
    const live = await subscribe(t, attacker.token, ROW_CHANGES_OMITTED, { p: attacker.id, t: 'many' });
    await asAttacker.ok(`insert into many (v) values ('mark')`);
    const since = (await live.waitFor(1))[0]!.data.rowChanges.cursor as string;
    // 800 events of 50 kB (40 MB): many pages, more than a stalled client's socket buffers hold.
    await asAttacker.ok(`insert into many (v) select repeat('m', 50000) || n from generate_series(1, 800) n`);
    await live.waitFor(801, 60_000);
    live.unsubscribe();
    const hub = t.server.services.changes;
    await waitForSubscriberCount(t, IDLE);

    const stalled: RawSocket[] = [];
    for (let i = 0; i < 10; i++) stalled.push(await stalledReplay(t, attacker, 'many', since));
    await waitForSubscriberCount(t, IDLE + 10);
    const eleventh = await acknowledgedSocket(t, attacker.token);
    eleventh.send({ id: 'x', type: 'subscribe', payload: { query: ROW_CHANGES_OMITTED, variables: { p: attacker.id, t: 'many', since } } });
    const refused = await eleventh.next('next');
    expect(refused.payload.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(refused.payload.errors[0].message).toMatch(/at most 10 replays \(rowChanges with since\) at once per project/);

    for (const raw of stalled) raw.socket.terminate();
    await waitForSubscriberCount(t, IDLE);
    await hub.replaysSettled();
    const pagesWhenGone = (await t.metrics()).paige_change_replay_pages_total!;
    console.log(`${mode}: 10 stalled replays of 40 MB (20 pages each) read ${pagesWhenGone} pages in all before their clients left`);
    // Each stalled replay read a few pages (what its socket and one queued page hold), not the
    // 20 pages of 2 MB the log holds for it.
    expect(pagesWhenGone).toBeGreaterThan(0);
    expect(pagesWhenGone).toBeLessThanOrEqual(10 * 5);
    // A later commit wakes the hub and reaches a live subscriber; no replay reads again.
    const check = await subscribe(t, attacker.token, ROW_CHANGES_OMITTED, { p: attacker.id, t: 'many' });
    await asAttacker.ok(`insert into many (v) values ('after')`);
    await check.waitFor(1);
    check.unsubscribe();
    expect((await t.metrics()).paige_change_replay_pages_total).toBe(pagesWhenGone);
    expect(hub.activeReplays).toBe(0);
  });
});
