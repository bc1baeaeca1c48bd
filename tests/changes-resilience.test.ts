import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { leftover } from './support/leftovers.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { rowApi } from './support/rows.js';
import { ROW_CHANGES, subscribe, subscribeErrors, type Collected } from './support/subscriptions.js';

/**
 * Failures of Postgres itself, on a cluster of this file's own (stopped and restarted, and its
 * change log pruned) so no other test file is disturbed.
 */
let embedded: EmbeddedDatabase;
let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-resilience-'));
  leftover(() => rm(dataDir, { recursive: true, force: true }));
  embedded = await startEmbeddedPostgres(dataDir, createLogger('warn'));
  // Stopped after the server and its projects (the test may have stopped it already).
  leftover(() => embedded.stop().catch(() => {}));
  t = await startTestServer({ DATABASE_URL: embedded.url });
  project = await createTestProject(t);
  api = rowApi(t, project);
  await api.createTable({ name: 'events', columns: [{ name: 'n', type: 'INTEGER' }, { name: 'phase', type: 'TEXT' }] });
}, 120_000);

/** A subscriber to the events on its own socket, registered in the hub (or refused) before this resolves. */
const subscribeToEvents = (variables: Record<string, unknown>) => subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'events', ...variables });

/** A fresh superuser session each time: sessions do not survive a restart. */
async function sql(text: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: embedded.url });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

const insert = (phase: string, n: number) => sql(`INSERT INTO "${project.schema}".events (phase, n) VALUES ($1, $2)`, [phase, n]);
const got = (sub: Collected, phase: string) => sub.payloads.map((p) => p.data.rowChanges.row).filter((row) => row.phase === phase).map((row) => row.n);
const range = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

describe('resilience', () => {
  it("delivers every insert while the listener's backend is killed with pg_terminate_backend", async () => {
    const sub = await subscribeToEvents({ where: { phase: { _eq: 'killed' } } });
    const { applicationName } = t.server.services.subscriber;
    const writes = (async () => {
      for (let n = 1; n <= 200; n += 1) {
        await insert('killed', n);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    for (let kill = 0; kill < 3; kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const killed = await sql('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      if (kill === 0) expect(killed.rows).toEqual([{ ok: true }]);
    }
    await writes;
    await sub.waitFor(200, 20_000);
    expect(got(sub, 'killed')).toEqual(range(200));
    // pg-listen opened a new listening backend (one, not several).
    const listeners = await sql('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    expect(listeners.rows[0].n).toBe(1);
  }, 60_000);

  it('resumes deliveries after Postgres is stopped for 30 s and started again, losing nothing', async () => {
    const sub = await subscribeToEvents({ where: { phase: { _in: ['before', 'racing', 'after'] } } });
    for (let n = 1; n <= 20; n += 1) await insert('before', n);
    await sub.waitFor(20);
    // Committed right before the stop: their NOTIFY may never be read; the log still has them.
    for (let n = 1; n <= 20; n += 1) await insert('racing', n);
    await embedded.stop();
    // While Postgres is down: alive but not ready, and a request gets a clear error to retry, not a masked 500.
    const base = t.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect([notReady.status, await notReady.json()]).toEqual([503, { status: 'not ready' }]);
    const during = await api.insert('events', [{ phase: 'during', n: 1 }]);
    expect([during.status, during.errors?.[0]?.extensions?.code, during.errors?.[0]?.message]).toEqual([503, 'UNAVAILABLE', 'the database cannot be reached right now; try again shortly']);
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    await embedded.start();
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    for (let n = 1; n <= 20; n += 1) await insert('after', n);
    await sub.waitFor(60, 30_000);
    expect(got(sub, 'before')).toEqual(range(20));
    expect(got(sub, 'racing')).toEqual(range(20));
    expect(got(sub, 'after')).toEqual(range(20));
    // And the API itself writes and is heard again.
    const inserted = await api.insert('events', [{ phase: 'after', n: 21 }]);
    expect(inserted.errors).toBeUndefined();
    await sub.waitFor(61);
  }, 120_000);

  it('answers a cursor older than the retention with CURSOR_EXPIRED, and prunes the log', async () => {
    const sub = await subscribeToEvents({ where: { phase: { _eq: 'old' } } });
    await insert('old', 1);
    const [payload] = await sub.waitFor(1);
    const cursor = payload!.data.rowChanges.cursor;
    await insert('old', 2);
    await sub.waitFor(2);
    const hub = t.server.services.changes;

    // Within the retention nothing goes, and the cursor resumes.
    await hub.prune(new Date());
    const resumed = await subscribeToEvents({ where: { phase: { _eq: 'old' } }, since: cursor });
    await resumed.waitFor(1);
    expect(resumed.payloads[0]!.data.rowChanges.row.n).toBe(2);

    // 25 hours later (default retention 24 h) both entries are gone, and so is the cursor.
    const sizeBefore = await sql(`SELECT count(*)::int AS n FROM paige.change_log`);
    const pruned = await hub.prune(new Date(Date.now() + 25 * 3_600_000));
    expect(pruned.deleted).toBe(sizeBefore.rows[0].n);
    expect((await sql(`SELECT count(*)::int AS n FROM paige.change_log`)).rows[0].n).toBe(0);
    const expired = await subscribeToEvents({ since: cursor });
    await expired.ended();
    expect(subscribeErrors(expired)).toMatchObject([{ extensions: { code: 'CURSOR_EXPIRED', field: 'since' } }]);
    expect(subscribeErrors(expired)[0]!.message).toContain('older than the retention');

    // Live delivery carries on after a prune.
    await insert('old', 3);
    await sub.waitFor(3);
    expect(got(sub, 'old')).toEqual([1, 2, 3]);
  }, 60_000);
});
