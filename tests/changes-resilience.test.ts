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
 * change log pruned) so no other test file is disturbed. The cluster runs wal_level = logical: its
 * `paige` database captures from the WAL, and a second database is held to the trigger fallback,
 * so one restart tries both modes.
 */
let embedded: EmbeddedDatabase;
let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;
/** The same table on a database of the same cluster that captures with triggers. */
let fallback: { t: TestServer; project: TestProjectHandle; api: ReturnType<typeof rowApi>; url: string };

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-resilience-'));
  leftover(() => rm(dataDir, { recursive: true, force: true }));
  embedded = await startEmbeddedPostgres(dataDir, createLogger('warn'));
  // Stopped after the server and its projects (the test may have stopped it already).
  leftover(() => embedded.stop().catch(() => {}));
  t = await startTestServer({ DATABASE_URL: embedded.url });
  expect(t.server.services.capture.mode).toBe('logical');
  project = await createTestProject(t);
  api = rowApi(t, project);
  await api.createTable({ name: 'events', columns: [{ name: 'n', type: 'INTEGER' }, { name: 'phase', type: 'TEXT' }] });

  // Removed with the cluster: a session kept to drop it would not survive the restart.
  await sql('CREATE DATABASE paige_fallback');
  const fallbackUrl = new URL(embedded.url);
  fallbackUrl.pathname = '/paige_fallback';
  const fallbackServer = await startTestServer({ DATABASE_URL: fallbackUrl.toString(), PAIGE_CAPTURE: 'triggers' });
  expect(fallbackServer.server.services.capture.mode).toBe('triggers');
  const fallbackProject = await createTestProject(fallbackServer);
  fallback = { t: fallbackServer, project: fallbackProject, api: rowApi(fallbackServer, fallbackProject), url: fallbackUrl.toString() };
  await fallback.api.createTable({ name: 'events', columns: [{ name: 'n', type: 'INTEGER' }, { name: 'phase', type: 'TEXT' }] });
}, 120_000);

/** A subscriber to the events on its own socket, registered in the hub (or refused) before this resolves. */
const subscribeToEvents = (variables: Record<string, unknown>) => subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'events', ...variables });

/** A fresh superuser session each time (sessions do not survive a restart), on the `paige` database or `url`. */
async function sql(text: string, params: unknown[] = [], url = embedded.url) {
  const client = new pg.Client({ connectionString: url });
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
      const killed = await sql('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [applicationName]);
      if (kill === 0) expect(killed.rows).toEqual([{ ok: true }]);
    }
    await writes;
    await sub.waitFor(200, 20_000);
    expect(got(sub, 'killed')).toEqual(range(200));
    // pg-listen opened a new listening backend (one, not several).
    const listeners = await sql('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [applicationName]);
    expect(listeners.rows[0].n).toBe(1);
  }, 60_000);

  it('resumes deliveries after Postgres is stopped for 30 s and started again, losing nothing, in both capture modes', async () => {
    const sides = [
      { mode: 'logical', t, project, api, url: embedded.url },
      { mode: 'triggers', ...fallback },
    ].map((side) => ({
      ...side,
      base: side.t.url.replace(/\/graphql$/, ''),
      insert: (phase: string, n: number) => sql(`INSERT INTO "${side.project.schema}".events (phase, n) VALUES ($1, $2)`, [phase, n], side.url),
    }));
    const subs = await Promise.all(sides.map((side) => subscribe(side.t, side.project.token, ROW_CHANGES, { p: side.project.id, t: 'events', where: { phase: { _in: ['before', 'racing', 'after'] } } })));
    for (const [i, side] of sides.entries()) {
      for (let n = 1; n <= 20; n += 1) await side.insert('before', n);
      await subs[i]!.waitFor(20);
    }
    // Committed right before the stop: their NOTIFY may never be read, nor (from the WAL) their
    // changes appended; the log, or the slot, still has them.
    for (const side of sides) for (let n = 1; n <= 20; n += 1) await side.insert('racing', n);
    await embedded.stop();
    for (const side of sides) {
      // While Postgres is down: alive but not ready, and a request gets a clear error to retry, not a masked 500.
      expect((await fetch(`${side.base}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${side.base}/readyz`);
      expect([notReady.status, await notReady.json()]).toEqual([503, { status: 'not ready' }]);
      const during = await side.api.insert('events', [{ phase: 'during', n: 1 }]);
      expect([during.status, during.errors?.[0]?.extensions?.code, during.errors?.[0]?.message]).toEqual([503, 'UNAVAILABLE', 'the database cannot be reached right now; try again shortly']);
    }
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    await embedded.start();
    for (const side of sides) {
      const ready = await fetch(`${side.base}/readyz`);
      expect([ready.status, await ready.json()]).toMatchObject([200, { status: 'ready', capture: side.mode }]);
      for (let n = 1; n <= 20; n += 1) await side.insert('after', n);
    }
    for (const [i, side] of sides.entries()) {
      const sub = subs[i]!;
      await sub.waitFor(60, 30_000);
      expect([side.mode, got(sub, 'before')]).toEqual([side.mode, range(20)]);
      expect([side.mode, got(sub, 'racing')]).toEqual([side.mode, range(20)]);
      expect([side.mode, got(sub, 'after')]).toEqual([side.mode, range(20)]);
      // And the API itself writes and is heard again.
      const inserted = await side.api.insert('events', [{ phase: 'after', n: 21 }]);
      expect(inserted.errors).toBeUndefined();
      await sub.waitFor(61);
    }
  }, 150_000);

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
