import type pg from 'pg';
import { createPool } from '../../src/db/pool.js';
import { qualify, quoteIdent } from '../../src/db/identifiers.js';
import { closedLoopCalls, mergeRounds, type Round } from '../lib/http-load.js';
import { cpuMsOf } from '../lib/processes.js';
import type { Report } from '../lib/report.js';
import { CREATE_TABLE, createProject, type BenchProject } from '../lib/seed.js';
import { fmt, sleep } from '../lib/stats.js';
import type { Gql } from '../lib/setup.js';
import type { CaptureCounters, LogicalTarget } from '../lib/logical.js';

const COLUMNS = [
  { name: 'guest', type: 'TEXT', nullable: false },
  { name: 'nights', type: 'INTEGER' },
  { name: 'amount', type: 'NUMERIC' },
];

/** Plain tables live here: outside every project schema, so outside the publication. */
const PLAIN_SCHEMA = 'bench_plain';

/** What the WAL capture bench writes into: a project table (captured) and its plain twin. */
interface TablePair {
  project: BenchProject;
  name: string;
  captured: string;
  plain: string;
}

/**
 * A table made by createTable in the project (in the publication: every insert is captured), and
 * a copy of it (LIKE ... INCLUDING ALL: same columns, identity, keys) outside every project schema,
 * which the publication does not hold: the same insert with no capture at all.
 */
