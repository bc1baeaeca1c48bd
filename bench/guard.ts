/**
 * `npm run bench:guard` (run by .ci/run): a quick ratio guard against a change that makes reads or
 * live fan-out several times slower. Ratios of paige-db to its floor measured in the same run,
 * interleaved (ours, floor, floor, ours …), never absolute times: a slow or busy machine moves
 * both sides, a regression moves one. Exits 1 when a ratio passes its bound, or when a run lost
 * events or failed responses. Takes about a minute.
 *
 * - reads: Table.rows(first: 50) over HTTP at 8 connections, 3 interleaved rounds of 1 s each;
 *   ratio = floor req/s ÷ ours req/s (how many times slower ours serves). Bound 5×
 *   (BENCH_GUARD_READS_BOUND): ours is 2.2× today on a quiet machine (BENCHMARKS.md §2) and was
 *   3.2× at a load average of 13, so 3× would fail on a busy CI runner for no change of ours.
 * - fan-out: 1,000 graphql-ws subscribers on one table (2 subscriber processes), 10 inserts/s for
 *   3 s, 2 interleaved pairs; ratio = ours ÷ floor of the median commit→subscriber latency over
 *   all deliveries (the median: a p99 of a few seconds of a shared machine moves by 2× alone).
 *   p99 ratios are printed beside, not gated. Bound 3× (BENCH_GUARD_FANOUT_BOUND): 1.6× at a load
 *   average of 13.
 *
 * Env: BENCH_POSTGRES_URL (a superuser URL; default: an embedded Postgres started for the run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../src/logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { createBenchDatabase, graphqlClient } from './lib/setup.js';
import { startFloor, startOurs } from './lib/processes.js';
import { createProject, seedBookings } from './lib/seed.js';
import { checkPage, interleaved, ROWS_QUERY, type Pair } from './sections/http.js';
import { fanoutGuardRuns, startLiveFloor, type PhaseResult } from './sections/live.js';
import { closedLoop } from './lib/http-load.js';
import { fmt, summarize } from './lib/stats.js';

const bounds = { reads: Number(process.env.BENCH_GUARD_READS_BOUND ?? 5), fanout: Number(process.env.BENCH_GUARD_FANOUT_BOUND ?? 3) };
const t0 = performance.now();
let embedded: EmbeddedDatabase | undefined;
let embeddedDir: string | undefined;
let postgresUrl = process.env.BENCH_POSTGRES_URL;
if (!postgresUrl) {
  embeddedDir = await mkdtemp(join(tmpdir(), 'paige-guard-pg-'));
  embedded = await startEmbeddedPostgres(embeddedDir, createLogger('warn'));
  postgresUrl = embedded.url.replace(/\/paige$/, '/postgres');
}
const database = await createBenchDatabase(postgresUrl);
const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
const failures: string[] = [];
const lines: string[] = [];

function gate(name: string, ratio: number, bound: number, detail: string) {
  const ok = Number.isFinite(ratio) && ratio <= bound;
  lines.push(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${fmt(ratio)}× (bound ${bound}×) — ${detail}`);
  if (!ok) failures.push(`${name} ${fmt(ratio)}× > ${bound}×`);
}

const ours = await startOurs(database.url, adminToken);
try {
  const gql = graphqlClient(`http://127.0.0.1:${ours.port}/graphql`, adminToken);
  const project = await createProject(gql, 'guard');
  await seedBookings(gql, database.admin, project, 2000);

  // Reads.
  const floor = await startFloor('bench/floor-http.ts', { DATABASE_URL: database.url, SCHEMA: project.schema, TABLE: 'bookings' });
  try {
    const body = JSON.stringify({ query: ROWS_QUERY, variables: { p: project.id } });
    const page = (await (await fetch(`http://127.0.0.1:${ours.port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${project.token}` }, body })).json()) as { data: { project: { table: { rows: { nodes: { id: string }[] } } } } };
    const firstId = page.data.project.table.rows.nodes[0]!.id;
    const pair: Pair = {
      ours: { port: ours.port, path: '/graphql', headers: { authorization: `Bearer ${project.token}` }, body: () => body, check: checkPage(firstId) },
      floor: { port: floor.port, path: '/rows', headers: {}, body: () => body, check: checkPage(firstId) },
    };
    await closedLoop(pair.ours, 8, 500);
    await closedLoop(pair.floor, 8, 500);
    const run = await interleaved(pair, ours, floor, 8, 3, 1000);
    if (run.ours.failures || run.floor.failures) failures.push(`reads: ${run.ours.failures} failed responses (ours), ${run.floor.failures} (floor): ${run.ours.firstFailure ?? run.floor.firstFailure}`);
    gate('reads, 8 connections: floor req/s ÷ ours', run.floor.rps / run.ours.rps, bounds.reads, `ours ${fmt(run.ours.rps)} req/s p50 ${fmt(run.ours.p50)} ms p99 ${fmt(run.ours.p99)} ms; floor ${fmt(run.floor.rps)} req/s p50 ${fmt(run.floor.p50)} ms p99 ${fmt(run.floor.p99)} ms; p99 ratio ${fmt(run.ours.p99 / run.floor.p99)}×`);
  } finally {
    await floor.stop();
  }

  // Fan-out.
  const live = await startLiveFloor(database.url, adminToken);
  try {
    const runs = await fanoutGuardRuns(gql, database.admin, ours, live, project, 1000, 3000, 2);
    const merged = (results: PhaseResult[]) => ({
      p50: summarize(results.map((r) => r.latency.p50)).p50,
      p99: Math.max(...results.map((r) => r.latency.p99)),
      lost: results.reduce((sum, r) => sum + r.missing + r.duplicates + r.broken, 0),
    });
    const o = merged(runs.ours);
    const f = merged(runs.floor);
    if (o.lost || f.lost) failures.push(`fan-out: ${o.lost} missing/duplicated/broken (ours), ${f.lost} (floor)`);
    const each = (results: PhaseResult[]) => results.map((r) => `${fmt(r.latency.p50)}/${fmt(r.latency.p99)}`).join(', ');
    gate('fan-out, 1,000 subscribers: ours ÷ floor median latency', o.p50 / f.p50, bounds.fanout, `ours p50/p99 per run ${each(runs.ours)} ms; floor ${each(runs.floor)} ms; p99 ratio ${fmt(o.p99 / f.p99)}×`);
  } finally {
    await live.close();
  }
} finally {
  await ours.stop();
  await database.drop().catch((error: unknown) => console.error('dropping the guard database:', error));
  await embedded?.stop();
  if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
}

console.log(lines.join('\n'));
console.log(`bench:guard took ${fmt((performance.now() - t0) / 1000)} s`);
if (failures.length) {
  console.error(`bench:guard FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
