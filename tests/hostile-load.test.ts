import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { asSuperuser, superuserClient } from './support/postgres.js';
import { startServerInMode } from './support/capture-modes.js';
import { ROW_CHANGES, subscribe, type Collected } from './support/subscriptions.js';
import { until } from './support/hostile.js';
import { createTestProject, startTestServer, type GraphQLResponse, type TestProjectHandle, type TestServer } from './support/server.js';
import { ROWS, expectError, rowApi } from './support/rows.js';
import { expectUnharmed, startVictim, type Victim } from './support/victim.js';

/**
 * Issue 14, point 6: one project cannot hold the platform's connections. The attacker's table is
 * locked in ACCESS EXCLUSIVE mode by a superuser session for as long as the test needs: the raw-SQL
 * loop of the issue (`LOCK TABLE items IN ACCESS EXCLUSIVE MODE; pg_sleep(4.5)`, again and again)
 * without its gaps, so the outcome does not depend on where the loop stands. Every API read of
 * that table then waits on the lock, holding a platform connection while it does. Runs in the
 * run's capture mode (embedded: logical; TEST_DATABASE_URL on PG15: triggers).
 */
let t: TestServer;
let attacker: TestProjectHandle;
let victim: Victim;
let su: pg.Client;
let locker: pg.Client | undefined;

beforeAll(async () => {
  t = await startTestServer();
  su = await superuserClient();
  attacker = await createTestProject(t);
  await rowApi(t, attacker).createTable({ name: 'items', columns: [{ name: 'title', type: 'TEXT' }] });
  victim = await startVictim(t);
  return () => su.end();
});

/**
 * Holds the attacker's table locked until released. Fail-safe: released after 20 s whatever
 * happens, so that code without the bounds fails the test's assertions instead of hanging it.
 */
async function lockAttackersTable(): Promise<() => Promise<void>> {
  const client = await superuserClient();
  locker = client;
  await client.query('BEGIN');
  await client.query(`LOCK TABLE "${attacker.schema}".items IN ACCESS EXCLUSIVE MODE`);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    clearTimeout(failSafe);
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
    locker = undefined;
  };
  const failSafe = setTimeout(() => void release(), 20_000);
  return release;
}

afterEach(async () => {
  await locker?.query('ROLLBACK').catch(() => {});
  await locker?.end();
  locker = undefined;
});

/** The service's backends waiting for a lock on the attacker's table. */
async function platformWaiters(): Promise<number> {
  const { rows } = await su.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'paige-db' AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
    [attacker.schema],
  );
  return rows[0]!.n;
}

