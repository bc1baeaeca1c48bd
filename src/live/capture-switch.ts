import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import {
  createSlot,
  dropSlot,
  enterMode,
  holdCommitStamps,
  logicalUnavailable,
  placeBarrier,
  readCaptureState,
  slotConfirmedPast,
  underSwitchLock,
  CAPTURE_PUBLICATION,
  type CaptureMode,
  type CaptureSetting,
} from '../db/capture-mode.js';
import type { Pool } from '../db/pool.js';
import { CaptureLeader } from './capture-leader.js';

/** The configured mode cannot run on this database: named, with what to do. */
export class CaptureUnavailable extends Error {}

/** How long a switch to triggers waits for the slot's last transactions to reach the log. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface CaptureSetup {
  pool: Pool;
  url: string;
  log: Logger;
  metrics: Metrics;
}

/** A capture leader candidate for this database: it streams while it holds the slot and the database stays in logical mode. */
export function captureLeader(setup: CaptureSetup): CaptureLeader {
  return new CaptureLeader({
    url: setup.url,
    log: setup.log,
    metrics: setup.metrics,
    publication: CAPTURE_PUBLICATION,
    slotToStream: async (db) => {
      const state = await readCaptureState(db);
      return state.mode === 'logical' ? state.slotName : undefined;
    },
  });
}

/**
 * Decides the capture mode at start (PAIGE_CAPTURE; auto picks logical where the server allows
 * it) and switches the database when it runs the other one. Several processes starting at once
 * queue on the switch lock; the first switches, the others find it done.
 */
export async function prepareCapture(setup: CaptureSetup, setting: CaptureSetting): Promise<CaptureMode> {
  const state = await readCaptureState(setup.pool);
  const why = logicalUnavailable(state);
  if (setting === 'logical' && why) throw new CaptureUnavailable(`PAIGE_CAPTURE=logical cannot run: ${why}`);
  if (setting === 'triggers' || why) {
    if (state.mode === 'logical' || state.slot) await switchToTriggers(setup);
    return 'triggers';
  }
  await switchToLogical(setup);
  return 'logical';
}

/**
 * Triggers → WAL. The slot is made first (its consistent point S), then one transaction (C)
 * removes every capture trigger and records the mode. A transaction committed between S and C
 * was captured by its triggers and is decoded too: the leader skips it, its xid being in the log
 * already. Removing a table's triggers waits for the writers holding the table, so no
 * transaction is captured half by triggers and half from the WAL.
 */
async function switchToLogical({ pool, url, log }: CaptureSetup): Promise<void> {
  await underSwitchLock(pool, async (client, state) => {
    if (state.mode === 'logical' && state.slot) return;
    if (!state.slot) await createSlot(url);
    await enterMode(client, 'logical');
    log.info(state.mode === 'logical' ? 'capture: the replication slot was missing and is made again' : 'capture: this database switched from triggers to the write-ahead log');
  });
}

/**
 * WAL → triggers, with no change lost or doubled. Commit stamps are held back while one
 * transaction (E) puts the capture triggers back and records the mode, and while a leader appends
 * every transaction the WAL holds before E (a barrier after E says when the slot is past it). Then
 * the slot goes and the stamps resume: the first stamped transaction gets a seq after the last
 * decoded one, so commit order holds across the switch; one after E is captured by its triggers
 * and skipped by the leader (its xid is in the log).
 */
async function switchToTriggers(setup: CaptureSetup): Promise<void> {
  const { pool, log } = setup;
  const stamps = await holdCommitStamps(setup.url);
  try {
    await underSwitchLock(pool, async (client, state) => {
      if (state.mode === 'logical') await enterMode(client, 'triggers');
    });
    if (!(await readCaptureState(pool)).slot) return;
    const barrier = await placeBarrier(pool);
    const leader = captureLeader(setup);
    leader.start();
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    try {
      while (!(await slotConfirmedPast(pool, barrier)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await leader.stop();
    }
    if (!(await slotConfirmedPast(pool, barrier))) {
      log.warn(`capture: the replication slot did not reach ${barrier} within ${DRAIN_TIMEOUT_MS} ms; changes committed before the switch and not yet in the log are lost`);
    }
    while (!(await dropSlot(pool))) await new Promise((resolve) => setTimeout(resolve, 50));
    log.info('capture: this database switched from the write-ahead log to triggers');
  } finally {
    await stamps.release();
  }
}
