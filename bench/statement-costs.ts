/**
 * `npx tsx bench/statement-costs.ts`: which statements one `Table.rows(first: 50, orderBy:
 * created_at)` request, one `insertRows` of one row and one in-process `dbServices.rows.insert`
 * send to Postgres, and what each costs
 * (client-side round trip, p50 over 300 sequential requests). The floor sends only the last one;
 * this is where the read and write ratios in BENCHMARKS.md come from.
 *
 * Env: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); a database is
 * created and dropped. The server runs in this process (createServer), 10,000 bookings.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { createDbServices } from '../src/dbservices/index.js';
import { createBenchDatabase, graphqlClient } from './lib/setup.js';
import { booking, createProject, INSERT_ROWS, seedBookings } from './lib/seed.js';
import { ROWS_QUERY } from './sections/http.js';
import { percentile } from './lib/stats.js';

const database = await createBenchDatabase(process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const adminToken = `bench-${randomBytes(8).toString('hex')}`;
const config = parseConfig({ PORT: '0', DATABASE_URL: database.url, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn', PAIGE_DATA_DIR: join(tmpdir(), 'paige-bench-unused') });
const server = await createServer(config, createLogger('warn'));
await server.start();

/** Times every statement of the server's pool clients (pool.query passes a callback). */
const times = new Map<string, number[]>();
const original = pg.Client.prototype.query;
function timed(this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text: string };
  const text = (typeof first === 'string' ? first : first.text).replace(/\s+/g, ' ').trim().slice(0, 100);
  const t0 = performance.now();
  const record = () => {
    const list = times.get(text) ?? [];
    list.push(performance.now() - t0);
    times.set(text, list);
  };
  const last = args.length - 1;
  if (typeof args[last] === 'function') {
    const callback = args[last] as (...a: unknown[]) => unknown;
    args[last] = (...a: unknown[]) => (record(), callback(...a));
  }
  const result = (original as (...a: unknown[]) => unknown).apply(this, args);
  if (result instanceof Promise) result.then(record, () => {});
  return result;
}

try {
  const gql = graphqlClient(server.url, adminToken);
  const project = await createProject(gql, 'statement-costs');
  await seedBookings(gql, database.admin, project, 10_000);
  const post = async (body: string) => {
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${project.token}` }, body });
    const text = await response.text();
    if (response.status !== 200 || text.includes('"errors"')) throw new Error(text.slice(0, 300));
  };
  const dbServices = createDbServices({ projectId: project.id, databaseUrl: database.url });
  const cases = {
    'Table.rows(first: 50, orderBy: created_at)': () => post(JSON.stringify({ query: ROWS_QUERY, variables: { p: project.id } })),
    'insertRows, one row': (i: number) => post(JSON.stringify({ query: INSERT_ROWS, variables: { p: project.id, t: 'bookings', rows: [{ ...booking(i), created_at: undefined }] } })),
    'dbServices rows.insert (in-process), one row': async (i: number) => {
      const { created_at: _, ...row } = booking(i);
      await dbServices.rows.insert('bookings', row);
    },
  };
  for (const [name, run] of Object.entries(cases)) {
    for (let i = 0; i < 100; i++) await run(i);
    times.clear();
    pg.Client.prototype.query = timed as typeof original;
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) await run(1000 + i);
    const perRequest = (performance.now() - t0) / 300;
    pg.Client.prototype.query = original;
    let sql = 0;
    console.log(`\n${name}: ${perRequest.toFixed(2)} ms per call (sequential, client in the same process)`);
    for (const [text, list] of times) {
      const p50 = percentile(list, 50);
      sql += (p50 * list.length) / 300;
      console.log(`  ${(list.length / 300).toFixed(1)}× per request, p50 ${p50.toFixed(2)} ms  ${text}`);
    }
    console.log(`  statements: ${sql.toFixed(2)} ms per call; the rest (${(perRequest - sql).toFixed(2)} ms) is HTTP (not for dbServices), GraphQL and the caller`);
  }
  await dbServices.close();
} finally {
  pg.Client.prototype.query = original;
  await server.stop();
  await database.drop();
}
