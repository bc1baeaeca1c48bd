/**
 * The statements of the capture mode and its switch (src/db/capture-mode.ts); the functions they
 * call are migration 006's.
 */

/** What decides the mode: the server's wal_level, the role, slots, the database's mode now. */
export const captureStateSql = /* SQL */ `
SELECT current_setting('wal_level') AS "walLevel",
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS "canReplicate",
       paige.capture_mode() AS mode,
       paige.capture_slot() AS "slotName",
       EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = paige.capture_slot()) AS slot,
       current_setting('max_replication_slots')::int > 0 AND current_setting('max_wal_senders')::int > 0 AS "slotsAvailable"`;

/** One switch at a time: a table lock, which no project role can take (an advisory key anyone could). */
export const lockSwitchSql = /* SQL */ `LOCK TABLE paige.capture_switch_lock IN EXCLUSIVE MODE`;

/** Waits for the transactions running now to end (to have a consistent start). */
export const createSlotSql = /* SQL */ `SELECT pg_create_logical_replication_slot(paige.capture_slot(), 'pgoutput')`;

/** $1 mode. */
export const enterModeSql = /* SQL */ `SELECT paige.enter_capture_mode($1)`;

/** Held for the drain of a switch to triggers: every commit stamp waits (migration 002). */
export const holdStampsSql = /* SQL */ `LOCK TABLE paige.change_commit_lock IN EXCLUSIVE MODE`;

/** Where the WAL stands: everything committed so far ends before it. */
export const walPositionSql = /* SQL */ `SELECT pg_current_wal_insert_lsn()::text AS lsn`;

/** A transaction the leader decodes after everything before it, so that the slot's position moves past it. */
export const barrierSql = /* SQL */ `SELECT pg_logical_emit_message(true, 'paige.barrier', '')`;

/** $1 position: the slot has confirmed past it. */
export const slotConfirmedPastSql = /* SQL */ `
SELECT coalesce((SELECT confirmed_flush_lsn > $1::pg_lsn FROM pg_replication_slots WHERE slot_name = paige.capture_slot()), false) AS past`;

/** Ends the walsender streaming the slot, so it can be dropped. */
export const releaseSlotSql = /* SQL */ `
SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = paige.capture_slot() AND active_pid IS NOT NULL`;

export const dropSlotSql = /* SQL */ `
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = paige.capture_slot() AND NOT active`;

/** How far behind the slot is, in bytes of WAL it keeps; no row without the slot. */
export const slotLagSql = /* SQL */ `
SELECT slot_name AS name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS "lagBytes", active
  FROM pg_replication_slots WHERE slot_name = paige.capture_slot()`;
