import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type pg from 'pg';
import { createPool } from '../../src/db/pool.js';
import { qualify } from '../../src/db/identifiers.js';
import { openLoopInserts, type GeneratorResult } from '../lib/generator.js';
import { cpuMsOf, root, rssBytes, spawnTs, startFloor, type Child } from '../lib/processes.js';
import { HEAP_PROBE_FLAG, HeapProbe } from '../lib/heap-probe.js';
import { describeHistogram, histogramBetween, type HistogramSummary } from '../lib/histogram.js';
import { WRITE_DELAY_METRIC } from '../../src/transports/group-fan-out.js';
import type { Report } from '../lib/report.js';
import { CREATE_TABLE, createProject, type BenchProject } from '../lib/seed.js';
import { fmt, sleep, summarize, within } from '../lib/stats.js';
import type { Gql } from '../lib/setup.js';
import type { Command, SubscriberReport, SubscriptionSpec } from '../subscriber.js';

const LIVE_COLUMNS = [
  { name: 'seq', type: 'INTEGER', nullable: false },
  { name: 'stamped_at', type: 'TIMESTAMPTZ', nullable: false },
];

/** The floor's copy of a table: same columns, a row trigger that NOTIFYs the row itself. */
async function createFloorTables(admin: pg.Pool, names: string[]) {
  await admin.query(/* SQL */ `
    CREATE SCHEMA IF NOT EXISTS bench_floor;
    CREATE OR REPLACE FUNCTION bench_floor.notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('bench_floor', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || '|' || row_to_json(NEW)::text);
      RETURN NULL;
    END $$;`);
  for (const name of names) {
    const table = qualify('bench_floor', name);
    await admin.query(/* SQL */ `CREATE TABLE ${table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, seq integer NOT NULL, stamped_at timestamptz NOT NULL);
      CREATE TRIGGER notify_row AFTER INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION bench_floor.notify_row();`);
  }
}

