import http from 'node:http';
import { cpuMeter, summarize, type Latencies } from './stats.js';

export interface HttpTarget {
  port: number;
  path: string;
  headers: Record<string, string>;
  /** The request body for the i-th request. */
  body: (i: number) => string;
  /** Throws when a response is not what a user should get (wrong row count, an error...). */
  check: (status: number, body: string) => void;
}

/** One round of load: raw samples, so rounds of the same configuration can be merged. */
export interface Round {
  latencies: number[];
  wallMs: number;
  /** Responses that failed the check (they do not count as completed). */
  failures: number;
  firstFailure?: string;
  /** CPU ms the load generator (this process) used. */
  generatorCpuMs: number;
}

export interface LoadResult extends Latencies {
  /** Completed, checked requests per second. */
  rps: number;
  failures: number;
  firstFailure?: string;
  /** Share of one core the load generator used. */
  generatorCpu: number;
}

/** Rounds of one configuration: total completed over total time, percentiles over all samples. */
export function mergeRounds(rounds: Round[]): LoadResult {
  const all = rounds.flatMap((round) => round.latencies);
  const wall = rounds.reduce((sum, round) => sum + round.wallMs, 0);
  const cpu = rounds.reduce((sum, round) => sum + round.generatorCpuMs, 0);
  return {
    ...summarize(all),
    rps: (all.length / wall) * 1000,
    failures: rounds.reduce((sum, round) => sum + round.failures, 0),
    firstFailure: rounds.find((round) => round.firstFailure)?.firstFailure,
    generatorCpu: cpu / wall,
  };
}

/** POSTs once, resolving with status and body. */
function post(agent: http.Agent, target: HttpTarget, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: target.path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Closed loop: `connections` keep-alive connections, each sending its next request when the
 * last one answered, for `durationMs`. Every response is checked; a failed one is counted apart.
 */
export async function closedLoop(target: HttpTarget, connections: number, durationMs: number): Promise<Round> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  try {
    return await closedLoopCalls(connections, durationMs, async (i) => {
      const response = await post(agent, target, target.body(i));
      // Checked after the latency is taken: parsing the answer is the generator's time, not the server's.
      return () => target.check(response.status, response.body);
    });
  } finally {
    agent.destroy();
  }
}

/**
 * The closed loop itself, over any call (HTTP above, dbServices, pool.query): `concurrency` callers.
 * A call may hand back a check, run after its latency is taken; a call or check that throws is a failure.
 */
export async function closedLoopCalls(concurrency: number, durationMs: number, call: (i: number) => Promise<void | (() => void)>): Promise<Round> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let sequence = 0;
  const meter = cpuMeter();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        const check = await call(sequence++);
        const elapsed = performance.now() - started;
        check?.();
        latencies.push(elapsed);
      } catch (error) {
        failures++;
        firstFailure ??= String(error).slice(0, 300);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = performance.now() - t0;
  return { latencies, wallMs: wall, failures, firstFailure, generatorCpuMs: meter().cpuMs };
}
