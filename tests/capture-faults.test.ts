import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { parseConfig } from '../src/config.js';
import { CAPTURE_PUBLICATION } from '../src/db/capture-mode.js';
import { ReplicationStream } from '../src/db/replication-stream.js';
import type { Logger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { Arrivals } from './support/arrivals.js';
import { logicalDatabaseUrl } from './support/capture-modes.js';
import { until } from './support/hostile.js';
import { leftover } from './support/leftovers.js';
import { superuserClient } from './support/postgres.js';
import { rowApi } from './support/rows.js';
import { createTestProject, startTestServer, wireOf, type TestProjectHandle, type TestServer } from './support/server.js';
import { collect, ROW_CHANGES, subscribe, subscribeErrors, wsClient, type Collected } from './support/subscriptions.js';

/**
 * Faults of capture from the WAL (issue 13, points 3 and 6), on logical databases of this file's
 * own, whichever Postgres the run has: the leader's replication connection cut between append and
 * confirm, its walsender killed while writes go on, a subscriber joining while the hub cannot
 * read, a process standing by, a 100,000-row transaction, the restart delay after a good stream,
 * and a slot that nobody consumes.
 */
let url: string;
let t: TestServer;
let project: TestProjectHandle;
let db: pg.Client;

/** The leader's replication connection (its appends go through 'paige-db-capture'). */
const STREAM_APP = 'paige-db-capture-stream';
const isStream = (applicationName: string) => applicationName === STREAM_APP;

beforeAll(async () => {
  url = await logicalDatabaseUrl();
  t = await startTestServer({ DATABASE_URL: url }, {}, { wireProxy: true });
  expect(t.server.services.capture.mode).toBe('logical');
  project = await createTestProject(t);
  await rowApi(t, project).createTable({ name: 'events', columns: [{ name: 'n', type: 'INTEGER' }, { name: 'phase', type: 'TEXT' }] });
  db = await superuserClient(url);
}, 60_000);

const subscribeToPhase = (phase: string) => subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'events', where: { phase: { _eq: phase } } });

/** Written outside the API (as psql would): one transaction; its id. */
async function insert(phase: string, n: number): Promise<string> {
  const { rows } = await db.query(`INSERT INTO "${project.schema}".events (phase, n) VALUES ($1, $2) RETURNING pg_current_xact_id()::text AS xid`, [phase, n]);
  return rows[0].xid as string;
}

const ROW_CHANGES_ROW_ONLY = /* GraphQL */ `
subscription ($p: ID!, $t: String!, $where: JSON) { rowChanges(projectId: $p, table: $t, where: $where) { row } }`;

const got = (sub: Collected, phase: string) => sub.payloads.map((p) => p.data.rowChanges.row).filter((row) => row.phase === phase).map((row) => row.n as number);
const range = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

/** The capture slot as Postgres holds it: the walsender streaming it, and how far it is confirmed. */
async function slotOf(client: pg.Client = db): Promise<{ activePid: number | null; confirmed: string }> {
  const { rows } = await client.query(`SELECT active_pid AS "activePid", confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = paige.capture_slot()`);
  return rows[0];
}

/** A server of its own whose warnings the test reads (the test servers log nothing); it stops after the file. */
async function startServerHearingWarnings(env: Record<string, string>): Promise<{ warnings: Arrivals<string>; stop: () => Promise<void> }> {
  const warnings = new Arrivals<string>();
  const log: Logger = { debug() {}, info() {}, warn: (message) => warnings.push(message), error() {} };
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-warnings-'));
  leftover(() => rm(dataDir, { recursive: true, force: true }));
  const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', PAIGE_DATA_DIR: dataDir, ADMIN_TOKEN: `warnings-admin-${Date.now()}`, LOG_LEVEL: 'warn', ...env });
  const server = await createServer(config, log);
  const stop = leftover(() => server.stop());
  await server.start();
  return { warnings, stop };
}

const metric = async (server: TestServer, name: string) => (await server.metrics())[name] ?? 0;

