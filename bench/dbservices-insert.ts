/**
 * `npx tsx bench/dbservices-insert.ts`: what one in-process `dbServices.rows.insert` costs against
 * the same one-row INSERT ... RETURNING * sent with `pool.query` into the same table (change
 * capture included in both). One caller, rounds interleaved so that drift hits both alike.
 * Prints the time per insert of each and the ratio.
 *
 * Env: BENCH_POSTGRES_URL — a superuser URL; a database is created in it and dropped after
 * (default: an embedded Postgres in a temporary directory). BENCH_INSERTS — inserts per round (1000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../src/logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { createPool } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { createProject, deleteProject } from '../src/db/projects.js';
import { qualify } from '../src/db/identifiers.js';
import { createDbServices } from '../src/dbservices/index.js';

const perRound = Number(process.env.BENCH_INSERTS ?? 1000);
const rounds = 3;
const log = createLogger('warn');

let embedded: EmbeddedDatabase | undefined;
let embeddedDir: string | undefined;
let serverUrl = process.env.BENCH_POSTGRES_URL;
if (!serverUrl) {
  embeddedDir = await mkdtemp(join(tmpdir(), 'paige-bench-'));
  embedded = await startEmbeddedPostgres(embeddedDir, log);
  serverUrl = embedded.url;
}
const name = `paige_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();

const pool = createPool(url, { max: 10, applicationName: 'paige-bench-raw' });
let projectId: string | undefined;
try {
  await migrate(pool, log);
  projectId = (await createProject(pool, 'dbservices insert bench')).id;
  const db = createDbServices({ projectId, databaseUrl: url, env: {} });
  try {
    await db.tables.ensure('visits', [
      { name: 'name', type: 'text', nullable: false },
      { name: 'qty', type: 'integer' },
      { name: 'at', type: 'timestamptz' },
    ]);
    const text = `INSERT INTO ${qualify(`p_${projectId}`, 'visits')} (name, qty, at) VALUES ($1, $2, $3) RETURNING *`;
    const row = (i: number) => ({ name: `visitor ${i}`, qty: i % 7, at: '2025-06-02T10:00:00.123456Z' });
    const ways = {
      'dbServices rows.insert': async (i: number) => void (await db.rows.insert('visits', row(i))),
      'pool.query INSERT': async (i: number) => {
        const r = row(i);
        await pool.query(text, [r.name, r.qty, r.at]);
      },
    };
    type Way = keyof typeof ways;
    const round = async (way: Way) => {
      const started = performance.now();
      for (let i = 0; i < perRound; i++) await ways[way](i);
      return (performance.now() - started) / perRound;
    };
    // Warm up both (JIT, pools, plan caches) before measuring.
    for (const way of Object.keys(ways) as Way[]) await round(way);
    const times: Record<Way, number[]> = { 'dbServices rows.insert': [], 'pool.query INSERT': [] };
    for (let r = 0; r < rounds; r++) {
      const order: Way[] = r % 2 === 0 ? ['dbServices rows.insert', 'pool.query INSERT'] : ['pool.query INSERT', 'dbServices rows.insert'];
      for (const way of order) times[way].push(await round(way));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const ours = median(times['dbServices rows.insert']);
    const raw = median(times['pool.query INSERT']);
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualify(`p_${projectId}`, 'visits')}`);
    console.log(`Postgres ${embedded ? 'embedded' : new URL(serverUrl).host}, ${rounds} rounds of ${perRound} one-row inserts each, one caller (${rows[0]!.n} rows written)`);
    console.log(`dbServices rows.insert (in-process): ${ours.toFixed(3)} ms per insert (rounds: ${times['dbServices rows.insert'].map((t) => t.toFixed(3)).join(', ')})`);
    console.log(`pool.query INSERT ... RETURNING *:   ${raw.toFixed(3)} ms per insert (rounds: ${times['pool.query INSERT'].map((t) => t.toFixed(3)).join(', ')})`);
    console.log(`ratio: an in-process rows.insert costs ${(ours / raw).toFixed(2)}x a raw pool.query insert`);
  } finally {
    await db.close();
  }
} finally {
  if (projectId) await deleteProject(pool, projectId).catch(() => {});
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  await embedded?.stop();
  if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
}
