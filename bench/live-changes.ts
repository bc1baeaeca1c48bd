/**
 * Live changes, measured (not a test): insert → subscriber latency for single inserts, and the
 * change log's growth per 10,000 inserts.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/live-changes.ts
 *
 * Creates a database of its own on that server (dropped at the end), starts the real server on a
 * free port, subscribes over graphql-ws like a dashboard and inserts (a) through the insertRows
 * mutation and (b) with plain SQL from another session, one row per transaction.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { projectNames } from '../src/db/projects.js';
import { quoteIdent } from '../src/db/identifiers.js';
import { summarize } from './lib/stats.js';

const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SINGLE_INSERTS = Number(process.env.BENCH_INSERTS ?? 1000);

const withDatabase = (url: string, database: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString();

const summary = (samples: number[]) => {
  const { count, p50, p99, max } = summarize(samples);
  const f = (v: number) => `${v.toFixed(2)} ms`;
  return `p50 ${f(p50)}, p99 ${f(p99)}, max ${f(max)} (n=${count})`;
};
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

async function main() {
  const database = `paige_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = withDatabase(serverUrl, database);
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-bench-'));
  const adminToken = `bench-${randomBytes(12).toString('hex')}`;
  const config = parseConfig({ PORT: '0', DATABASE_URL: url, PAIGE_DATA_DIR: dataDir, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' });
  const server = await createServer(config, createLogger('warn'));
  await server.start();
  const psql = new pg.Client({ connectionString: url });
  await psql.connect();

  const gql = async (query: string, variables: Record<string, unknown>) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };

  let benchProject: string | undefined;
  try {
    const { createProject } = await gql(`mutation { createProject(name: "bench") { id } }`, {});
    const projectId: string = createProject.id;
    benchProject = projectId;
    const schema = `p_${projectId}`;
    const columns = [{ name: 'guest', type: 'TEXT' }, { name: 'seats', type: 'INTEGER' }, { name: 'starts', type: 'TIMESTAMPTZ' }];
    await gql(`mutation ($p: ID!, $input: CreateTableInput!) { createTable(projectId: $p, input: $input) { name } }`, { p: projectId, input: { name: 'bookings', columns } });

    // One subscriber, as a dashboard.
    const arrivals = new Map<string, number>();
    const client = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${adminToken}` } });
    client.subscribe(
      { query: `subscription ($p: ID!) { rowChanges(projectId: $p, table: "bookings") { row } }`, variables: { p: projectId } },
      { next: (payload: any) => void arrivals.set(payload.data.rowChanges.row.guest, performance.now()), error: (e) => console.error(e), complete: () => {} },
    );
    while (server.services.changes.subscriberCount < 1) await new Promise((resolve) => setTimeout(resolve, 5));

    const waitFor = async (guest: string) => {
      while (!arrivals.has(guest)) await new Promise((resolve) => setImmediate(resolve));
      return arrivals.get(guest)!;
    };

    const measure = async (label: string, insert: (guest: string) => Promise<unknown>) => {
      const endToEnd: number[] = [];
      const afterCommit: number[] = [];
      for (let i = 0; i < SINGLE_INSERTS + 50; i += 1) {
        const guest = `${label}-${i}`;
        const start = performance.now();
        await insert(guest);
        const committed = performance.now();
        const arrived = await waitFor(guest);
        // The first 50 warm up the JIT and the pools.
        if (i >= 50) {
          endToEnd.push(arrived - start);
          afterCommit.push(Math.max(0, arrived - committed));
        }
      }
      console.log(`${label}: insert sent → event at subscriber: ${summary(endToEnd)}`);
      console.log(`${label}: insert acknowledged → event at subscriber: ${summary(afterCommit)}`);
    };

    console.log(`# insert → subscriber latency, ${SINGLE_INSERTS} single-row transactions each, one subscriber`);
    await measure('sql', (guest) => psql.query(`INSERT INTO "${schema}".bookings (guest, seats, starts) VALUES ($1, 2, now())`, [guest]));
    await measure('insertRows', (guest) =>
      gql(`mutation ($p: ID!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: "bookings", rows: $rows) }`, { p: projectId, rows: [{ guest, seats: 2, starts: new Date().toISOString() }] }));

    const logSize = async () => {
      const { rows } = await psql.query(`SELECT pg_total_relation_size('paige.change_log') + pg_total_relation_size('paige.change_commits') AS bytes,
                                                pg_total_relation_size('paige.change_log') AS log, pg_total_relation_size('paige.change_commits') AS commits`);
      return { total: Number(rows[0].bytes), log: Number(rows[0].log), commits: Number(rows[0].commits) };
    };
    const grow = async (label: string, work: () => Promise<unknown>) => {
      await psql.query('VACUUM paige.change_log, paige.change_commits');
      const before = await logSize();
      const start = performance.now();
      await work();
      const ms = performance.now() - start;
      await psql.query('VACUUM paige.change_log, paige.change_commits');
      const after = await logSize();
      console.log(`${label}: +${kb(after.total - before.total)} (log +${kb(after.log - before.log)}, commit stamps +${kb(after.commits - before.commits)}), ${ms.toFixed(0)} ms`);
    };

    console.log('\n# change-log growth per 10,000 inserts (pg_total_relation_size, after VACUUM)');
    await grow('10,000 rows in one INSERT', () =>
      psql.query(`INSERT INTO "${schema}".bookings (guest, seats, starts) SELECT 'bulk-' || g, g, now() FROM generate_series(1, 10000) g`));
    await grow('10,000 single-row transactions', async () => {
      for (let i = 0; i < 10_000; i += 1) await psql.query(`INSERT INTO "${schema}".bookings (guest, seats, starts) VALUES ($1, 1, now())`, [`single-${i}`]);
    });

    // What capture costs a writer: the same bulk insert into a copy of the table without triggers.
    await psql.query(`CREATE TABLE "${schema}".bookings_plain (LIKE "${schema}".bookings INCLUDING ALL)`);
    const timed = async (sql: string) => {
      const start = performance.now();
      await psql.query(sql);
      return performance.now() - start;
    };
    const bulk = (table: string) => `INSERT INTO "${schema}".${table} (guest, seats, starts) SELECT 'cost-' || g, g, now() FROM generate_series(1, 10000) g`;
    const withCapture = await timed(bulk('bookings'));
    const without = await timed(bulk('bookings_plain'));
    console.log(`\n# writer cost of capture: 10,000-row INSERT ${withCapture.toFixed(0)} ms with triggers, ${without.toFixed(0)} ms without`);
    // Single-row transactions, interleaved so that load from other processes hits both alike.
    const single = { bookings: [] as number[], bookings_plain: [] as number[] };
    for (let i = 0; i < 1000; i += 1) {
      for (const name of ['bookings', 'bookings_plain'] as const) {
        single[name].push(await timed(`INSERT INTO "${schema}".${name} (guest, seats, starts) VALUES ('one-${i}', 1, now())`));
      }
    }
    console.log(`# writer cost of capture, single-row INSERT (autocommit): with triggers ${summary(single.bookings)}; without ${summary(single.bookings_plain)}`);
    while (!arrivals.has('one-999')) await new Promise((resolve) => setTimeout(resolve, 10));
    await client.dispose();
  } finally {
    await psql.end();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    // Project roles are cluster-wide: drop this run's own, never another paige-db's on the same server.
    if (benchProject) {
      const { login, owner } = projectNames(benchProject);
      for (const role of [login, owner]) await admin.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`).catch((error: unknown) => console.error(`could not drop role ${role}: ${String(error)}`));
    }
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
