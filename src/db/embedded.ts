import { existsSync } from 'node:fs';
import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { ConfigError } from '../config.js';
import type { Logger } from '../logger.js';
import { postgresLayout } from './postgres-layout.js';
import { initialiseCluster, Postmaster, stopOrphanedPostmaster } from './postmaster.js';

/** The database the service uses inside its embedded cluster. */
const DATABASE = 'paige';

export interface EmbeddedDatabase {
  /** A superuser connection string for the `paige` database. */
  url: string;
  port: number;
  /** The cluster's data directory: `<dataDir>/postgres`, or where that links to (see postgres-layout.ts). */
  clusterDir: string;
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

/** PAIGE_DATA_DIR as an absolute path, made if missing; one this user cannot make or write is a bad environment. */
export async function makeDataDir(dataDir: string): Promise<string> {
  const root = resolve(dataDir);
  try {
    await mkdir(root, { recursive: true });
    await access(root, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new ConfigError('PAIGE_DATA_DIR', `cannot make or write ${root} (${(error as NodeJS.ErrnoException).code}): choose a folder this user may write`);
  }
  return root;
}

/**
 * Starts (initialising on first use) a Postgres cluster from the packaged binaries, listening on
 * 127.0.0.1 only, with a superuser password kept in the data dir. Where the cluster and the
 * binaries live (as root they may move out of the data dir and node_modules) is postgres-layout's
 * choice, logged at every start. A failure is a StartupError naming the cause.
 */
export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const root = await makeDataDir(dataDir);
  const layout = await postgresLayout(root);
  const { clusterDir } = layout;
  const { value: password } = await readOrCreateSecret(join(root, 'postgres-password'), () => randomBytes(18).toString('base64url'));

  if (existsSync(join(clusterDir, 'PG_VERSION'))) {
    await stopOrphanedPostmaster(clusterDir, log);
  } else {
    // Nothing yet, or a half-made cluster from an interrupted first start: (re)made from scratch.
    log.info(`initialising an embedded Postgres in ${clusterDir}`);
    await initialiseCluster(layout, password);
  }
  const port = await freePort();
  const postmaster = new Postmaster({ ...layout, port, log });
  await postmaster.start();
  log.info(
    `embedded Postgres on 127.0.0.1:${port}: cluster ${clusterDir}${layout.linkedFrom ? ` (linked from ${layout.linkedFrom})` : ''}, ` +
      `binaries ${layout.binDir}${layout.runAs ? ', run as the OS user postgres' : ''}`,
  );

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await admin.connect();
    try {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await postmaster.stop();
    throw error;
  }

  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    port,
    clusterDir,
    start: () => postmaster.start(),
    stop: () => postmaster.stop(),
  };
}
