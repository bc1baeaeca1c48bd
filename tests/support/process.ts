import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** The exit code, or a failure with what the process printed when it has not exited within `ms`. */
  exitedWithin(ms: number): Promise<number | null>;
  /** Waits until stderr (or `from`) matches `pattern`, failing after `ms`. */
  waitFor(pattern: RegExp, ms?: number, from?: 'stdout' | 'stderr'): Promise<RegExpMatchArray>;
}

/** Runs the service the way `npm start` does (node + tsx on src/main.ts), with only the env given. */
export function startServiceProcess(env: Record<string, string>): ServiceProcess {
  return watch(spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * Runs `npm start` itself, as a supervisor or a terminal would. `ownGroup`: in a process group of
 * its own (as a shell's job is), so the test can signal the whole group.
 */
export function startNpmStart(env: Record<string, string>, { ownGroup = false } = {}): ServiceProcess {
  return watch(spawn('npm', ['start'], { cwd: root, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup }));
}

function baseEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
}

function watch(child: ChildProcess): ServiceProcess {
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (chunk) => {
    out += chunk;
    waiters.forEach((w) => w());
  });
  child.stderr!.on('data', (chunk) => {
    err += chunk;
    waiters.forEach((w) => w());
  });
  // 'close': the output is all read by then.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    exitedWithin(ms) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running ${ms} ms later; stderr:\n${err}`)), ms);
      });
      return Promise.race([exited, late]).finally(() => clearTimeout(timer));
    },
    waitFor(pattern, ms = 30_000, from = 'stderr') {
      // stdout and stderr are two pipes: what a process wrote to one before the other may arrive after it.
      const text = () => (from === 'stdout' ? out : err);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms on ${from}; stderr:\n${err}`)), ms);
        const check = () => {
          const match = pattern.exec(text());
          if (match) {
            clearTimeout(timer);
            resolve(match);
          }
        };
        waiters.push(check);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before ${pattern}; stderr:\n${err}`));
        });
        check();
      });
    },
  };
}

/** Whether `pid` is a live process (a zombie, which only waits to be reaped, is not). */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** The pids of `pid`'s child processes. */
export async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

/** The postmaster's pid and port, from the cluster's postmaster.pid. */
export async function postmasterOf(clusterDir: string): Promise<{ pid: number; port: number }> {
  const lines = (await readFile(`${clusterDir}/postmaster.pid`, 'utf8')).split('\n');
  return { pid: Number(lines[0]), port: Number(lines[3]) };
}

/** Whether nothing listens on 127.0.0.1:`port`. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/**
 * Which of `pids` holds the TCP socket whose local port is `port` (as Postgres shows a client's
 * `client_port`): read from the sockets of this network namespace and each process's descriptors.
 */
export async function processWithSocket(pids: readonly number[], port: number): Promise<number | undefined> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local && Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9]!);
    }
  }
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return pid;
    }
  }
  return undefined;
}
