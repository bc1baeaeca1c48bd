import type pg from 'pg';
import { qualify } from '../../src/db/identifiers.js';
import { closedLoop, mergeRounds, type HttpTarget, type LoadResult, type Round } from '../lib/http-load.js';
import { cpuMsOf, type Child } from '../lib/processes.js';
import type { Report } from '../lib/report.js';
import { booking, INSERT_ROWS, type BenchProject } from '../lib/seed.js';
import { fmt } from '../lib/stats.js';

export const ROWS_QUERY = /* GraphQL */ `query ($p: ID!) { project(id: $p) { table(name: "bookings") { rows(first: 50, orderBy: [{ column: "created_at" }]) { nodes } } } }`;

interface Page {
  data?: { project: { table: { rows: { nodes: { id: string }[] } } } };
  errors?: unknown;
}

/** A page must have no errors, 50 rows, and start at the first booking: a broken answer cannot count. */
export function checkPage(firstId: string) {
  return (status: number, body: string) => {
    if (status !== 200) throw new Error(`HTTP ${status}: ${body.slice(0, 200)}`);
    const page = JSON.parse(body) as Page;
    const nodes = page.data?.project.table.rows.nodes;
    if (page.errors || !nodes || nodes.length !== 50 || nodes[0]!.id !== firstId) throw new Error(`bad page: ${body.slice(0, 200)}`);
  };
}

function checkInsert(status: number, body: string) {
  if (status !== 200) throw new Error(`HTTP ${status}: ${body.slice(0, 200)}`);
  const result = JSON.parse(body) as { data?: { insertRows: { id: string }[] }; errors?: unknown };
  if (result.errors || result.data?.insertRows.length !== 1 || !result.data.insertRows[0]!.id) throw new Error(`bad insert: ${body.slice(0, 200)}`);
}

export interface Pair {
  ours: HttpTarget;
  floor: HttpTarget;
}

/**
 * Rounds of ours and floor, interleaved (and alternating which goes first) so that drift of the
 * machine hits both. Returns merged results and the server's CPU share while ours ran.
 */
export async function interleaved(pair: Pair, server: Child, floorServer: Child, connections: number, rounds: number, roundMs: number) {
  const ours: Round[] = [];
  const floor: Round[] = [];
  let serverCpuMs = 0;
  let floorCpuMs = 0;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['ours', 'floor'] as const) : (['floor', 'ours'] as const);
    for (const which of order) {
      const pid = which === 'ours' ? server.pid : floorServer.pid;
      const c0 = cpuMsOf(pid);
      const round = await closedLoop(pair[which], connections, roundMs);
      if (which === 'ours') {
        serverCpuMs += cpuMsOf(pid) - c0;
        ours.push(round);
      } else {
        floorCpuMs += cpuMsOf(pid) - c0;
        floor.push(round);
      }
    }
  }
  const wall = (rounds: Round[]) => rounds.reduce((sum, round) => sum + round.wallMs, 0);
  return { ours: mergeRounds(ours), floor: mergeRounds(floor), serverCpu: serverCpuMs / wall(ours), floorCpu: floorCpuMs / wall(floor) };
}

function describe(label: string, result: LoadResult, serverCpu: number): string {
  return `${label}: ${fmt(result.rps)} req/s, p50 ${fmt(result.p50)} ms, p99 ${fmt(result.p99)} ms, max ${fmt(result.max)} ms, ${result.count} checked responses, ${result.failures} failed${
    result.firstFailure ? ` (first: ${result.firstFailure})` : ''
  }; server CPU ${(serverCpu * 100).toFixed(0)}% of a core, load generator CPU ${(result.generatorCpu * 100).toFixed(0)}%`;
}

/** Issue 7 §2: Table.rows(first: 50, orderBy: created_at) at 1 and 32 connections. */
export async function readBench(report: Report, server: Child, floorServer: Child, project: BenchProject, firstId: string, roundMs: number) {
  const body = JSON.stringify({ query: ROWS_QUERY, variables: { p: project.id } });
  const pair: Pair = {
    ours: { port: server.port, path: '/graphql', headers: { authorization: `Bearer ${project.token}` }, body: () => body, check: checkPage(firstId) },
    floor: { port: floorServer.port, path: '/rows', headers: {}, body: () => body, check: checkPage(firstId) },
  };
  // Warm both (JIT, pool connections, plan cache) before anything counts.
  await closedLoop(pair.ours, 32, 1000);
  await closedLoop(pair.floor, 32, 1000);
  for (const connections of [1, 32]) {
    const run = await interleaved(pair, server, floorServer, connections, 3, roundMs);
    report.detail(describe(`reads, ${connections} conn, ours `, run.ours, run.serverCpu));
    report.detail(describe(`reads, ${connections} conn, floor`, run.floor, run.floorCpu));
    report.atLeast('2', `reads ${connections} conn: throughput`, 'req/s', run.ours.rps, run.floor.rps, 0.8);
    report.info('2', `reads ${connections} conn: p50`, 'ms', run.ours.p50, run.floor.p50);
    report.atMostRatio('2', `reads ${connections} conn: p99`, 'ms', run.ours.p99, run.floor.p99, 1.5);
    if (run.ours.failures || run.floor.failures) report.detail(`reads: ${run.ours.failures} failed responses (ours), ${run.floor.failures} (floor): they are not counted as served`);
  }
}

/** Issue 7 §3 (HTTP half): insertRows of one row vs the floor's one INSERT, at 1 and 32 connections. */
export async function writeBench(report: Report, admin: pg.Pool, server: Child, floorServer: Child, project: BenchProject, roundMs: number) {
  const target = qualify(project.schema, 'bookings');
  const count = async () => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${target}`)).rows[0]!.n);
  const body = (i: number) => JSON.stringify({ query: INSERT_ROWS, variables: { p: project.id, t: 'bookings', rows: [{ ...booking(200_000 + i), created_at: undefined }] } });
  const pair: Pair = {
    ours: { port: server.port, path: '/graphql', headers: { authorization: `Bearer ${project.token}` }, body, check: checkInsert },
    floor: { port: floorServer.port, path: '/insert', headers: {}, body, check: checkInsert },
  };
  await closedLoop(pair.ours, 8, 500);
  await closedLoop(pair.floor, 8, 500);
  for (const connections of [1, 32]) {
    const before = await count();
    const run = await interleaved(pair, server, floorServer, connections, 2, roundMs);
    const inserted = (await count()) - before;
    const answered = run.ours.count + run.floor.count;
    report.detail(describe(`insertRows, ${connections} conn, ours `, run.ours, run.serverCpu));
    report.detail(describe(`insertRows, ${connections} conn, floor`, run.floor, run.floorCpu));
    report.detail(`insertRows, ${connections} conn: ${inserted} rows now in the table for ${answered} successful answers${inserted === answered ? ' (all there)' : ' — MISMATCH'}`);
    report.atLeast('3', `insertRows 1 row, ${connections} conn: throughput`, 'req/s', run.ours.rps, run.floor.rps, 0.7, inserted === answered ? undefined : 'row count mismatch');
    report.info('3', `insertRows 1 row, ${connections} conn: p99`, 'ms', run.ours.p99, run.floor.p99);
  }
}