const readItems = (signal?: AbortSignal): Promise<GraphQLResponse> =>
  fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${attacker.token}` },
    body: JSON.stringify({ query: ROWS, variables: { p: attacker.id, t: 'items' } }),
    signal,
  }).then(async (response) => ({ status: response.status, ...((await response.json()) as object) }));

describe('hostile load: the platform pool (issue 14, point 6)', () => {
  it('reads queued on a project’s locked table take at most its share of the pool; another project’s calls keep their latency', async () => {
    const quiet = await victim.measure(20);
    const release = await lockAttackersTable();
    // More reads than the platform pool has connections (20), as the 22.
    const reads = Array.from({ length: 30 }, () => readItems());
    // The attack has taken all it can: every connection of the pool (20) waiting on the lock, or
    // its share (5) waiting and the rest of the burst queued in the service.
    await until('the attacker’s reads to take what they can', async () => {
      const waiting = await platformWaiters();
      return waiting >= 20 || (waiting >= 5 && ((await t.metrics()).paige_project_share_waiting ?? 0) >= 25) ? true : undefined;
    });
    // One write first: the attacker took the pool's idle connections, and opening a new one for
    // the victim (tens of ms, once) is a pool's ordinary cost, not the attack's.
    await victim.measure(1);
    const attacked = await victim.measure(20);
    const waiting = await platformWaiters();
    await release();
    const results = await Promise.all(reads);
    expectUnharmed(quiet, attacked, 'reads queued on a locked table');
    expect(waiting, 'platform connections the attacker held at the end').toBeLessThanOrEqual(5);
    // Every read either ran (after the lock went) or was refused with a clear error; none masked.
    for (const result of results) {
      for (const error of result.errors ?? []) {
        expect(['CONFLICT', 'BUSY'], error.message).toContain(error.extensions?.code);
        expect(error.message).toMatch(/table "items" is locked|this project already has 5 statements running/);
      }
    }
  }, 60_000);

  it('an API write to a table the project keeps locked fails fast with CONFLICT naming the table and the limit', async () => {
    const release = await lockAttackersTable();
    const started = performance.now();
    const result = await rowApi(t, attacker).insert('items', [{ title: 'x' }]);
    const took = performance.now() - started;
    await release();
    expectError(result, 'CONFLICT', 'table "items" is locked by another transaction (waited 2 s, the lock timeout): try again when it has finished');
    expect(result.errors![0]!.extensions).toMatchObject({ table: 'items', limit: 'lock_timeout' });
    // The lock timeout is 2 s; a raw-SQL lock lasts up to 5 s: the write gave up before it.
    expect(took).toBeLessThan(4_500);
  });

  it('reads abandoned by their client are cancelled in Postgres, freeing their connections', async () => {
    const release = await lockAttackersTable();
    const abort = new AbortController();
    const reads = Array.from({ length: 10 }, () => readItems(abort.signal).catch((error: Error) => error));
    await until('the attacker’s reads waiting on its lock', async () => ((await platformWaiters()) >= 5 ? true : undefined));
    const abortedAt = performance.now();
    abort.abort();
    await Promise.all(reads);
    // Gone well before the 2 s lock timeout could have ended them, the lock still held.
    await until('the abandoned reads’ backends to stop waiting', async () => ((await platformWaiters()) === 0 ? true : undefined), 1_000);
    const took = performance.now() - abortedAt;
    expect(locker, 'the lock is still held').toBeDefined();
    await release();
    expect(took).toBeLessThan(1_000);
  });
});

/**
 * Issue 14, point 7: one project's big transaction (here 100,000 rows, committed at once into a
 * table with a filtered subscriber) does not hold back every other project's events while the
 * service reads, decodes and filters it. Both capture modes: the trigger one has the transaction
 * in the log at its commit and the hub reads it; from the WAL the capture leader appends it first.
 */
describe.each(['triggers', 'logical'] as const)('hostile load: one project’s big transaction, %s capture (issue 14, point 7)', (mode) => {
  let server: TestServer;
  let databaseUrl: string;
  let big: TestProjectHandle;
  let bystander: Victim;
  let bigEvents: Collected;

  beforeAll(async () => {
    ({ t: server, databaseUrl } = await startServerInMode(mode));
    big = await createTestProject(server);
    await rowApi(server, big).createTable({ name: 'items', columns: [{ name: 'title', type: 'TEXT' }] });
    // A subscriber whose filter matches three of the big transaction's rows: each row is still read and tested.
    bigEvents = await subscribe(server, big.token, ROW_CHANGES, { p: big.id, t: 'items', where: { title: { _in: ['row 1', 'row 50000', 'row 100000'] } } });
    bystander = await startVictim(server);
  }, 120_000);

  // In both modes, an order: the bystander's event arrives before the big project's subscriber
  // has its last match (the hub reads the big transaction on a lane of its own, a batch per
  // turn, while the main lane goes on; from the WAL, the capture leader appends its chunks on a
  // session of their own while other projects' later commits pass it). Under trigger capture
  // also a time, the hostile suite's bound (expectUnharmed). From the WAL the time is printed,
  // not asserted: the bystander's commit reaches the service only once Postgres's one walsender
  // has decoded the big transaction, which on 2 shared cores ran up to ~0.8 s behind the writer
  // (SECURITY.md, residual risks).
  it('another project’s events do not wait behind it', async () => {
    const quiet = await bystander.measure(20);
    // The superuser writes it (a project's raw SQL can, within its 5 s): one transaction, committed now.
    await asSuperuser((c) => c.query(`INSERT INTO "${big.schema}".items (title) SELECT 'row ' || i FROM generate_series(1, 100000) i`), databaseUrl);
    const attacked = await bystander.measure(1);
    const bigDoneFirst = bigEvents.payloads.length === 3;
    // The big project's own subscriber still gets its matching rows, once each and in order.
    await bigEvents.waitFor(3, 60_000);
    expect(bigEvents.payloads.map((p) => p.data.rowChanges.row.title)).toEqual(['row 1', 'row 50000', 'row 100000']);
    console.log(`a 100,000-row transaction (${mode}): the bystander's next event after ${attacked.deliveryMs[0]!.toFixed(1)} ms (quiet p99 ${quiet.deliveryP99.toFixed(1)} ms)`);
    expect(attacked.errors).toEqual([]);
    expect(bigDoneFirst, 'the bystander waited until the big transaction was delivered').toBe(false);
    if (mode === 'triggers') expectUnharmed(quiet, attacked, 'a 100,000-row transaction of another project (triggers)');
  }, 180_000);
});
