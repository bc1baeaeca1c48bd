import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chown, mkdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StartupError } from './startup-error.js';
import type { Logger } from '../logger.js';

/** The OS user initdb and postgres run as when this process is root (Postgres refuses root). */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface ClusterOptions {
  /** Holds `initdb` and `postgres`. */
  binDir: string;
  /** The cluster's data directory (`postgres -D`). */
  clusterDir: string;
  runAs?: RunAs;
}

/**
 * Set in the environment of every postmaster this service starts, to the service's pid: a
 * postmaster whose parent is no longer that process was left behind (see stopOrphanedPostmaster).
 */
const OWNER_VARIABLE = 'PAIGE_DB_PID';

/** How long a postmaster gets for a fast shutdown (SIGINT) before an immediate one (SIGQUIT). */
const FAST_SHUTDOWN_MS = 5_000;

/** Postgres's own messages are matched below (readiness, FATAL lines): always in English. */
const MESSAGES_LOCALE = 'C';

/**
 * Creates a cluster in `clusterDir` (emptied first) whose superuser `postgres` has `password`.
 * The password reaches initdb through a file only its user can read, removed afterwards.
 */
export async function initialiseCluster(options: ClusterOptions, password: string): Promise<void> {
  const { binDir, clusterDir, runAs } = options;
  await rm(clusterDir, { recursive: true, force: true });
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const passwordFile = `${clusterDir}.initdb-password`;
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs) {
      await chown(clusterDir, runAs.uid, runAs.gid);
      await chown(passwordFile, runAs.uid, runAs.gid);
    }
    const initdb = join(binDir, 'initdb');
    const child = spawn(
      initdb,
      [
        `--pgdata=${clusterDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        // C.UTF-8 exists on every Linux; en_US.UTF-8 often does not.
        '--locale=C.UTF-8',
        `--lc-messages=${MESSAGES_LOCALE}`,
      ],
      { ...runAs, env: { LC_MESSAGES: MESSAGES_LOCALE }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const [code] = await exited(child, initdb, runAs);
    if (code !== 0) throw new StartupError(`initdb could not create the embedded Postgres cluster in ${clusterDir}: ${initdbReason(output, code)}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** A postmaster this process started, listening on 127.0.0.1:`port` only. */
export class Postmaster {
  private child: ChildProcess | undefined;
  private readonly stopOnExit = () => this.child?.kill('SIGINT');

  constructor(
    private readonly options: ClusterOptions & { port: number; log: Logger },
  ) {}

  /** Starts postgres and resolves once it accepts connections; a failure to start is a StartupError naming the cause. */
  async start(): Promise<void> {
    const { binDir, clusterDir, runAs, port, log } = this.options;
    const postgres = join(binDir, 'postgres');
    const child = spawn(
      postgres,
      [
        '-D', clusterDir,
        '-p', String(port),
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=200',
        '-c', `lc_messages=${MESSAGES_LOCALE}`,
        // Changes are captured from the WAL (DESIGN.md "Live changes"); the capture slot keeps at
        // most 2 GB of WAL for a capture that has stopped, so it cannot fill the disk.
        '-c', 'wal_level=logical',
        '-c', 'max_slot_wal_keep_size=2GB',
      ],
      {
        ...runAs,
        env: { LC_MESSAGES: MESSAGES_LOCALE, [OWNER_VARIABLE]: String(process.pid) },
        // A session of its own: a signal to the service's process group (Ctrl-C, `kill -- -pgid`)
        // reaches the service alone, which then stops postgres after its own connections.
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.child = child;
    let ready = false;
    let markReady!: () => void;
    const readiness = new Promise<'ready'>((resolve) => (markReady = () => resolve('ready')));
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      for (const line of text.split('\n')) if (line.trim()) log.debug(`postgres: ${line.trim()}`);
      if (ready) return;
      output += text;
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        markReady();
      }
    });
    // A process that ends without stop() (a crash, an uncaught error) must not leave postgres running.
    process.on('exit', this.stopOnExit);
    child.once('exit', (code, signal) => {
      process.off('exit', this.stopOnExit);
      if (ready && this.child === child && !child.killed) log.error(`the embedded Postgres on ${clusterDir} exited (${signal ?? `code ${code}`})`);
    });
    try {
      const outcome = await Promise.race([readiness, exited(child, postgres, runAs)]);
      if (outcome !== 'ready') throw new StartupError(`the embedded Postgres did not start on ${clusterDir}: ${postgresReason(output)} (LOG_LEVEL=debug shows all of its output)`);
    } catch (error) {
      process.off('exit', this.stopOnExit);
      this.child = undefined;
      throw error;
    }
  }

  /** Fast shutdown (SIGINT), then immediate (SIGQUIT) if it takes longer than FAST_SHUTDOWN_MS; resolves once postgres has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = once(child, 'exit');
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGQUIT'), FAST_SHUTDOWN_MS);
    await gone;
    clearTimeout(timer);
    this.child = undefined;
  }
}

/**
 * A paige-db that ends without stopping its postmaster (SIGKILL, the OOM killer) leaves it
 * running, and that postmaster's lock on the cluster stops every later start. The
 * postmaster named in `<clusterDir>/postmaster.pid` is stopped here when it is that cluster's
 * (a `postgres` whose working directory is the cluster), was started by a paige-db (it carries
 * OWNER_VARIABLE) and that paige-db is gone (it is no longer the postmaster's parent). Any other
 * holder is left alone: a StartupError names it, or postgres itself judges a lock it cannot use.
 */
export async function stopOrphanedPostmaster(clusterDir: string, log: Logger): Promise<void> {
  const pid = Number((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const holder = await inspectProcess(pid);
  if (!holder || holder.name !== 'postgres' || holder.cwd !== (await realpath(clusterDir))) return;
  if (holder.owner === undefined) {
    throw new StartupError(`a Postgres that paige-db did not start (pid ${pid}) is running on ${clusterDir}: stop it (kill -INT ${pid}) and start again`);
  }
  if (holder.parent === holder.owner) {
    throw new StartupError(`the embedded Postgres on ${clusterDir} belongs to a paige-db that is still running (pid ${holder.owner}): stop that one first, or give this one another PAIGE_DATA_DIR`);
  }
  log.warn(`stopping the embedded Postgres (pid ${pid}) that a paige-db which ended without stopping it (pid ${holder.owner}) left running on ${clusterDir}`);
  for (const [signal, ms] of [['SIGINT', 10_000], ['SIGQUIT', FAST_SHUTDOWN_MS]] as const) {
    process.kill(pid, signal);
    if (await endsWithin(pid, ms)) return;
  }
  throw new StartupError(`the embedded Postgres (pid ${pid}) left running on ${clusterDir} did not stop: stop it (kill -KILL ${pid}) and start again`);
}

interface ProcessFacts {
  /** The executable's name (`comm`). */
  name: string;
  parent: number;
  cwd: string;
  /** OWNER_VARIABLE from its environment. */
  owner: number | undefined;
}

/** What /proc says of a live process; undefined when it is gone, a zombie, or not ours to read. */
async function inspectProcess(pid: number): Promise<ProcessFacts | undefined> {
  try {
    const stat = await procStat(pid);
    if (!stat || stat.state === 'Z') return undefined;
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    const owner = environ.find((entry) => entry.startsWith(`${OWNER_VARIABLE}=`))?.slice(OWNER_VARIABLE.length + 1);
    return { name: stat.name, parent: stat.parent, cwd: await readlink(`/proc/${pid}/cwd`), owner: owner ? Number(owner) : undefined };
  } catch {
    return undefined;
  }
}

/** Name, state and parent from /proc/<pid>/stat; undefined once the process is gone. */
async function procStat(pid: number): Promise<{ name: string; state: string; parent: number } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // "pid (name) state ppid …": the name may itself hold spaces and parentheses.
  const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state: state!, parent: Number(parent) };
}

/** Polls (a process that is not our child gives no exit event) until `pid` is gone or a zombie. */
async function endsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const stat = await procStat(pid);
    if (!stat || stat.state === 'Z') return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * Resolves with [code, signal] once `child` has exited and its output is all read; a child that could not be run at all (its
 * binary unreachable: EACCES, ENOENT) rejects with a StartupError instead of the unhandled
 * 'error' event that would end the process with a stack trace.
 */
function exited(child: ChildProcess, file: string, runAs: RunAs | undefined): Promise<[number | null, NodeJS.Signals | null]> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const who = runAs ? 'the OS user postgres' : 'this user';
      reject(new StartupError(`${who} cannot run ${file} (${error.code ?? error.message}): reinstall with npm ci, and keep node_modules on a filesystem that allows executables`));
    });
    child.once('close', (code, signal) => resolve([code, signal]));
  });
}