async function tablePair(gql: Gql, admin: pg.Pool, project: BenchProject, name: string): Promise<TablePair> {
  await gql(CREATE_TABLE, { p: project.id, input: { name, columns: COLUMNS } }, project.token);
  const captured = qualify(project.schema, name);
  const plain = qualify(PLAIN_SCHEMA, `${project.schema}_${name}`);
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(PLAIN_SCHEMA)}; CREATE TABLE ${plain} (LIKE ${captured} INCLUDING ALL)`);
  return { project, name, captured, plain };
}

/** Writers into one table: `writers` callers on `pool`, closed loop. */
interface WriteLoop {
  pool: pg.Pool;
  table: string;
  writers: number;
}

const insertInto = (pool: pg.Pool, table: string) => async (i: number) => {
  await pool.query(`INSERT INTO ${table} (guest, nights, amount) VALUES ($1, $2, $3)`, [`writer ${i}`, i % 14, `${i}.50`]);
};

/**
 * Waits until the capture leader has appended every transaction committed so far: one more insert
 * into a captured table, then the change log is polled for its transaction. The leader appends in
 * commit order, so once that one is in the log every earlier one is too. Returns when it was seen.
 */
async function waitForLog(admin: pg.Pool, capturedTable: string, deadlineMs = 120_000): Promise<number> {
  const { rows } = await admin.query<{ xid: string }>(`INSERT INTO ${capturedTable} (guest) VALUES ('sentinel') RETURNING pg_current_xact_id()::text AS xid`);
  const xid = rows[0]!.xid;
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const found = await admin.query('SELECT 1 FROM paige.change_commits WHERE xid = $1::xid8', [xid]);
    if (found.rowCount) return performance.now();
    if (performance.now() > deadline) throw new Error(`the capture leader did not append transaction ${xid} within ${deadlineMs} ms`);
    await sleep(2);
  }
}

/** The Postgres processes that capture costs: the walsender decoding the slot and the leader's append session. */
async function captureBackends(admin: pg.Pool): Promise<{ walsender?: number; append?: number }> {
  const { rows } = await admin.query<{ pid: number; application_name: string; backend_type: string }>(
    `SELECT pid, application_name, backend_type FROM pg_stat_activity WHERE application_name IN ('paige-db-capture', 'paige-db-capture-stream')`,
  );
  return {
    walsender: rows.find((r) => r.backend_type === 'walsender')?.pid,
    append: rows.find((r) => r.application_name === 'paige-db-capture' && r.backend_type === 'client backend')?.pid,
  };
}

/** CPU (ms) of each process so far; a process we may not read counts as NaN, not 0. */
function cpuOf(pids: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => {
    try {
      return [name, pid === undefined ? Number.NaN : cpuMsOf(pid)];
    } catch {
      return [name, Number.NaN];
    }
  }));
}

/** One "on" round: the writers' own round, and the same round ending when the log holds all of it. */
interface OnRound {
  writers: Round;
  logged: Round;
  /** How long after the writers stopped the log held everything they wrote. */
  lagMs: number;
}

/**
 * Writes into the captured tables for `roundMs`, then waits until the log holds it all. The
 * "logged" round is the same inserts over the time until then: the decoder and the leader shared
 * the machine with the writers, and their backlog is paid for, not left behind the clock.
 */
async function onRound(admin: pg.Pool, loops: WriteLoop[], roundMs: number): Promise<OnRound[]> {
  const t0 = performance.now();
  const rounds = await Promise.all(loops.map((loop) => closedLoopCalls(loop.writers, roundMs, insertInto(loop.pool, loop.table))));
  const stopped = performance.now();
  const inLog = await waitForLog(admin, loops[0]!.table);
  return rounds.map((writers) => ({ writers, logged: { ...writers, wallMs: inLog - t0 }, lagMs: inLog - stopped }));
}

const offRound = (loops: WriteLoop[], roundMs: number) =>
  Promise.all(loops.map((loop) => closedLoopCalls(loop.writers, roundMs, insertInto(loop.pool, loop.table))));

/** Each captured table's rows must match its INSERT entries in the log (one per row: its key is (xid, id)); the plain tables must have none. */
async function checkLog(report: Report, admin: pg.Pool, pairs: TablePair[]) {
  let failed = 0;
  let rows = 0;
  for (const pair of pairs) {
    const { rows: [counts] } = await admin.query<{ rows: string; logged: string; plain_logged: string }>(
      `SELECT (SELECT count(*) FROM ${pair.captured}) AS rows,
              (SELECT count(*) FROM paige.change_log WHERE schema_name = $1 AND table_name = $2 AND op = 'INSERT') AS logged,
              (SELECT count(*) FROM paige.change_log WHERE schema_name = $3) AS plain_logged`,
      [pair.project.schema, pair.name, PLAIN_SCHEMA],
    );
    rows += Number(counts!.rows);
    if (counts!.rows !== counts!.logged || counts!.plain_logged !== '0') {
      failed++;
      report.detail(`CHECK FAILED: ${pair.captured} has ${counts!.rows} rows and ${counts!.logged} logged inserts; ${counts!.plain_logged} log entries name ${PLAIN_SCHEMA}`);
    }
  }
  if (failed === 0) report.detail(`change log: as many INSERT entries as rows for each captured table (${rows} rows), none for the plain tables`);
}

/** The leader's append statements over some rounds: how many transactions each took on average. */
class Batches {
  private transactions = 0;
  private batches = 0;
  async during<T>(counters: () => Promise<CaptureCounters>, work: () => Promise<T>): Promise<T> {
    const before = await counters();
    const result = await work();
    const after = await counters();
    this.transactions += after.transactions - before.transactions;
    this.batches += after.batches - before.batches;
    return result;
  }
  describe(): string {
    return `the leader appended ${this.transactions} transactions in ${this.batches} statements (${fmt(this.transactions / this.batches)} each)`;
  }
}

const pct = (cpuMs: number, wallMs: number) => (Number.isNaN(cpuMs) ? '?' : `${((cpuMs / wallMs) * 100).toFixed(0)}%`);

/**
 * Issue 13 §7 and `npm run bench`: single-row autocommit inserts into a captured project table
 * vs a plain copy of it, on the same logical cluster, with paige-db (the capture leader) running
 * beside the writers on the same 2 cores. Rounds interleaved, 2 of each.
 */
export async function walCaptureBench(report: Report, target: LogicalTarget, roundMs: number) {
  const { gql, ours: server, counters } = target;
  const { admin, url } = target.database;
  const project = await createProject(gql, 'bench-wal-capture');
  const pair = await tablePair(gql, admin, project, 'wal_capture');
  const pool = createPool(url, { max: 32, applicationName: 'paige-bench-writers' });
  try {
    await waitForLog(admin, pair.captured);
    const backends = await captureBackends(admin);
    report.detail(`logical capture: walsender pid ${backends.walsender ?? 'not found'}, leader's append session pid ${backends.append ?? 'not found'}, paige-db pid ${server.pid}`);
    const processes = { 'paige-db (decoder and leader)': server.pid, walsender: backends.walsender, 'append session': backends.append };
    await offRound([{ pool, table: pair.plain, writers: 32 }], 500);
    await onRound(admin, [{ pool, table: pair.captured, writers: 32 }], 500);
    for (const writers of [1, 8, 32]) {
      const on: OnRound[] = [];
      const off: Round[] = [];
      // CPU of the capture's processes in both kinds of round: the walsender decodes the plain
      // table's inserts too (then drops them: not published), so "off" is not free of it.
      const cpu = { on: {} as Record<string, number>, off: {} as Record<string, number> };
      const wall = { on: 0, off: 0 };
      const appended = new Batches();
      for (let r = 0; r < 2; r++) {
        for (const which of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const before = cpuOf(processes);
          const t0 = performance.now();
          if (which === 'off') off.push(...(await offRound([{ pool, table: pair.plain, writers }], roundMs)));
          else on.push(...(await appended.during(counters, () => onRound(admin, [{ pool, table: pair.captured, writers }], roundMs))));
          wall[which] += performance.now() - t0;
          const after = cpuOf(processes);
          for (const name of Object.keys(after)) cpu[which][name] = (cpu[which][name] ?? 0) + after[name]! - before[name]!;
        }
      }
      const writersOn = mergeRounds(on.map((round) => round.writers));
      const logged = mergeRounds(on.map((round) => round.logged));
      const without = mergeRounds(off);
      const label = `${writers} writer${writers > 1 ? 's' : ''}`;
      report.detail(`${label}, capture on : writers ${fmt(writersOn.rps)} inserts/s (p50 ${fmt(writersOn.p50)} ms, p99 ${fmt(writersOn.p99)} ms, ${writersOn.failures} failed); all in the log: ${fmt(logged.rps)} inserts/s, the log complete ${on.map((round) => fmt(round.lagMs)).join(' / ')} ms after the writers stopped`);
      report.detail(`${label}, capture off: ${fmt(without.rps)} inserts/s, p50 ${fmt(without.p50)} ms, p99 ${fmt(without.p99)} ms, ${without.failures} failed`);
      report.detail(
        `${label}, CPU (share of one core, on / off rounds): ${Object.keys(cpu.on).map((name) => `${name} ${pct(cpu.on[name]!, wall.on)} / ${pct(cpu.off[name]!, wall.off)}`).join(', ')}; ` +
          `load generator ${(writersOn.generatorCpu * 100).toFixed(0)}% / ${(without.generatorCpu * 100).toFixed(0)}%; ` +
          `${appended.describe()}; per insert logged, the three capture processes ${fmt(Object.values(cpu.on).reduce((sum, ms) => sum + ms, 0) / on.reduce((sum, round) => sum + round.writers.latencies.length, 0) * 1000)} µs of CPU in the on rounds`,
      );
      report.atLeast('4L', `WAL capture on vs off, ${label}: inserts/s until all in the log`, '/s', logged.rps, without.rps, 0.8);
      report.info('4L', `WAL capture on vs off, ${label}: writers' own inserts/s`, '/s', writersOn.rps, without.rps);
    }
    await checkLog(report, admin, [pair]);
  } finally {
    await pool.end();
  }
}