/** A subscriber child process, driven over IPC. */
class SubscriberProcess {
  private waiting: ((message: any) => void)[] = [];
  constructor(readonly child: ChildProcess) {
    child.on('message', (message) => this.waiting.shift()?.(message));
  }
  static spawn() {
    const child = spawnTs('bench/subscriber.ts', {}, ['--max-old-space-size=2048'], true);
    child.stderr?.on('data', (chunk) => process.stderr.write(`[subscriber ${child.pid}] ${chunk}`));
    return new SubscriberProcess(child);
  }
  ask<T>(command: Command, ms = 120_000): Promise<T> {
    const answer = new Promise<T>((resolve) => this.waiting.push(resolve));
    this.child.send(command);
    return within(answer, ms, `subscriber ${this.child.pid} ${command.type}`);
  }
  async close() {
    this.child.send({ type: 'close' } satisfies Command);
    await Promise.race([new Promise((resolve) => this.child.once('exit', resolve)), sleep(5_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export interface PhaseResult {
  generator: GeneratorResult;
  latency: ReturnType<typeof summarize>;
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  broken: number;
  firstError?: string;
  /** Sum over the subscriber processes, and the busiest one (share of one core each). */
  subscriberCpu: number;
  subscriberCpuMax: number;
  serverCpu: number;
  /** The server's own commit → socket-write time over the run (from its histogram: bucket bounds). */
  serverWrite: HistogramSummary;
  /** Bytes of a `next` frame as the subscribers received it. */
  frameBytes?: number;
  /** Server RSS before the sockets opened and once they were all subscribed and idle. */
  rssBefore: number;
  rssIdle: number;
  /** RSS once the first wave of processes had opened its `subsFirstWave` subscriptions. */
  rssFirstWave: number;
  /** Live memory (heap in use + external, after a full GC) at the same three moments. */
  liveBefore: number;
  liveFirstWave: number;
  liveIdle: number;
  subsFirstWave: number;
  /** Handshakes that failed after retries / retried, and the first error seen while opening. */
  openBroken: number;
  openRetries: number;
  openError?: string;
  /** How long after the last insert the deliveries kept arriving. */
  drainMs: number;
}

interface Phase {
  mode: 'ours' | 'floor';
  url: string;
  server: Child;
  subs: SubscriptionSpec[];
  processes: number;
  /** Where each subscription key's rows are inserted (qualified SQL name). */
  tableSql: Map<string, string>;
  rate: number;
  durationMs: number;
  /** The server's Prometheus text (GET /metrics), for its own commit → socket-write times. */
  metrics: () => Promise<string>;
  /** Sockets paused (not read) among the subscribers during the run: a stalled client; not in the figures. */
  paused?: number;
  /** Read the server's memory at each wave (inspector, settled RSS: seconds each). @default true */
  memory?: boolean;
}

/**
 * Opens the subscribers over several processes, proves every one is live with a warm-up row per
 * table, then inserts open-loop and collects every delivery; finally checks the deliveries
 * against what was inserted (missing and duplicated events are counted, not hidden).
 */
/**
 * The server's RSS once it has settled: read every second until two readings in a row move less
 * than 0.5 % (at most 15 s). Right after the sockets open, garbage from the handshakes is still on
 * the heap until V8 collects it; a single reading after 2 s put the same build at 9 to 21 KB.
 */
async function settledRss(pid: number): Promise<number> {
  let last = rssBytes(pid);
  let calm = 0;
  for (let waited = 0; waited < 15_000 && calm < 2; waited += 1000) {
    await sleep(1000);
    const now = rssBytes(pid);
    calm = Math.abs(now - last) < last * 0.005 ? calm + 1 : 0;
    last = now;
  }
  return last;
}

/** The server's memory (live and RSS) before the sockets opened and after each of the two waves. */
type MemoryReadings = Pick<PhaseResult, 'rssBefore' | 'rssFirstWave' | 'rssIdle' | 'liveBefore' | 'liveFirstWave' | 'liveIdle' | 'subsFirstWave' | 'openBroken' | 'openRetries' | 'openError'>;

/**
 * Opens the phase's subscribers in two waves (the first half of the processes, then the rest),
 * reading the server's memory before and after each, then waits until every open subscriber has
 * had a warm-up row: all are subscribed for sure.
 */
async function openAndMeasure(pool: pg.Pool, phase: Phase, children: SubscriberProcess[], maxSeq: number): Promise<MemoryReadings> {
  const probe = phase.memory === false ? undefined : await HeapProbe.open(phase.server);
  const liveBytes = async () => (probe ? probe.liveBytes() : Number.NaN);
  const serverRss = async () => (probe ? settledRss(phase.server.pid) : rssBytes(phase.server.pid));
  const snapshot = async (wave: string) => {
    if (probe && process.env.BENCH_HEAP_SNAPSHOTS === '1') await probe.snapshot(join(root, `bench/profiles/${phase.mode}-${phase.subs.length}-${wave}.heapsnapshot`));
  };
  try {
    const liveBefore = await liveBytes();
    const rssBefore = rssBytes(phase.server.pid);
    const shareOf = (c: number) => phase.subs.filter((_, i) => i % children.length === c);
    const open = (c: number) =>
      children[c]!.ask<{ broken: number; retries: number; firstError?: string }>({ type: 'open', url: phase.url, subs: shareOf(c), maxSeq }, 300_000);
    // The growth between the two waves is the cost of one more subscription, without one-time
    // costs (code compiled, caches filled) that the first subscriptions pay.
    const firstWave = Math.floor(children.length / 2);
    const opened = await Promise.all(children.slice(0, firstWave).map((_, c) => open(c)));
    const liveFirstWave = await liveBytes();
    await snapshot('first-wave');
    const rssFirstWave = await serverRss();
    const subsFirstWave = children.slice(0, firstWave).reduce((sum, _, c) => sum + shareOf(c).length, 0);
    opened.push(...(await Promise.all(children.slice(firstWave).map((_, k) => open(firstWave + k)))));
    const liveIdle = await liveBytes();
    await snapshot('all');
    const rssIdle = await serverRss();
    // Handshakes that failed even after retries are not hidden: those subscribers stay in the
    // count, so every event they should have had is reported missing.
    const openBroken = opened.reduce((sum, o) => sum + o.broken, 0);
    const openRetries = opened.reduce((sum, o) => sum + o.retries, 0);
    const openError = opened.find((o) => o.firstError)?.firstError;
    if (openBroken === phase.subs.length) throw new Error(`no subscriber could open: ${openError}`);
    // Warm-up rows (seq -1) until every subscriber has had one: then all are subscribed for sure.
    const deadline = performance.now() + 60_000;
    let warm = 0;
    let lastStatus = '';
    while (warm < phase.subs.length - openBroken) {
      if (performance.now() > deadline) throw new Error(`only ${warm} of ${phase.subs.length - openBroken} open subscribers received the warm-up rows (${lastStatus})`);
      for (const sql of phase.tableSql.values()) await pool.query(`INSERT INTO ${sql} (seq, stamped_at) VALUES (-1, clock_timestamp())`);
      await sleep(1000);
      const statuses = await Promise.all(children.map((child) => child.ask<{ warm: number; broken: number; firstError?: string }>({ type: 'status' })));
      warm = statuses.reduce((sum, s) => sum + s.warm, 0);
      lastStatus = `${statuses.reduce((sum, s) => sum + s.broken, 0)} broken${statuses.find((s) => s.firstError) ? `, first error: ${statuses.find((s) => s.firstError)!.firstError}` : ''}`;
    }
    return { rssBefore, rssFirstWave, rssIdle, liveBefore, liveFirstWave, liveIdle, subsFirstWave, openBroken, openRetries, openError };
  } finally {
    probe?.close();
  }
}

/**
 * Every connection of the generator's pool opened, and an insert into each of the phase's tables
 * run and rolled back on it (no event, no delivery): the first insert on a new backend opens it
 * and loads its caches (and, for ours, compiles the row's capture trigger). The pool is shared by
 * ours and the floor, so without this the side that ran first paid for connections the other then
 * reused: §5's generator, ours first, took 34.7 ms per insert (p50) in its first third and 2.7 ms
 * in its last. What stays unwarmed is ours' commit-time stamp, compiled at a backend's first commit.
 */
async function warmEveryConnection(pool: pg.Pool, tables: { sql: string }[]): Promise<void> {
  const clients = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
  try {
    await Promise.all(clients.map(async (client) => {
      await client.query('BEGIN');
      for (const table of tables) await client.query(`INSERT INTO ${table.sql} (seq, stamped_at) VALUES (-1, clock_timestamp())`);
      await client.query('ROLLBACK');
    }));
  } finally {
    for (const client of clients) client.release();
  }
}

async function runPhase(pool: pg.Pool, phase: Phase): Promise<PhaseResult> {
  const children = Array.from({ length: phase.processes }, () => SubscriberProcess.spawn());
  try {
    const tables = [...phase.tableSql].map(([key, sql]) => ({ key, sql }));
    const maxSeq = Math.ceil((phase.rate * phase.durationMs) / 1000 / tables.length) + 2;
    const memory = await openAndMeasure(pool, phase, children, maxSeq);
    await warmEveryConnection(pool, tables);
    await sleep(1000);
    if (phase.paused) await children[0]!.ask({ type: 'pause', count: phase.paused });
    await Promise.all(children.map((child) => child.ask({ type: 'status' })));
    const metrics0 = await phase.metrics();
    const serverCpu0 = cpuMsOf(phase.server.pid);
    const t0 = performance.now();
    const generator = await openLoopInserts(pool, tables, phase.rate, phase.durationMs);
    const perKey = new Map<string, number>();
    for (const sub of phase.subs) perKey.set(sub.key, (perKey.get(sub.key) ?? 0) + 1);
    // The paused sockets (the first of the first process) are out of the count.
    const expected = [...perKey].reduce((sum, [key, subscribers]) => sum + subscribers * (generator.inserted[key]?.length ?? 0), 0) - (phase.paused ?? 0) * (generator.inserted[phase.subs[0]!.key]?.length ?? 0);
    // Let the backlog drain: wait while deliveries still arrive (up to 60 s), so a slow server
    // shows as latency and only events that never come count as missing.
    const drainStart = performance.now();
    let delivered = -1;
    let stalledSince = performance.now();
    for (;;) {
      await sleep(500);
      const now = (await Promise.all(children.map((child) => child.ask<{ delivered: number }>({ type: 'count' })))).reduce((sum, c) => sum + c.delivered, 0);
      if (now !== delivered) stalledSince = performance.now();
      delivered = now;
      if (delivered >= expected || performance.now() - stalledSince > 3000 || performance.now() - drainStart > 60_000) break;
    }
    const drainMs = stalledSince - drainStart;
    const serverCpu = (cpuMsOf(phase.server.pid) - serverCpu0) / (performance.now() - t0);
    const serverWrite = histogramBetween(metrics0, await phase.metrics(), WRITE_DELAY_METRIC);
    const reports = await Promise.all(children.map((child) => child.ask<SubscriberReport>({ type: 'report', expected: generator.inserted })));
    const all = new Float64Array(reports.reduce((sum, r) => sum + r.latencies.length, 0));
    let offset = 0;
    for (const r of reports) {
      all.set(r.latencies, offset);
      offset += r.latencies.length;
    }
    return {
      generator,
      latency: summarize(all),
      expected,
      delivered: reports.reduce((sum, r) => sum + r.delivered, 0),
      missing: reports.reduce((sum, r) => sum + r.missing, 0),
      duplicates: reports.reduce((sum, r) => sum + r.duplicates, 0),
      broken: reports.reduce((sum, r) => sum + r.broken, 0),
      firstError: reports.find((r) => r.firstError)?.firstError,
      subscriberCpu: reports.reduce((sum, r) => sum + r.cpuMs / r.wallMs, 0),
      subscriberCpuMax: Math.max(...reports.map((r) => r.cpuMs / r.wallMs)),
      serverCpu,
      serverWrite,
      frameBytes: reports.find((r) => r.frameBytes)?.frameBytes,
      ...memory,
      drainMs,
    };
  } finally {
    await Promise.all(children.map((child) => child.close()));
  }
}

/** Only the memory readings of a phase: the subscribers open in their two waves, get a warm-up row, and close. */
async function memoryPhase(pool: pg.Pool, phase: Phase): Promise<MemoryReadings> {
  const children = Array.from({ length: phase.processes }, () => SubscriberProcess.spawn());
  try {
    return await openAndMeasure(pool, phase, children, 2);
  } finally {
    await Promise.all(children.map((child) => child.close()));
  }
}

function describe(report: Report, label: string, r: PhaseResult) {
  const g = r.generator;
  report.detail(
    `${label}: commit→subscriber p50 ${fmt(r.latency.p50)} ms, p99 ${fmt(r.latency.p99)} ms, max ${fmt(r.latency.max)} ms; ` +
      `delivered ${r.delivered} of ${r.expected} expected (${r.missing} missing, ${r.duplicates} duplicates, ${r.broken} broken subscriptions${r.firstError ? `: ${r.firstError}` : ''}); ` +
      `opening: ${r.openRetries} handshakes retried, ${r.openBroken} failed for good${r.openError ? ` (${r.openError})` : ''}; ` +
      `the last deliveries came ${fmt(r.drainMs / 1000)} s after the last insert; server CPU ${(r.serverCpu * 100).toFixed(0)}%, subscriber processes CPU ${(r.subscriberCpu * 100).toFixed(0)}% (sum), ${(r.subscriberCpuMax * 100).toFixed(0)}% (busiest); ` +
      `server's own commit→socket-write ${describeHistogram(r.serverWrite)}; ${r.frameBytes ?? '?'} bytes per next frame`,
  );
  report.detail(
    `${label} generator: ${g.sent} inserts at ${fmt(g.achievedRate)}/s achieved, ${g.failed} failed; round-trip p50 ${fmt(g.roundTrip.p50)} ms ` +
      `(first third ${fmt(g.roundTrip.firstThirdP50)} ms, last third ${fmt(g.roundTrip.lastThirdP50)} ms), p99 ${fmt(g.roundTrip.p99)} ms; ` +
      `sent late p99 ${fmt(g.lateP99)} ms; generator CPU ${(g.generatorCpu * 100).toFixed(0)}%`,
  );
}

export interface LiveSetup {
  floor: Child;
  pool: pg.Pool;
  /** GET /metrics of paige-db (`ours`, with the admin token) or of the floor. */
  metricsOf(server: Child): () => Promise<string>;
  close(): Promise<void>;
}

export async function startLiveFloor(url: string, adminToken: string): Promise<LiveSetup> {
  const floor = await startFloor('bench/floor-live.ts', { DATABASE_URL: url }, [HEAP_PROBE_FLAG]);
  const pool = createPool(url, { max: 16, applicationName: 'paige-bench-generator' });
  const metricsOf = (server: Child) => async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: server === floor ? {} : { authorization: `Bearer ${adminToken}` } });
    if (!response.ok) throw new Error(`GET /metrics on :${server.port}: ${response.status}`);
    return response.text();
  };
  return { floor, pool, metricsOf, close: async () => (await pool.end(), await floor.stop()) };
}

/** Which summary rows a delivery run fills: issue 7's (trigger capture) or issue 13's (logical). */
export interface DeliveryFigures {
  section: string;
  /** Before every figure and detail name: empty for the trigger run. */
  label: string;
}

/**
 * Issue 7 §5: 10 projects × 10 tables × 10 subscribers at 200 inserts/s, vs raw LISTEN → ws; the
 * server captures however its database does (triggers on the machine's Postgres, the WAL on a
 * logical cluster), and the floor is the same in both.
 */
export async function deliveryBench(report: Report, gql: Gql, admin: pg.Pool, server: Child, live: LiveSetup, durationMs: number, figures: DeliveryFigures = { section: '5', label: '' }) {
  const made = await Promise.all(Array.from({ length: 10 }, (_, i) => createProject(gql, `bench-live-${i}`)));
  await Promise.all(
    made.map(async (project) => {
      for (let k = 0; k < 10; k++) await gql(CREATE_TABLE, { p: project.id, input: { name: `live_${k}`, columns: LIVE_COLUMNS } }, project.token);
    }),
  );
  const floorNames = made.flatMap((_, i) => Array.from({ length: 10 }, (__, k) => `p${i}_live_${k}`));
  await createFloorTables(admin, floorNames);

  const oursSubs: SubscriptionSpec[] = [];
  const floorSubs: SubscriptionSpec[] = [];
  const oursTables = new Map<string, string>();
  const floorTables = new Map<string, string>();
  made.forEach((project, i) => {
    for (let k = 0; k < 10; k++) {
      const key = `${project.schema}.live_${k}`;
      const floorKey = `bench_floor.p${i}_live_${k}`;
      oursTables.set(key, qualify(project.schema, `live_${k}`));
      floorTables.set(floorKey, qualify('bench_floor', `p${i}_live_${k}`));
      for (let j = 0; j < 10; j++) {
        oursSubs.push({ key, projectId: project.id, table: `live_${k}`, token: project.token });
        floorSubs.push({ key: floorKey, projectId: '', table: floorKey, token: '' });
      }
    }
  });
  const wsUrl = `ws://127.0.0.1:${server.port}/graphql`;
  const ours = await runPhase(live.pool, { mode: 'ours', url: wsUrl, server, subs: oursSubs, processes: 4, tableSql: oursTables, rate: 200, durationMs, metrics: live.metricsOf(server) });
  const { section, label } = figures;
  describe(report, `${label}1,000 subscribers, ours `, ours);
  const floor = await runPhase(live.pool, { mode: 'floor', url: `ws://127.0.0.1:${live.floor.port}`, server: live.floor, subs: floorSubs, processes: 4, tableSql: floorTables, rate: 200, durationMs, metrics: live.metricsOf(live.floor) });
  describe(report, `${label}1,000 subscribers, floor`, floor);
  const complete = ours.missing === 0 && ours.duplicates === 0 && ours.broken === 0 ? undefined : `${ours.missing} missing, ${ours.duplicates} dup`;
  report.atMost(section, `${label}1,000 subs @ 200 inserts/s: p50`, 'ms', ours.latency.p50, 15, floor.latency.p50, complete);
  report.atMost(section, `${label}1,000 subs @ 200 inserts/s: p99`, 'ms', ours.latency.p99, 50, floor.latency.p99, complete);
  report.withinOfFloor(section, `${label}1,000 subs: p99 vs floor`, 'ms', ours.latency.p99, floor.latency.p99, 25);
  report.info(section, `${label}1,000 subs: deliveries`, 'events', ours.delivered, floor.delivered, `expected ${ours.expected}`);
}

/** The fan-out rounds: ours and the floor, the same subscribers, one table, 10 inserts/s. */
export interface FanoutOptions {
  durationMs: number;
  /** Subscribers of the 5,000 round, and of the optional larger one (issue 16: 10,000). */
  subscribers: number;
  larger?: number;
  /** Also a round with one paused socket among `subscribers`, to show a stalled client harms nobody. */
  withPaused: boolean;
  /** Interleaved pairs (ours, floor, ours, floor …) of the main round; figures are the worst of them. */
  pairs: number;
  /** Only the memory per idle subscription, in `pairs` interleaved pairs: no inserts, no other round. */
  memoryOnly?: boolean;
}

/** One fan-out pair: ours then the floor, on `n` subscribers over `processes` processes. */
async function fanoutPair(live: LiveSetup, server: Child, project: BenchProject, n: number, processes: number, durationMs: number, paused = 0) {
  const key = `${project.schema}.fanout`;
  const subs = Array.from({ length: n }, () => ({ key, projectId: project.id, table: 'fanout', token: project.token }));
  const floorSubs = Array.from({ length: n }, () => ({ key: 'bench_floor.fanout', projectId: '', table: 'bench_floor.fanout', token: '' }));
  const ours = await runPhase(live.pool, { mode: 'ours', url: `ws://127.0.0.1:${server.port}/graphql`, server, subs, processes, tableSql: new Map([[key, qualify(project.schema, 'fanout')]]), rate: 10, durationMs, metrics: live.metricsOf(server), paused });
  const floor = await runPhase(live.pool, { mode: 'floor', url: `ws://127.0.0.1:${live.floor.port}`, server: live.floor, subs: floorSubs, processes, tableSql: new Map([['bench_floor.fanout', qualify('bench_floor', 'fanout')]]), rate: 10, durationMs, metrics: live.metricsOf(live.floor), paused });
  return { ours, floor };
}

/**
 * The CI guard's fan-out (bench/guard.ts): `pairs` interleaved runs of ours and the floor (the
 * order alternating), `n` subscribers on one table over 2 processes, 10 inserts/s, no memory
 * readings. Returns every run, for ratios.
 */
export async function fanoutGuardRuns(gql: Gql, admin: pg.Pool, server: Child, live: LiveSetup, project: BenchProject, n: number, durationMs: number, pairs: number) {
  await gql(CREATE_TABLE, { p: project.id, input: { name: 'fanout', columns: LIVE_COLUMNS } }, project.token);
  await createFloorTables(admin, ['fanout']);
  const key = `${project.schema}.fanout`;
  const phases: Record<'ours' | 'floor', Phase> = {
    ours: { mode: 'ours', url: `ws://127.0.0.1:${server.port}/graphql`, server, subs: Array.from({ length: n }, () => ({ key, projectId: project.id, table: 'fanout', token: project.token })), processes: 2, tableSql: new Map([[key, qualify(project.schema, 'fanout')]]), rate: 10, durationMs, metrics: live.metricsOf(server), memory: false },
    floor: { mode: 'floor', url: `ws://127.0.0.1:${live.floor.port}`, server: live.floor, subs: Array.from({ length: n }, () => ({ key: 'bench_floor.fanout', projectId: '', table: 'bench_floor.fanout', token: '' })), processes: 2, tableSql: new Map([['bench_floor.fanout', qualify('bench_floor', 'fanout')]]), rate: 10, durationMs, metrics: live.metricsOf(live.floor), memory: false },
  };
  const runs: Record<'ours' | 'floor', PhaseResult[]> = { ours: [], floor: [] };
  for (let pair = 0; pair < pairs; pair++) {
    for (const side of pair % 2 === 0 ? (['ours', 'floor'] as const) : (['floor', 'ours'] as const)) runs[side].push(await runPhase(live.pool, phases[side]));
  }
  return runs;
}

/** Ours' and the floor's frames must be alike, or the floor is not doing the same work. */
function checkFrames(ours: PhaseResult, floor: PhaseResult) {
  if (ours.frameBytes === undefined || floor.frameBytes === undefined) return;
  if (Math.abs(ours.frameBytes - floor.frameBytes) > 8) throw new Error(`the floor's next frames (${floor.frameBytes} bytes) are not like paige-db's (${ours.frameBytes} bytes): the comparison would be void`);
}

/**
 * Issue 7 §6 and issue 16: 5,000 subscribers on one table at 10 inserts/s (interleaved pairs),
 * memory per idle subscription; then optionally one paused socket among them, and 10,000.
 */
export async function fanoutBench(report: Report, gql: Gql, admin: pg.Pool, server: Child, live: LiveSetup, project: BenchProject, options: FanoutOptions) {
  await gql(CREATE_TABLE, { p: project.id, input: { name: 'fanout', columns: LIVE_COLUMNS } }, project.token);
  await createFloorTables(admin, ['fanout']);
  const n = options.subscribers;
  const label = (k: number) => k.toLocaleString('en');
  if (options.memoryOnly) return fanoutMemoryOnly(report, live, server, project, n, options.pairs);
  const rounds: { ours: PhaseResult; floor: PhaseResult }[] = [];
  for (let pair = 0; pair < options.pairs; pair++) {
    const round = await fanoutPair(live, server, project, n, 5, options.durationMs);
    checkFrames(round.ours, round.floor);
    describe(report, `${label(n)} subscribers, ours  (pair ${pair + 1})`, round.ours);
    describe(report, `${label(n)} subscribers, floor (pair ${pair + 1})`, round.floor);
    rounds.push(round);
  }
  // The worst pair counts: a target met once in three runs is not met.
  const worst = rounds.reduce((a, b) => (b.ours.latency.p99 / b.floor.latency.p99 > a.ours.latency.p99 / a.floor.latency.p99 ? b : a));
  const { ours, floor } = worst;
  const marginal = (r: PhaseResult) => (r.rssIdle - r.rssFirstWave) / (n - r.subsFirstWave) / 1024;
  const liveMarginal = (r: PhaseResult) => (r.liveIdle - r.liveFirstWave) / (n - r.subsFirstWave) / 1024;
  const mb = (bytes: number) => fmt(bytes / 2 ** 20);
  report.detail(
    `server live memory (heap in use + external, after a full GC) with idle subscriptions: ours ${mb(ours.liveBefore)} MB → ${mb(ours.liveFirstWave)} MB (${ours.subsFirstWave}) → ${mb(ours.liveIdle)} MB (${label(n)}); ` +
      `floor ${mb(floor.liveBefore)} → ${mb(floor.liveFirstWave)} → ${mb(floor.liveIdle)} MB; per added subscription: ours ${fmt(liveMarginal(ours))} KB, floor ${fmt(liveMarginal(floor))} KB`,
  );
  report.detail(
    `server RSS with idle subscriptions: ours ${mb(ours.rssBefore)} MB → ${mb(ours.rssFirstWave)} MB (${ours.subsFirstWave}) → ${mb(ours.rssIdle)} MB (${label(n)}); ` +
      `floor ${mb(floor.rssBefore)} → ${mb(floor.rssFirstWave)} (${floor.subsFirstWave}) → ${mb(floor.rssIdle)} MB`,
  );
  report.detail(`memory per idle subscription: ${fmt(marginal(ours))} KB between the waves, ${fmt((ours.rssIdle - ours.rssBefore) / n / 1024)} KB averaged over all ${label(n)} from before the first socket (floor: ${fmt(marginal(floor))} / ${fmt((floor.rssIdle - floor.rssBefore) / n / 1024)} KB)`);
  const p99s = (side: 'ours' | 'floor') => rounds.map((r) => fmt(r[side].latency.p99)).join(' / ');
  report.detail(`${label(n)} subscribers, p99 of each pair: ours ${p99s('ours')} ms, floor ${p99s('floor')} ms (the summary shows the pair with the highest ratio)`);
  report.atMost('6', `${label(n)} subs @ 10 inserts/s: missing events`, 'events', rounds.reduce((sum, r) => sum + r.ours.missing + r.ours.duplicates, 0), 0, rounds.reduce((sum, r) => sum + r.floor.missing + r.floor.duplicates, 0), `${ours.delivered} of ${ours.expected} delivered`);
  report.atMost('6', `${label(n)} subs @ 10 inserts/s: p99`, 'ms', ours.latency.p99, 500, floor.latency.p99);
  report.atMostRatio('6', `${label(n)} subs: p99 vs floor`, 'ms', ours.latency.p99, floor.latency.p99, 2);
  report.info('6', `${label(n)} subs: server's own commit→socket-write p99 (histogram bucket)`, 'ms', ours.serverWrite.p99, floor.serverWrite.p99);
  report.info('6', `${label(n)} subs: subscriber processes' CPU, busiest process`, '% of a core', ours.subscriberCpuMax * 100, floor.subscriberCpuMax * 100);
  // Live memory, not RSS: RSS also counts the free heap V8 keeps, which moved the same build's
  // figure between 6 and 21 KB from run to run; RSS stays in the details above.
  report.atMost('6', 'memory per idle subscription (live memory per added one)', 'KB', liveMarginal(ours), 8, liveMarginal(floor));

  if (options.withPaused) {
    const paused = await fanoutPair(live, server, project, n, 5, options.durationMs, 1);
    describe(report, `${label(n)} subscribers with one paused socket, ours `, paused.ours);
    describe(report, `${label(n)} subscribers with one paused socket, floor`, paused.floor);
    report.info('6', `${label(n)} subs, one socket paused: the others' p99`, 'ms', paused.ours.latency.p99, paused.floor.latency.p99, `without: ${fmt(ours.latency.p99)} ms; ${paused.ours.missing} missing`);
  }
  if (options.larger) {
    const big = await fanoutPair(live, server, project, options.larger, 8, options.durationMs);
    describe(report, `${label(options.larger)} subscribers, ours `, big.ours);
    describe(report, `${label(options.larger)} subscribers, floor`, big.floor);
    report.atMost('6', `${label(options.larger)} subs @ 10 inserts/s: missing events`, 'events', big.ours.missing + big.ours.duplicates, 0, big.floor.missing + big.floor.duplicates, `${big.ours.delivered} of ${big.ours.expected} delivered`);
    report.atMost('6', `${label(options.larger)} subs @ 10 inserts/s: p99`, 'ms', big.ours.latency.p99, 1000, big.floor.latency.p99);
  }
}

/**
 * BENCH_FANOUT_MEMORY_ONLY=1: the memory per idle subscription alone, in interleaved pairs (ours,
 * floor), the same waves of the same subscribers as the 5,000 round, without its inserts: about
 * 40 s a pair instead of minutes, for measuring a change to what a subscription keeps.
 */
async function fanoutMemoryOnly(report: Report, live: LiveSetup, server: Child, project: BenchProject, n: number, pairs: number) {
  const key = `${project.schema}.fanout`;
  const phases: Record<'ours' | 'floor', Phase> = {
    ours: { mode: 'ours', url: `ws://127.0.0.1:${server.port}/graphql`, server, subs: Array.from({ length: n }, () => ({ key, projectId: project.id, table: 'fanout', token: project.token })), processes: 5, tableSql: new Map([[key, qualify(project.schema, 'fanout')]]), rate: 0, durationMs: 0, metrics: live.metricsOf(server) },
    floor: { mode: 'floor', url: `ws://127.0.0.1:${live.floor.port}`, server: live.floor, subs: Array.from({ length: n }, () => ({ key: 'bench_floor.fanout', projectId: '', table: 'bench_floor.fanout', token: '' })), processes: 5, tableSql: new Map([['bench_floor.fanout', qualify('bench_floor', 'fanout')]]), rate: 0, durationMs: 0, metrics: live.metricsOf(live.floor) },
  };
  const perAdded = (m: MemoryReadings) => (m.liveIdle - m.liveFirstWave) / (n - m.subsFirstWave) / 1024;
  const figures: Record<'ours' | 'floor', number[]> = { ours: [], floor: [] };
  for (let pair = 0; pair < pairs; pair++) {
    for (const side of ['ours', 'floor'] as const) {
      const m = await memoryPhase(live.pool, phases[side]);
      if (m.openBroken > 0) throw new Error(`${side}: ${m.openBroken} subscribers could not open (${m.openError})`);
      figures[side].push(perAdded(m));
      report.detail(`memory only, pair ${pair + 1}, ${side}: live ${fmt(m.liveBefore / 2 ** 20)} → ${fmt(m.liveFirstWave / 2 ** 20)} → ${fmt(m.liveIdle / 2 ** 20)} MB; ${fmt(perAdded(m))} KB per added subscription`);
    }
  }
  const worst = (side: 'ours' | 'floor') => Math.max(...figures[side]);
  report.atMost('6', 'memory per idle subscription (live memory per added one)', 'KB', worst('ours'), 8, worst('floor'), `memory-only run, ${pairs} pairs: ours ${figures.ours.map((x) => fmt(x)).join(' / ')}, floor ${figures.floor.map((x) => fmt(x)).join(' / ')}`);
}
