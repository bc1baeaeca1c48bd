import { createDbServices } from '../../src/dbservices/index.js';
import { createPool } from '../../src/db/pool.js';
import { qualify } from '../../src/db/identifiers.js';
import { readTable } from '../../src/db/catalog.js';
import { insertRowsSql } from '../../src/db/sql/rows.sql.js';
import type pg from 'pg';
import { closedLoopCalls, mergeRounds, type Round } from '../lib/http-load.js';
import type { Report } from '../lib/report.js';
import { booking, type BenchProject } from '../lib/seed.js';
import { fmt } from '../lib/stats.js';

/**
 * Issue 7 §3 (in-process half): `dbServices.rows.insert` of one row, in this process, against
 * the same INSERT ... RETURNING over a plain pool of the same size (20, like the service's).
 * Both insert into `bookings` (with its change capture), closed loop, interleaved.
 */
export async function dbServicesBench(report: Report, url: string, admin: pg.Pool, project: BenchProject, roundMs: number) {
  const db = createDbServices({ projectId: project.id, databaseUrl: url });
  const pool = createPool(url, { max: 20, applicationName: 'paige-bench-raw' });
  try {
    const table = (await readTable(pool, project.schema, 'bookings'))!;
    const row = (i: number) => {
      const { created_at: _, ...rest } = booking(300_000 + i);
      return rest;
    };
    const columns = table.columns.filter((column) => column.name in row(0));
    const text = insertRowsSql(table, columns, [columns.map(() => null)]).text;
    const calls = {
      ours: async (i: number) => {
        const inserted = await db.rows.insert('bookings', row(i));
        if (!inserted.id) throw new Error(`dbServices returned no id: ${JSON.stringify(inserted)}`);
      },
      floor: async (i: number) => {
        const values = row(i) as Record<string, unknown>;
        const { rows } = await pool.query(text, columns.map((column) => values[column.name]));
        if (rows.length !== 1) throw new Error('raw insert returned no row');
      },
    };
    await closedLoopCalls(8, 500, calls.ours);
    await closedLoopCalls(8, 500, calls.floor);
    const target = qualify(project.schema, 'bookings');
    const count = async () => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${target}`)).rows[0]!.n);
    for (const callers of [1, 8]) {
      const before = await count();
      const rounds: Record<'ours' | 'floor', Round[]> = { ours: [], floor: [] };
      for (let r = 0; r < 2; r++) {
        for (const which of r % 2 === 0 ? (['ours', 'floor'] as const) : (['floor', 'ours'] as const)) {
          rounds[which].push(await closedLoopCalls(callers, roundMs, calls[which]));
        }
      }
      const ours = mergeRounds(rounds.ours);
      const floor = mergeRounds(rounds.floor);
      const inserted = (await count()) - before;
      report.detail(`dbServices rows.insert, ${callers} caller(s): ${fmt(ours.rps)}/s, p50 ${fmt(ours.p50)} ms, p99 ${fmt(ours.p99)} ms, ${ours.failures} failed${ours.firstFailure ? ` (${ours.firstFailure})` : ''}; process CPU ${(ours.generatorCpu * 100).toFixed(0)}%`);
      report.detail(`raw pool.query,          ${callers} caller(s): ${fmt(floor.rps)}/s, p50 ${fmt(floor.p50)} ms, p99 ${fmt(floor.p99)} ms, ${floor.failures} failed; process CPU ${(floor.generatorCpu * 100).toFixed(0)}%`);
      report.detail(`${inserted} rows inserted for ${ours.count + floor.count} successful calls${inserted === ours.count + floor.count ? '' : ' — MISMATCH'}`);
      report.atLeast('3', `dbServices rows.insert vs pool.query, ${callers} caller${callers > 1 ? 's' : ''}`, '/s', ours.rps, floor.rps, 0.9);
    }
  } finally {
    await db.close();
    await pool.end();
  }
}