/**
 * Why postgres stopped while starting: its FATAL (or PANIC) message with the DETAIL and HINT after
 * it and the LOG/WARNING lines just before it (a bad setting is a LOG line, then "configuration
 * file … contains errors"), else its last line.
 */
export function postgresReason(output: string): string {
  const messages = output
    .split('\n')
    .map((line) => /\b(LOG|WARNING|FATAL|PANIC|DETAIL|HINT):\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, level, text]) => ({ level: level!, text: text!.trim() }));
  const fatal = messages.findIndex(({ level }) => level === 'FATAL' || level === 'PANIC');
  if (fatal < 0) return output.trim().split('\n').at(-1)?.trim() || 'it exited without a message';
  let first = fatal;
  while (first > 0 && !/^(starting PostgreSQL|listening on)/.test(messages[first - 1]!.text) && messages[first - 1]!.level !== 'FATAL') first--;
  const last = messages.findIndex(({ level }, i) => i > fatal && (level === 'LOG' || level === 'WARNING' || level === 'FATAL' || level === 'PANIC'));
  return messages
    .slice(first, last < 0 ? undefined : last)
    .map(({ text }) => text)
    .join('; ');
}

/** initdb's `error:`/`hint:` lines, else its last line. */
function initdbReason(output: string, code: number | null): string {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const reasons = lines.filter((line) => /^initdb: (error|detail|hint):/.test(line)).map((line) => line.replace(/^initdb: /, ''));
  return (reasons.length ? reasons : lines.slice(-1)).join(' ') || `it exited with code ${code}`;
}
