import type pg from 'pg';
import { cpuMeter, percentile, sleep, summarize } from './stats.js';

export interface GeneratorResult {
  sent: number;
  failed: number;
  firstError?: string;
  /** Insert round-trips (ms): flat from the first third to the last means the generator kept up. */
  roundTrip: { p50: number; p99: number; firstThirdP50: number; lastThirdP50: number };
  /** How late inserts left against their schedule (ms), p99. */
  lateP99: number;
  achievedRate: number;
  generatorCpu: number;
  /** seq numbers inserted per table key, for the delivered-event check. */
  inserted: Record<string, number[]>;
}

/**
 * Open loop: insert i leaves at t0 + i / rate whatever happened to the ones before (a closed
 * loop would slow down with the server and hide its latency). Each insert is one autocommit
 * statement stamping `clock_timestamp()` into the row; tables are taken round-robin.
 */
export async function openLoopInserts(pool: pg.Pool, tables: { key: string; sql: string }[], rate: number, durationMs: number): Promise<GeneratorResult> {
  const total = Math.round((rate * durationMs) / 1000);
  const trips = new Float64Array(total).fill(Number.NaN);
  const late: number[] = [];
  const inserted: Record<string, number[]> = {};
  let failed = 0;
  let firstError: string | undefined;
  const pending: Promise<void>[] = [];
  const meter = cpuMeter();
  const t0 = performance.now();
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && t0 + (i * 1000) / rate <= now) {
      const n = i++;
      const table = tables[n % tables.length]!;
      late.push(now - (t0 + (n * 1000) / rate));
      const seq = Math.floor(n / tables.length);
      const sent = performance.now();
      pending.push(
        pool.query(`INSERT INTO ${table.sql} (seq, stamped_at) VALUES ($1, clock_timestamp())`, [seq]).then(
          () => {
            trips[n] = performance.now() - sent;
            (inserted[table.key] ??= []).push(seq);
          },
          (error: unknown) => {
            failed++;
            firstError ??= String(error);
          },
        ),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  const wall = performance.now() - t0;
  const done = Array.from(trips).filter((t) => !Number.isNaN(t));
  const third = Math.floor(trips.length / 3);
  const finite = (xs: Float64Array) => Array.from(xs).filter((t) => !Number.isNaN(t));
  const overall = summarize(done);
  return {
    sent: total,
    failed,
    firstError,
    roundTrip: {
      p50: overall.p50,
      p99: overall.p99,
      firstThirdP50: percentile(finite(trips.subarray(0, third)), 50),
      lastThirdP50: percentile(finite(trips.subarray(trips.length - third)), 50),
    },
    lateP99: percentile(late, 99),
    achievedRate: (done.length / wall) * 1000,
    generatorCpu: meter().share,
    inserted,
  };
}
