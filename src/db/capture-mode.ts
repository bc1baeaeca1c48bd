import pg from 'pg';
import { createPool, inTransaction, type Pool, type Queryable } from './pool.js';
import * as sql from './sql/capture.sql.js';

/**
 * The database's capture mode (migration 006) and the steps of switching it. Which mode a
 * process wants, and the order of the steps, is src/live/capture-switch.ts's.
 */

export type CaptureMode = 'logical' | 'triggers';
export type CaptureSetting = CaptureMode | 'auto';

/** A server's wal_level, read on a session of its own (any database: the platform schema is not needed). */
export async function readWalLevel(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]!.wal_level;
  } finally {
    await client.end();
  }
}

/** The publication logical capture reads through (one per database, as the slot: paige.capture_slot()). */
export const CAPTURE_PUBLICATION = 'paige_changes';

export interface CaptureState {
  walLevel: string;
  /** The service's role may replicate and publish schemas (a superuser). */
  canReplicate: boolean;
  /** The database's mode now. */
  mode: CaptureMode;
  /** The database's replication slot (pgoutput), `paige_capture_<database oid>`: slot names are the cluster's. */
  slotName: string;
  slot: boolean;
  slotsAvailable: boolean;
}

export async function readCaptureState(db: Queryable): Promise<CaptureState> {
  const { rows } = await db.query<CaptureState>(sql.captureStateSql);
  return rows[0]!;
}

/** Why logical capture cannot run on this server, or undefined when it can. */
export function logicalUnavailable(state: CaptureState): string | undefined {
  if (state.walLevel !== 'logical') return `the server runs with wal_level = ${state.walLevel} (logical is needed: set it and restart Postgres)`;
  if (!state.canReplicate) return 'the service role is not a superuser (logical capture publishes project schemas and replicates)';
  if (!state.slotsAvailable) return 'the server allows no replication slots (max_replication_slots and max_wal_senders must be above 0)';
  return undefined;
}

/** Runs `work` holding the switch lock, with the state read under it: one switch at a time. */
export function underSwitchLock<T>(db: Pool, work: (client: pg.PoolClient, state: CaptureState) => Promise<T>): Promise<T> {
  return inTransaction(db, async (client) => {
    // Not bounded by the platform pool's API timeouts: a switch waits for another process's, and
    // alters every project's tables at startup.
    await client.query(`SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0`);
    await client.query(sql.lockSwitchSql);
    return work(client, await readCaptureState(client));
  });
}

/**
 * Makes the slot. On a session of its own, before the switching transaction writes anything:
 * making a slot waits for every transaction with an id to end, that one included.
 */
export async function createSlot(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'paige-db-capture-setup' });
  await client.connect();
  try {
    await client.query(sql.createSlotSql);
  } finally {
    await client.end();
  }
}

/** Records the mode and fits every project table to it, in the caller's transaction. */
export async function enterMode(client: pg.PoolClient, mode: CaptureMode): Promise<void> {
  await client.query(sql.enterModeSql, [mode]);
}

/**
 * Holds every commit stamp back until `release()` (a session of its own holding the stamp lock):
 * no trigger-captured transaction gets a seq meanwhile.
 */
export async function holdCommitStamps(url: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'paige-db-capture-setup' });
  await client.connect();
  await client.query('BEGIN');
  await client.query(sql.holdStampsSql);
  return {
    release: async () => {
      await client.query('COMMIT').catch(() => {});
      await client.end();
    },
  };
}

/**
 * Where the WAL stands now, then a transaction after it for the leader to decode: once the slot
 * has confirmed past the position, every transaction committed before it is in the log.
 */
export async function placeBarrier(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ lsn: string }>(sql.walPositionSql);
  await db.query(sql.barrierSql);
  return rows[0]!.lsn;
}

export async function slotConfirmedPast(db: Queryable, lsn: string): Promise<boolean> {
  const { rows } = await db.query<{ past: boolean }>(sql.slotConfirmedPastSql, [lsn]);
  return rows[0]!.past;
}

/** Drops the slot, ending the walsender that streams it first; true once it is gone. */
export async function dropSlot(db: Queryable): Promise<boolean> {
  await db.query(sql.releaseSlotSql);
  await db.query(sql.dropSlotSql);
  return !(await readCaptureState(db)).slot;
}

/** How many bytes of WAL the slot keeps for capture, and whether a leader streams it; undefined without the slot. */
async function slotLag(db: Queryable): Promise<CaptureStatus['slot']> {
  const { rows } = await db.query<{ name: string; lagBytes: string; active: boolean }>(sql.slotLagSql);
  return rows[0] ? { name: rows[0].name, lagBytes: Number(rows[0].lagBytes), streaming: rows[0].active } : undefined;
}

export interface CaptureStatus {
  capture: CaptureMode;
  /** In logical mode: the WAL the slot keeps, and whether a leader streams it. */
  slot?: { name: string; lagBytes: number; streaming: boolean };
}

/**
 * Reads the capture status (for /readyz and the lag warning) on one connection of its own: a
 * health check neither waits behind requests for a pooled connection nor takes one from them.
 */
export class CaptureStatusReader {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = createPool(url, { max: 1, applicationName: 'paige-db-status', allowExitOnIdle: true });
  }

  async read(): Promise<CaptureStatus> {
    const { mode } = await readCaptureState(this.pool);
    if (mode !== 'logical') return { capture: mode };
    const slot = await slotLag(this.pool);
    return { capture: mode, ...(slot ? { slot } : {}) };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
