import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createBenchDatabase, graphqlClient, type BenchDatabase, type Gql } from './setup.js';
import { startOurs, type Child } from './processes.js';
import { readWalLevel } from '../../src/db/capture-mode.js';

export interface CaptureCounters {
  transactions: number;
  batches: number;
}

/** paige-db capturing from the WAL: its own server process on a database of a wal_level = logical cluster. */
export interface LogicalTarget {
  database: BenchDatabase;
  ours: Child;
  gql: Gql;
  /** Where the cluster came from, for the report. */
  where: string;
  /** The capture leader's counters (its /metrics): transactions appended and append statements. */
  counters(): Promise<CaptureCounters>;
  close(): Promise<void>;
}

/**
 * The run's own cluster when it has wal_level = logical (BENCH_EMBEDDED=1), else an embedded
 * cluster of the bench's own (always logical, the one `npm start` runs), removed after. A server
 * that does not report `"capture": "logical"` in /readyz ends the run: its figures would be the
 * triggers'.
 */
export async function startLogicalTarget(serverUrl: string, adminToken: string, nodeFlags: string[]): Promise<LogicalTarget> {
  let embedded: EmbeddedDatabase | undefined;
  let embeddedDir: string | undefined;
  let clusterUrl = serverUrl;
  let where = 'the run\'s own cluster (wal_level = logical)';
  if ((await readWalLevel(serverUrl)) !== 'logical') {
    embeddedDir = await mkdtemp(join(tmpdir(), 'paige-bench-logical-'));
    embedded = await startEmbeddedPostgres(embeddedDir, createLogger('warn'));
    clusterUrl = embedded.url.replace(/\/paige$/, '/postgres');
    where = 'an embedded cluster of its own (wal_level = logical, as `npm start` runs it)';
  }
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('logical target cleanup:', error));
  };
  if (embedded) cleanups.push(async () => (await embedded.stop(), await rm(embeddedDir!, { recursive: true, force: true })));
  try {
    const database = await createBenchDatabase(clusterUrl);
    cleanups.push(() => database.drop());
    const ours = await startOurs(database.url, adminToken, nodeFlags);
    cleanups.push(() => ours.stop());
    const readyz = (await (await fetch(`http://127.0.0.1:${ours.port}/readyz`)).json()) as { capture?: string };
    if (readyz.capture !== 'logical') throw new Error(`the server on the logical cluster captures with ${readyz.capture ?? 'nothing it reports'}: ${JSON.stringify(readyz)}`);
    const gql = graphqlClient(`http://127.0.0.1:${ours.port}/graphql`, adminToken);
    const counters = async (): Promise<CaptureCounters> => {
      const text = await (await fetch(`http://127.0.0.1:${ours.port}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })).text();
      const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
      return { transactions: value('paige_capture_transactions_total'), batches: value('paige_capture_batches_total') };
    };
    return { database, ours, gql, where, counters, close };
  } catch (error) {
    await close();
    throw error;
  }
}
