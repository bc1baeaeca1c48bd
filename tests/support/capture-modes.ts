import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createLogger } from '../../src/logger.js';
import { createEmptyDatabase } from './postgres.js';
import { leftover } from './leftovers.js';
import { eventually } from './hostile.js';
import { startTestServer, type TestServer } from './server.js';
import { readWalLevel } from '../../src/db/capture-mode.js';

/**
 * Databases for the two capture modes, whichever Postgres this run has. Trigger capture works on
 * any server. Logical capture needs wal_level = logical: the embedded run's cluster has it; the
 * machine's Postgres (wal_level = replica) does not, so there a test gets a private embedded
 * cluster of its own (the launcher `npm start` uses, always logical).
 */

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
  if ((await readWalLevel(inject('serverUrl'))) === 'logical') return createEmptyDatabase();
  privateCluster ??= startPrivateCluster();
  const cluster = await privateCluster;
  return createEmptyDatabase(cluster.url);
}

/** Whether this run's own database can capture from the WAL (the embedded run) or only by triggers. */
export async function runCaptureMode(): Promise<'logical' | 'triggers'> {
  return (await readWalLevel(inject('serverUrl'))) === 'logical' ? 'logical' : 'triggers';
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

/**
 * Resolves once every transaction this database committed before the call is in the change log:
 * at once with trigger capture (a transaction is in the log when it commits); from the WAL, once
 * the capture leader has confirmed a marker transaction written now (it confirms in commit order,
 * after appending), so a test's baseline is not moved later by an entry still on its way.
 */
export async function capturedSoFar(db: pg.Client, ms = 15_000): Promise<void> {
  const { rows: [slot] } = await db.query<{ name: string | null }>(`SELECT slot_name AS name FROM pg_replication_slots WHERE slot_name = paige.capture_slot()`);
  if (!slot) return;
  const { rows: [mark] } = await db.query<{ lsn: string }>(`SELECT pg_logical_emit_message(true, 'paige-test', 'captured so far')::text AS lsn`);
  const confirmed = await eventually(async () => (await db.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND confirmed_flush_lsn > $2::pg_lsn`, [slot.name, mark!.lsn])).rowCount === 1, ms);
  if (!confirmed) throw new Error(`the capture leader did not confirm past ${mark!.lsn} within ${ms} ms`);
}
