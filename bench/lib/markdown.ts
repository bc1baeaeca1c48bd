import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Report } from './report.js';
import { root } from './processes.js';

const ANALYSIS_START = '<!-- analysis: written by hand, kept by npm run bench -->';
const ANALYSIS_END = '<!-- end of analysis -->';

export interface RunInfo {
  started: Date;
  seconds: number;
  postgres: string;
  loadBefore: number[];
}

export const machine = () =>
  `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM, Linux ${release()}, Node ${process.version}`;

/**
 * Writes BENCHMARKS.md: machine, date, method, the summary table and every detail line. The
 * hand-written analysis between the markers survives a re-run (it explains misses and what remains).
 */
export async function writeBenchmarksMd(report: Report, run: RunInfo) {
  const file = join(root, 'BENCHMARKS.md');
  let analysis = `${ANALYSIS_START}\n_(no analysis yet)_\n${ANALYSIS_END}`;
  if (existsSync(file)) {
    const old = await readFile(file, 'utf8');
    const a = old.indexOf(ANALYSIS_START);
    const b = old.indexOf(ANALYSIS_END);
    if (a >= 0 && b > a) analysis = old.slice(a, b + ANALYSIS_END.length);
  }
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(', ');
  const text = `# paige-db benchmarks

Written by \`npm run bench\` (bench/run.ts) on ${run.started.toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${Math.round(run.seconds)} s.

- **Machine:** ${machine()}.
- **Postgres:** ${run.postgres}.
- **Load average** (1, 5, 15 min) before the run: ${load(run.loadBefore)}; after: ${load(loadavg())}. Other work on the machine moves the figures; ours and the floor run interleaved so that it hits both.

## Summary

${report.table()}

"ours" is paige-db as \`npm start\` runs it (node + tsx on src/main.ts, its own process); "floor" is
the least any Node service over the same Postgres can do for the same work (below). Ratio = ours / floor.
${report.missing.length ? `\nNot measured in this run: ${report.missing.join('; ')}.\n` : ''}
${analysis}

## Method

1. **Seed.** A project (created through the API) with a \`bookings\` table (bigint identity \`id\`,
   timestamptz \`created_at\`, text, integer, numeric, boolean, date, jsonb), 100,000 rows written
   through \`insertRows\` 1,000 at a time; the count is checked. An index on \`(created_at, id)\` is
   added as superuser (the API has no index DDL): without it both sides would measure a
   100,000-row sort per page and the ratio would say nothing about paige-db.
2. **Reads.** \`project { table(name: "bookings") { rows(first: 50, orderBy: [{column: "created_at"}]) { nodes } } }\`
   over HTTP with a project key, closed loop at 1 and 32 keep-alive connections, 3 rounds of 3 s
   each, ours and floor alternating (and alternating who goes first). Floor (bench/floor-http.ts):
   \`node:http\` + a \`pg\` pool of the same size and type parsers, running the SQL paige-db's own
   builder makes for that page (built once), answering the same JSON. Before measuring, the two
   answers are compared byte for byte; during it every response is parsed and must hold 50 rows
   starting at the first booking, or it counts as failed, not served. Warm-up rounds first.
3. **Writes.** \`insertRows\` of one row over HTTP vs the floor's one INSERT ... RETURNING (same SQL
   text, same table with its change capture) at 1 and 32 connections, 2 interleaved rounds of 2 s;
   rows in the table afterwards must equal successful answers. In-process: \`createDbServices({ projectId, databaseUrl })\`
   \`rows.insert\` vs \`pool.query\` of the same INSERT on a pool of the same size, 1 and 8 callers
   (bench/dbservices-insert.ts, from the dbServices work, is the one-caller stand-alone version).
4. **Change capture.** Two identical tables made by \`createTable\`; on one the capture triggers are
   disabled (\`ALTER TABLE ... DISABLE TRIGGER USER\`). 1, 8 and 32 writers insert one row per
   autocommit statement straight over \`pg\`, closed loop, 2 interleaved rounds of 2 s. The change
   log must hold exactly one INSERT entry per row of the captured table and none of the other.
5. **Delivery latency.** 10 projects × 10 tables × 10 subscribers = 1,000 graphql-ws \`rowChanges\`
   subscriptions, one WebSocket each (like 1,000 open dashboards), with project keys, spread over
   4 subscriber processes (bench/subscriber.ts). Every subscriber must first receive a warm-up
   row. Then 200 inserts/s for 10 s, open loop (insert *i* leaves at t0 + i/200 whatever happened
   before), round-robin over the 100 tables, one autocommit INSERT each stamping
   \`clock_timestamp()\` into the row; latency = arrival wall clock − that stamp (same machine, same
   clock). The generator reports its insert round-trip (first and last third: flat means it kept
   up), how late inserts left, and its CPU. Every delivery is counted per subscriber and seq:
   missing and duplicated events are reported. Floor (bench/floor-live.ts): identical tables with a
   row trigger \`pg_notify('bench_floor', '<table>|<row json>')\`, one LISTEN connection, \`ws\`
   writing each row in a graphql-transport-ws \`next\` frame of the same shape and size as
   paige-db's for \`rowChanges { op row }\` (the payload built once per row, the frame per socket);
   the same subscriber processes, reading both with the same client (bench/subscriber.ts: raw
   \`ws\`, the protocol's handshake, one \`JSON.parse\` per frame), the same generator. Beside the
   latency: the subscriber processes' CPU (sum and busiest process, % of a core) and each server's
   own commit → socket-write time (the histogram \`paige_subscription_write_delay_seconds\` of GET
   /metrics, from a change's \`at\` to its frame handed to the socket; the floor keeps the same from
   the row's \`stamped_at\`), read before and after the run: a saturated generator and a slow
   server cannot pass for each other.
6. **Fan-out.** 5,000 subscribers on one table over 5 processes, 10 inserts/s for 10 s, same
   checks, as 3 interleaved pairs (ours, floor; BENCH_FANOUT_PAIRS); the summary shows the pair
   with the highest ratio, the details every pair. Then the same with one socket paused (its
   client stops reading: its figures are left out, the others' p99 is shown), and 10,000
   subscribers over 8 processes (BENCH_FANOUT_LARGE=0 skips both; quick runs skip them unless
   BENCH_FANOUT_LARGE=1). The next frames of ours and the floor must be within 8 bytes of each
   other or the run stops. For every round, after the last insert the bench waits while deliveries still arrive (up to 60 s), so
   slowness shows as latency and only events that never arrive count as missing. Memory per
   idle subscription: the subscribers open in two waves (2,000, then 3,000); before the first and
   after each, before any event, the server's live memory is read through its inspector (opened
   with SIGUSR1; the server runs with \`--inspect-port=127.0.0.1:0\`, which changes nothing until
   then): heap in use plus external memory after two full collections. The growth between the
   waves / 3,000 is the cost of one more idle subscription (WebSocket, graphql-ws, the hub's share),
   without one-time costs. RSS is in the details too, read once it has settled; it also counts
   free heap V8 keeps, so it moves by megabytes between readings of the same state.
7. **Start.** \`npm start\` with the embedded Postgres on a data dir made by a first (untimed) start;
   seconds from spawning \`npm\` to the first 200 from \`/readyz\`, median of 3.

**Capture from the WAL (issue 13; the rows marked L).** Sections 4, 5 and 6 run on the machine's
Postgres (\`wal_level = replica\`), so they measure the trigger capture, the fallback. The L rows
run a second paige-db on a cluster with \`wal_level = logical\` (the run's own when it has it, else
an embedded cluster started for them, as \`npm start\` runs it); /readyz must say
\`"capture": "logical"\`. Its baseline is on the same cluster in the same run: a copy of each
captured table (\`CREATE TABLE ... (LIKE ... INCLUDING ALL)\`) outside every project schema, so
outside the publication. The leader (in the paige-db process), the walsender and the leader's
append session share the 2 cores with the writers.

- **4L.** 1, 8 and 32 writers, one-row autocommit INSERTs over \`pg\`, closed loop, 2 interleaved
  rounds each of captured and plain. A captured round's clock stops when the change log holds
  everything written: after the writers stop, one more insert, and the log is polled (every 2 ms)
  for its transaction; the leader appends in commit order, so then it holds all of them. Both
  that rate and the writers' own are shown. CPU of paige-db, the walsender and the append session
  (from /proc) in both kinds of round, and the leader's transactions per append statement (its
  /metrics). The log must hold as many INSERT entries as the captured table has rows, and none for the plain one.
- **7L.** 10 projects, each with a table and its plain copy and a pool of 4 (a bot); 1, 2, 5 and
  10 of them write at the same time, 4 writers each, rounds as in 4L. Each project's rate with
  capture (until all in the log) against its own rate into its plain table; the slowest project is
  the figure, and the totals show how the whole scales.
- **5L.** Section 5 (the same 1,000 subscribers, generator and floor) against the logical server.

Profiles: \`BENCH_PROFILE=1 npm run bench\` runs paige-db under \`node --cpu-prof\` (bench/profiles/),
\`npx tsx bench/profile-summary.ts <file>\` prints self time by package and by function.

## Details of this run

${report.details.map((line) => `- ${line}`).join('\n')}
`;
  await writeFile(file, text);
}
