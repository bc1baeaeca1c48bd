import type pg from 'pg';
import { createPool } from '../../src/db/pool.js';
import { qualify } from '../../src/db/identifiers.js';
import { closedLoopCalls, mergeRounds, type Round } from '../lib/http-load.js';
import type { Report } from '../lib/report.js';
import { CREATE_TABLE, type BenchProject } from '../lib/seed.js';
import { fmt } from '../lib/stats.js';
import type { Gql } from '../lib/setup.js';

const COLUMNS = [
  { name: 'guest', type: 'TEXT', nullable: false },
  { name: 'nights', type: 'INTEGER' },
  { name: 'amount', type: 'NUMERIC' },
];

/**
 * Issue 7 §4: what change capture (the statement triggers writing the change log, the commit
 * stamp and its NOTIFY) costs a writer. Two identical tables made by the API; on the second the
 * capture triggers are disabled (ALTER TABLE ... DISABLE TRIGGER USER, as superuser). Writers
 * insert one row per statement (autocommit) straight over pg, closed loop, interleaved.
 */
export async function captureBench(report: Report, gql: Gql, url: string, admin: pg.Pool, project: BenchProject, roundMs: number) {
  await gql(CREATE_TABLE, { p: project.id, input: { name: 'capture_on', columns: COLUMNS } }, project.token);
  await gql(CREATE_TABLE, { p: project.id, input: { name: 'capture_off', columns: COLUMNS } }, project.token);
  const on = qualify(project.schema, 'capture_on');
  const off = qualify(project.schema, 'capture_off');
  await admin.query(`ALTER TABLE ${off} DISABLE TRIGGER USER`);
  const { rows: triggers } = await admin.query<{ table: string; enabled: string; n: string }>(
    `SELECT c.relname AS "table", t.tgenabled AS enabled, count(*) AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace = $1::regnamespace AND c.relname IN ('capture_on', 'capture_off') AND NOT t.tgisinternal GROUP BY 1, 2 ORDER BY 1`,
    [project.schema],
  );
  report.detail(`capture triggers: ${triggers.map((t) => `${t.table} ${t.n} ${t.enabled === 'D' ? 'disabled' : 'enabled'}`).join(', ')}`);

  const pool = createPool(url, { max: 32, applicationName: 'paige-bench-writers' });
  try {
    const insert = (table: string) => async (i: number) => {
      await pool.query(`INSERT INTO ${table} (guest, nights, amount) VALUES ($1, $2, $3)`, [`writer ${i}`, i % 14, `${i}.50`]);
    };
    await closedLoopCalls(32, 500, insert(on));
    await closedLoopCalls(32, 500, insert(off));
    for (const writers of [1, 8, 32]) {
      const rounds: Record<'on' | 'off', Round[]> = { on: [], off: [] };
      for (let r = 0; r < 2; r++) {
        for (const which of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          rounds[which].push(await closedLoopCalls(writers, roundMs, insert(which === 'on' ? on : off)));
        }
      }
      const withCapture = mergeRounds(rounds.on);
      const without = mergeRounds(rounds.off);
      report.detail(`${writers} writers, capture on : ${fmt(withCapture.rps)} inserts/s, p50 ${fmt(withCapture.p50)} ms, p99 ${fmt(withCapture.p99)} ms, ${withCapture.failures} failed`);
      report.detail(`${writers} writers, capture off: ${fmt(without.rps)} inserts/s, p50 ${fmt(without.p50)} ms, p99 ${fmt(without.p99)} ms, ${without.failures} failed`);
      report.detail(`${writers} writers: load generator CPU ${(withCapture.generatorCpu * 100).toFixed(0)}% (on) / ${(without.generatorCpu * 100).toFixed(0)}% (off) of a core`);
      report.atLeast('4', `capture on vs off, ${writers} writer${writers > 1 ? 's' : ''}: inserts/s`, '/s', withCapture.rps, without.rps, 0.8);
    }
    // Every insert into capture_on must be in the change log, and none from capture_off.
    const { rows } = await admin.query<{ table: string; rows: string; logged: string }>(
      `SELECT t.name AS "table", t.n AS rows, (SELECT count(*) FROM paige.change_log l WHERE l.schema_name = $1 AND l.table_name = t.name AND l.op = 'INSERT') AS logged
         FROM (SELECT 'capture_on' AS name, (SELECT count(*) FROM ${on}) AS n UNION ALL SELECT 'capture_off', (SELECT count(*) FROM ${off})) t`,
      [project.schema],
    );
    report.detail(`rows vs change-log entries: ${rows.map((r) => `${r.table} ${r.rows} rows / ${r.logged} logged`).join(', ')}`);
    const [onRow, offRow] = rows;
    if (onRow!.rows !== onRow!.logged || offRow!.logged !== '0') report.detail('CHECK FAILED: the change log does not match the inserts');
  } finally {
    await pool.end();
  }
}
