import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded.js';
import { root, waitReady } from '../lib/processes.js';
import type { Report } from '../lib/report.js';
import { fmt, sleep } from '../lib/stats.js';

/**
 * One `npm start` with the embedded Postgres in `dataDir`: seconds until /readyz answers 200,
 * then SIGTERM to the process group this bench created (npm and the service; postgres runs in a
 * session of its own and the service stops it) and wait for the cluster's lock file to go, so the
 * next start finds an existing, cleanly stopped data dir.
 */
async function timedStart(dataDir: string): Promise<{ seconds: number; createServerMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitReady(port, 120_000);
    const seconds = (performance.now() - t0) / 1000;
    // main.ts logs how long createServer + listen took; the rest is npm, tsx and loading modules.
    for (let i = 0; i < 20 && !/ready at .* in \d+ ms/.test(output); i++) await sleep(50);
    const createServerMs = Number(/ready at .* in (\d+) ms/.exec(output)?.[1] ?? Number.NaN);
    return { seconds, createServerMs };
  } catch (error) {
    throw new Error(`${String(error)}\n${output}`);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
    const lock = join(dataDir, 'postgres', 'postmaster.pid');
    for (let i = 0; i < 200 && existsSync(lock); i++) await sleep(100);
  }
}

/** Issue 7 §7: seconds from `npm start` to /readyz on an existing data dir (embedded Postgres). */
export async function startBench(report: Report) {
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-bench-start-'));
  try {
    const first = await timedStart(dataDir);
    report.detail(`first start (initdb of a new data dir, not the figure): ${fmt(first.seconds)} s`);
    const runs: { seconds: number; createServerMs: number }[] = [];
    for (let i = 0; i < 3; i++) runs.push(await timedStart(dataDir));
    runs.sort((a, b) => a.seconds - b.seconds);
    report.detail(
      `npm start → /readyz on the existing data dir: ${runs.map((r) => `${fmt(r.seconds)} s (of which createServer — embedded Postgres start, migrations check, listener — ${fmt(r.createServerMs)} ms)`).join('; ')}`,
    );
    report.atMost('7', 'npm start → /readyz, existing data dir (median of 3)', 's', runs[1]!.seconds, 3);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