describe('capture from the WAL under faults', () => {
  it('writes nothing twice when the slot sends again what was appended but never confirmed', async () => {
    const sub = await subscribeToPhase('unconfirmed');
    // From here the slot hears no confirmation from the leader: what it appends stays unconfirmed.
    const confirmations = wireOf(t).dropStatusUpdates(isStream);
    const xids: string[] = [];
    for (const n of range(20)) xids.push(await insert('unconfirmed', n));
    // Subscribers read only the change log: all 20 are appended.
    await sub.waitFor(20);
    const { rows: [window] } = await db.query(
      `SELECT (SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = paige.capture_slot()) < min(commit_lsn) AS unconfirmed, max(commit_lsn)::text AS last
         FROM paige.change_commits WHERE xid = ANY ($1::xid8[])`,
      [xids],
    );
    expect(window.unconfirmed).toBe(true);
    const batchesBefore = await metric(t, 'paige_capture_batches_total');

    // The crash: the leader's stream goes, its appends stay; a new stream starts from the slot.
    wireOf(t).refuse(isStream).release();
    confirmations.release();
    await until('the 20 transactions sent again, appended again and confirmed', async () => {
      const replayed = (await metric(t, 'paige_capture_batches_total')) > batchesBefore;
      const { rows } = await db.query(`SELECT confirmed_flush_lsn > $1::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = paige.capture_slot()`, [window.last]);
      return replayed && rows[0].past ? true : undefined;
    });

    await insert('unconfirmed', 21);
    await sub.waitFor(21);
    expect(got(sub, 'unconfirmed')).toEqual(range(21));
    const { rows: [logged] } = await db.query(
      `SELECT (SELECT count(*)::int FROM paige.change_commits WHERE xid = ANY ($1::xid8[])) AS commits,
              (SELECT count(*)::int FROM paige.change_log WHERE xid = ANY ($1::xid8[])) AS entries`,
      [xids],
    );
    expect(logged).toEqual({ commits: 20, entries: 20 });
  }, 60_000);

  it('loses, doubles and reorders nothing while the walsender is killed three times during writes', async () => {
    const sub = await subscribeToPhase('killed');
    let written = 0;
    let writing = true;
    const writes = (async () => {
      while (writing) {
        await insert('killed', written + 1);
        written += 1;
      }
    })();
    const killed: number[] = [];
    let confirmedAtKill = (await slotOf()).confirmed;
    try {
      for (let kill = 0; kill < 3; kill += 1) {
        // A walsender other than the ones killed streams the slot, and the leader confirmed through it.
        const pid = await until(`a new walsender that the leader confirms through (kill ${kill + 1})`, async () => {
          const { rows } = await db.query(
            `SELECT active_pid AS pid, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = paige.capture_slot() AND confirmed_flush_lsn > $1::pg_lsn`,
            [confirmedAtKill],
          );
          const streaming = rows[0] as { pid: number | null; confirmed: string } | undefined;
          return streaming?.pid && !killed.includes(streaming.pid) ? streaming.pid : undefined;
        });
        const { rows } = await db.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
        expect(rows[0].ok).toBe(true);
        killed.push(pid);
        // Once it has let go of the slot, nothing it received can be confirmed any more.
        await until('the killed walsender to let go of the slot', async () => ((await slotOf()).activePid !== pid ? true : undefined));
        confirmedAtKill = (await slotOf()).confirmed;
      }
    } finally {
      writing = false;
      await writes;
    }
    await sub.waitFor(written, 30_000);
    expect(got(sub, 'killed')).toEqual(range(written));
    // One replication connection in the end: the restarts left none behind (a leaked one never goes).
    await until('one replication connection', async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [STREAM_APP]);
      return rows[0].n === 1 ? true : undefined;
    });
  }, 90_000);

  it('leaves no subscriber behind when its start in the WAL cannot be read', async () => {
    const hub = t.server.services.changes;
    const live = await subscribeToPhase('joined');
    const before = hub.subscriberCount;
    // The hub's own connections are refused: the new subscriber's WAL position cannot be read.
    const refusal = wireOf(t).refuse((applicationName) => applicationName === 'paige-db-changes');
    let refused: Collected;
    try {
      refused = collect(wsClient(t, project.token), ROW_CHANGES, { p: project.id, t: 'events', where: { phase: { _eq: 'joined' } } });
      await refused.ended();
    } finally {
      refusal.release();
    }
    // The subscriber is told to try again, and the hub holds nothing of it.
    expect(subscribeErrors(refused!)).toMatchObject([{ message: 'the database cannot be reached right now; try again shortly', extensions: { code: 'UNAVAILABLE' } }]);
    expect(hub.subscriberCount).toBe(before);
    // The hub carries on for the subscriber it has.
    await insert('joined', 1);
    await live.waitFor(1);
    expect(got(live, 'joined')).toEqual([1]);
  }, 30_000);

  it('stands by without keeping a connection per try, and stops twice safely', async () => {
    const standby = await startTestServer({ DATABASE_URL: url });
    // Each try is observable: the slot is held, the standby is refused and counts it.
    await until('three tries of the process standing by', async () => ((await metric(standby, 'paige_capture_standby_tries_total')) >= 3 ? true : undefined));
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [STREAM_APP]);
    // The leader's, and at most the standby's try under way.
    expect(rows[0].n).toBeLessThanOrEqual(2);
    const leader = standby.server.services.capture.leader!;
    await leader.stop();
    await expect(leader.stop()).resolves.toBeUndefined();
    await standby.stop();
  }, 30_000);

  it('delivers a 100,000-row transaction complete and in order, appended in chunks ahead of its commit', async () => {
    // Only the row: 100,000 events are mostly the socket's and GraphQL's work, not capture's.
    const sub = await subscribe(t, project.token, ROW_CHANGES_ROW_ONLY, { p: project.id, t: 'events', where: { phase: { _eq: 'bulk' } } });
    const chunksBefore = await metric(t, 'paige_capture_chunks_total');
    await db.query(`INSERT INTO "${project.schema}".events (phase, n) SELECT 'bulk', g FROM generate_series(1, 100000) g`);
    await sub.waitFor(100_000, 90_000);
    expect(got(sub, 'bulk')).toEqual(range(100_000));
    // 1,000 entries a chunk: the leader never held the transaction whole.
    expect((await metric(t, 'paige_capture_chunks_total')) - chunksBefore).toBeGreaterThanOrEqual(100);
  }, 120_000);

  it('appends a large transaction’s chunks on a session of their own: its project’s later commits wait for it, another project’s pass it', async () => {
    const other = await createTestProject(t);
    await rowApi(t, other).createTable({ name: 'events', columns: [{ name: 'n', type: 'INTEGER' }, { name: 'phase', type: 'TEXT' }] });
    const mine = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'events', where: { phase: { _in: ['held big', 'held after'] } } });
    const theirs = await subscribe(t, other.token, ROW_CHANGES, { p: other.id, t: 'events' });
    // The chunk lane's statements wait at the proxy: the big transaction stays held however fast the machine is.
    const chunks = wireOf(t).holdStatements((name) => name === 'paige-db-capture-chunks');
    let bigXid: string;
    let confirmedWhileHeld: string;
    try {
      const big = await db.query(`WITH i AS (INSERT INTO "${project.schema}".events (phase, n) SELECT 'held big', g FROM generate_series(1, 3000) g RETURNING 1) SELECT pg_current_xact_id()::text AS xid FROM i LIMIT 1`);
      bigXid = big.rows[0].xid as string;
      await insert('held after', 1);
      await db.query(`INSERT INTO "${other.schema}".events (phase, n) VALUES ('passing', 1)`);

      await theirs.waitFor(1);
      expect(theirs.payloads[0]!.data.rowChanges.row).toMatchObject({ n: 1, phase: 'passing' });
      // The same project's later commit waits behind the big one.
      expect(mine.payloads).toEqual([]);
      confirmedWhileHeld = (await slotOf()).confirmed;
    } finally {
      chunks.release();
    }
    await mine.waitFor(3001);
    expect(got(mine, 'held big')).toEqual(range(3000));
    expect(mine.payloads.at(-1)!.data.rowChanges.row).toMatchObject({ n: 1, phase: 'held after' });
    // The other project's later commit took the earlier seq: positions follow commit order within a project.
    const cursorOf = (sub: Collected, i: number) => sub.payloads.at(i)!.data.rowChanges.cursor as string;
    expect(BigInt(cursorOf(theirs, 0).split('.')[0]!)).toBeLessThan(BigInt(cursorOf(mine, 0).split('.')[0]!));
    const cursors = mine.payloads.map((_, i) => cursorOf(mine, i));
    expect(new Set(cursors).size).toBe(3001);
    // Nothing at or past the big one's commit was confirmed while it was held: a restart then would have had the slot send it again.
    const { rows: [big] } = await db.query('SELECT $1::pg_lsn < commit_lsn AS before FROM paige.change_commits WHERE xid = $2::xid8', [confirmedWhileHeld!, bigXid!]);
    expect(big.before).toBe(true);
    await until('the slot confirmed past both', async () => {
      const { rows } = await db.query(`SELECT confirmed_flush_lsn >= (SELECT max(commit_lsn) FROM paige.change_commits) AS past FROM pg_replication_slots WHERE slot_name = paige.capture_slot()`);
      return rows[0].past ? true : undefined;
    });
  }, 60_000);

  it('delivers a transaction streamed while open exactly as committed: a rolled-back savepoint’s rows and an aborted transaction’s are taken back, and every event has the commit’s time', async () => {
    const sub = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'events', where: { phase: { _like: 'streamed%' } } });
    const writer = await superuserClient(url);
    let aborted: string;
    try {
      // Each part is far over the walsender's 1 MB, so it is streamed (and appended) before its abort is decoded.
      await writer.query('BEGIN');
      await writer.query(`INSERT INTO "${project.schema}".events (phase, n) SELECT 'streamed kept', g FROM generate_series(1, 20000) g`);
      await writer.query('SAVEPOINT s');
      await writer.query(`INSERT INTO "${project.schema}".events (phase, n) SELECT 'streamed rolled back', g FROM generate_series(1, 20000) g`);
      await writer.query('SAVEPOINT inner_s');
      await writer.query(`INSERT INTO "${project.schema}".events (phase, n) SELECT 'streamed rolled back', g FROM generate_series(20001, 40000) g`);
      await writer.query('RELEASE SAVEPOINT inner_s');
      await writer.query('ROLLBACK TO SAVEPOINT s');
      await writer.query(`INSERT INTO "${project.schema}".events (phase, n) SELECT 'streamed kept', g FROM generate_series(20001, 40000) g`);
      await writer.query('COMMIT');
      await writer.query('BEGIN');
      aborted = (await writer.query('SELECT pg_current_xact_id()::text AS xid')).rows[0].xid as string;
      await writer.query(`INSERT INTO "${project.schema}".events (phase, n) SELECT 'streamed aborted', g FROM generate_series(1, 30000) g`);
      await writer.query('ROLLBACK');
      await writer.query(`INSERT INTO "${project.schema}".events (phase, n) VALUES ('streamed after', 1)`);
    } finally {
      await writer.end();
    }
    await sub.waitFor(40_001, 60_000);
    expect(got(sub, 'streamed kept')).toEqual(range(40_000));
    expect(got(sub, 'streamed after')).toEqual([1]);
    expect(sub.payloads).toHaveLength(40_001);
    const times = new Set(sub.payloads.slice(0, 40_000).map((p) => p.data.rowChanges.at as string));
    expect(times.size).toBe(1);
    // Nothing of the aborted transaction stays behind in the log.
    await until('the aborted transaction’s streamed entries taken back', async () => {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM paige.change_log WHERE xid = $1::xid8', [aborted!]);
      return rows[0].n === 0 ? true : undefined;
    });
  }, 120_000);

  it('starts the stream again after 0.5 s each time a walsender that streamed is killed (the back-off starts over)', async () => {
    const ownUrl = await logicalDatabaseUrl();
    const server = await startServerHearingWarnings({ DATABASE_URL: ownUrl });
    const own = await superuserClient(ownUrl);
    const killed: number[] = [];
    for (let kill = 0; kill < 3; kill += 1) {
      // A transaction for the leader to decode and confirm: proof that its stream runs.
      const { rows: [mark] } = await own.query(`SELECT pg_logical_emit_message(true, 'paige-test', 'mark')::text AS lsn`);
      const pid = await until(`a walsender that streamed (kill ${kill + 1})`, async () => {
        const { rows } = await own.query(`SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = paige.capture_slot() AND confirmed_flush_lsn > $1::pg_lsn`, [mark.lsn]);
        const streamed = rows[0]?.pid as number | null | undefined;
        return streamed && !killed.includes(streamed) ? streamed : undefined;
      });
      await own.query('SELECT pg_terminate_backend($1)', [pid]);
      killed.push(pid);
    }
    const ended = await server.warnings.first(3, 'three ends of the stream', (message) => message.startsWith('capture: the replication stream ended'));
    expect(ended.map((message) => /starting again in (\d+) ms/.exec(message)?.[1])).toEqual(['500', '500', '500']);
    await server.stop();
  }, 60_000);

  it('reports the slot lag in /readyz and warns, naming the slot, past CAPTURE_LAG_WARN_MB', async () => {
    const lagUrl = await logicalDatabaseUrl();
    const first = await startTestServer({ DATABASE_URL: lagUrl });
    const lagDb = await superuserClient(lagUrl);
    const readyz = async () => (await fetch(first.url.replace(/\/graphql$/, '/readyz'))).json() as Promise<{ capture: string; slot: { name: string; lagBytes: number; streaming: boolean } }>;
    const { rows: [{ slot }] } = await lagDb.query(`SELECT paige.capture_slot() AS slot`);
    // Nobody consumes the slot now; some 2 MB of WAL is written.
    await first.server.services.capture.leader!.stop();
    await lagDb.query(`CREATE TABLE ballast AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 2000) g`);
    expect(await readyz()).toMatchObject({ capture: 'logical', slot: { name: slot, streaming: false } });
    expect((await readyz()).slot.lagBytes).toBeGreaterThan(1024 * 1024);

    // A consumer that holds the slot and never confirms: a leader stuck behind.
    const stuck = new ReplicationStream({ url: lagUrl, slot, publication: CAPTURE_PUBLICATION, applicationName: 'paige-test-stuck-consumer' });
    const stuckRun = stuck.run(() => {}, () => {}).catch(() => {});
    // Ended below; after a failure too, or the slot it holds would outlive the test.
    leftover(() => stuck.stop());
    await until('the stuck consumer to hold the slot', async () => ((await slotOf(lagDb)).activePid !== null ? true : undefined));

    const second = await startServerHearingWarnings({ DATABASE_URL: lagUrl, CAPTURE_LAG_WARN_MB: '0.5' });
    const [warning] = await second.warnings.first(1, 'the lag warning', (message) => message.includes('replication slot'));
    expect(warning).toMatch(new RegExp(`^capture: the replication slot ${slot} keeps \\d+\\.\\d\\d MB of WAL \\(a leader streams it but lags\\)`));

    // The stuck consumer goes: the second server's leader takes the slot and catches up.
    await stuck.stop();
    await stuckRun;
    await until('the lag back under the threshold', async () => ((await readyz()).slot.lagBytes < 512 * 1024 ? true : undefined));
    expect(await readyz()).toMatchObject({ slot: { streaming: true } });
    await second.stop();
    await first.stop();
  }, 120_000);
});
