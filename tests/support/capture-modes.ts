import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createLogger } from '../../src/logger.js';
import { createEmptyDatabase } from './postgres.js';
import { leftover } from './leftovers.js';
import { startTestServer, type TestServer } from './server.js';

/**
 * Databases for the two capture modes, whichever Postgres this run has. Trigger capture works on
 * any server. Logical capture needs wal_level = logical: the embedded run's cluster has it; the
 * machine's Postgres (wal_level = replica) does not, so there a test gets a private embedded
 * cluster of its own (the launcher `npm start` uses, always logical).
 */

async function walLevelOf(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]!.wal_level;
  } finally {
    await client.end();
  }
}

/** A private embedded cluster (always wal_level = logical), stopped and removed after the test file. */
export async function startPrivateCluster(): Promise<EmbeddedDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-cluster-'));
  const cluster = await startEmbeddedPostgres(dataDir, createLogger('warn'));
  leftover(async () => {
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return cluster;
}

let privateCluster: Promise<EmbeddedDatabase> | undefined;

/**
 * The URL of a new empty database where logical capture can run (dropped after the test file):
 * on this run's server when it is logical, else on one private cluster shared by the file.
 */
export async function logicalDatabaseUrl(): Promise<string> {
  if ((await walLevelOf(inject('serverUrl'))) === 'logical') return createEmptyDatabase();
  privateCluster ??= startPrivateCluster();
  const cluster = await privateCluster;
  return createEmptyDatabase(cluster.url);
}

/** Whether this run's own database can capture from the WAL (the embedded run) or only by triggers. */
export async function runCaptureMode(): Promise<'logical' | 'triggers'> {
  return (await walLevelOf(inject('serverUrl'))) === 'logical' ? 'logical' : 'triggers';
}

/**
 * A server on a new empty database of its own that captures in `mode` (PAIGE_CAPTURE set to it):
 * the trigger one on this run's server, the logical one where wal_level allows it. Both exist
 * in either run, so one test file can compare the modes.
 */
export async function startServerInMode(mode: 'logical' | 'triggers', env: Record<string, string> = {}): Promise<{ t: TestServer; databaseUrl: string }> {
  const databaseUrl = mode === 'logical' ? await logicalDatabaseUrl() : await createEmptyDatabase();
  const t = await startTestServer({ ...env, DATABASE_URL: databaseUrl, PAIGE_CAPTURE: mode });
  if (t.server.services.capture.mode !== mode) throw new Error(`the server captures by ${t.server.services.capture.mode}, not ${mode}`);
  return { t, databaseUrl };
}