/**
 * Issue 13 §7: 1, 2, 5 and 10 projects × 4 writers each at the same time (each project a bot with
 * a pool of 4), into captured tables and, in interleaved rounds, into their plain copies. Each
 * project's throughput with capture (until all in the log) against its own without.
 */
export async function walScaleBench(report: Report, target: LogicalTarget, roundMs: number) {
  const { gql, ours: server, counters } = target;
  const { admin, url } = target.database;
  const projects = await Promise.all(Array.from({ length: 10 }, (_, i) => createProject(gql, `bench-wal-scale-${i}`)));
  const pairs: TablePair[] = [];
  for (const project of projects) pairs.push(await tablePair(gql, admin, project, 'scale'));
  const pools = pairs.map(() => createPool(url, { max: 4, applicationName: 'paige-bench-scale' }));
  const WRITERS = 4;
  try {
    await waitForLog(admin, pairs[0]!.captured);
    const backends = await captureBackends(admin);
    const processes = { 'paige-db': server.pid, walsender: backends.walsender, 'append session': backends.append };
    const loops = (count: number, which: 'captured' | 'plain') => pairs.slice(0, count).map((pair, i) => ({ pool: pools[i]!, table: pair[which], writers: WRITERS }));
    await offRound(loops(10, 'plain'), 500);
    await onRound(admin, loops(10, 'captured'), 500);
    for (const count of [1, 2, 5, 10]) {
      const on: OnRound[][] = [];
      const off: Round[][] = [];
      const cpu: Record<string, number> = {};
      let onWall = 0;
      const appended = new Batches();
      for (let r = 0; r < 2; r++) {
        for (const which of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          if (which === 'off') {
            off.push(await offRound(loops(count, 'plain'), roundMs));
            continue;
          }
          const before = cpuOf(processes);
          const t0 = performance.now();
          on.push(await appended.during(counters, () => onRound(admin, loops(count, 'captured'), roundMs)));
          onWall += performance.now() - t0;
          const after = cpuOf(processes);
          for (const name of Object.keys(after)) cpu[name] = (cpu[name] ?? 0) + after[name]! - before[name]!;
        }
      }
      const perProject = pairs.slice(0, count).map((_, p) => ({
        on: mergeRounds(on.map((round) => round[p]!.logged)),
        writersOn: mergeRounds(on.map((round) => round[p]!.writers)),
        off: mergeRounds(off.map((round) => round[p]!)),
      }));
      const ratios = perProject.map((p) => p.on.rps / p.off.rps);
      const slowest = ratios.indexOf(Math.min(...ratios));
      const total = (pick: (p: (typeof perProject)[number]) => number) => perProject.reduce((sum, p) => sum + pick(p), 0);
      const label = `${count} project${count > 1 ? 's' : ''} × ${WRITERS} writers`;
      report.detail(
        `${label}: total ${fmt(total((p) => p.on.rps))} inserts/s all in the log (writers' own ${fmt(total((p) => p.writersOn.rps))}) vs ${fmt(total((p) => p.off.rps))} plain; ` +
          `per project on/off ${ratios.map((r) => r.toFixed(2)).join(' ')}; log complete ${on.map((round) => fmt(round[0]!.lagMs)).join(' / ')} ms after the writers stopped; ` +
          `p99 on ${fmt(Math.max(...perProject.map((p) => p.writersOn.p99)))} ms, off ${fmt(Math.max(...perProject.map((p) => p.off.p99)))} ms (worst project); ` +
          `${total((p) => p.on.failures + p.off.failures)} failed; ${appended.describe()}; capture CPU in the on rounds ${Object.entries(cpu).map(([name, ms]) => `${name} ${pct(ms, onWall)}`).join(', ')}; bench process (all the writers) ${(perProject[0]!.on.generatorCpu * 100).toFixed(0)}% (on) / ${(perProject[0]!.off.generatorCpu * 100).toFixed(0)}% (off) of a core`,
      );
      report.atLeast('7L', `${label}: slowest project's inserts/s, capture on vs off`, '/s', perProject[slowest]!.on.rps, perProject[slowest]!.off.rps, 0.8);
      report.info('7L', `${label}: total inserts/s, capture on vs off`, '/s', total((p) => p.on.rps), total((p) => p.off.rps));
    }
    await checkLog(report, admin, pairs);
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
  }
}
