import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded.js';
import { sleep } from './stats.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Child {
  child: ChildProcess;
  pid: number;
  port: number;
  /** Sends SIGTERM to this child only (never by name) and waits for it to exit. */
  stop(): Promise<void>;
  output(): string;
}

/** Spawns `node --import tsx <script>` (plus node flags) with the env given on top of PATH/HOME. */
export function spawnTs(script: string, env: Record<string, string>, nodeFlags: string[] = [], ipc = false): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    // Typed arrays (latency samples) cross IPC as they are, not as JSON objects.
    serialization: 'advanced',
  });
}

/** Polls http://127.0.0.1:port/readyz until it answers 200. */
export async function waitReady(port: number, timeoutMs: number, path = '/readyz'): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      if (response.status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`nothing answered 200 on :${port}${path} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

function wrap(child: ChildProcess, port: number, readyPath: string): Promise<Child> {
  let out = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  child.stderr?.on('data', (chunk) => (out += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle: Child = {
    child,
    pid: child.pid!,
    port,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    },
  };
  return waitReady(port, 60_000, readyPath).then(
    () => handle,
    async (error: unknown) => {
      await handle.stop();
      throw new Error(`${String(error)}\n${out}`);
    },
  );
}

/** paige-db itself, the way `npm start` runs it (node + tsx on src/main.ts). */
export async function startOurs(databaseUrl: string, adminToken: string, nodeFlags: string[] = []): Promise<Child> {
  const port = await freePort();
  const child = spawnTs('src/main.ts', {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    GRAPHQL_INTROSPECTION: 'false',
    PAIGE_DATA_DIR: join(tmpdir(), 'paige-bench-unused'),
  }, nodeFlags);
  return wrap(child, port, '/readyz');
}

/** A floor server script from bench/ (answers /healthz when ready). */
export async function startFloor(script: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<Child> {
  const port = await freePort();
  const child = spawnTs(script, { ...env, PORT: String(port) }, nodeFlags);
  return wrap(child, port, '/healthz');
}

/** Resident memory of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : Number.NaN;
}

/** user+system CPU time of a process so far, in ms (Linux /proc, clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (0-based after the command name)
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
