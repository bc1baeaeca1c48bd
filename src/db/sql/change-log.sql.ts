import { quoteLiteral } from '../identifiers.js';

import { CHANNEL_BASES, notifyChannelSql } from '../notify-channels.js';

/** The channel the commit stamp and the append notify (no payload), named per database (src/db/notify-channels.ts). */
const notifyChanges = notifyChannelSql(CHANNEL_BASES.changes);

/**
 * Attaches capture to one table (migration 003): writes its own trigger function,
 * `paige.capture_for_<oid>()`, whose statements are generated once from the table's columns and
 * planned once per session, and points the four statement-level triggers (transition tables)
 * at it. Trigger names start with `paige_` so they read as the platform's in `\d`.
 */
export function attachCaptureSql(schema: string, table: string): string {
  return /* SQL */ `SELECT paige.attach_capture(${quoteLiteral(schema)}, ${quoteLiteral(table)})`;
}

/** $1 schema, $2 table, $3 kind, $4 new name (RENAMED) or NULL. */
export const recordTableChangeSql = /* SQL */ `SELECT paige.record_table_change($1, $2, $3, $4)`;

/** The columns of one change, bigints as text (node-postgres keeps int8 as strings); its rows still as logged. */
const changeColumns = /* SQL */ `
  c.seq, l.id, l.schema_name AS "schema", l.table_name AS "table", l.op, l.new_row, l.old_row,
  l.changed_columns AS "changedColumns", l.new_name AS "newName",
  -- From the WAL, an entry's time is its commit's: entries streamed ahead of it could not know it.
  CASE WHEN c.commit_lsn IS NULL THEN l.at ELSE c.committed_at END AS at,
  c.actor, c.commit_lsn::text AS "commitLsn", c.xid::text AS xid`;

/**
 * A read's entries (`limited`: changeColumns, in (seq, id) order, at most N of them) as they are
 * streamed: each row through paige.streamable_row (migration 009: a row over `rowBytes` keeps its
 * smallest values and names the rest in "omitted"), and the page cut after the entry that
 * reaches `pageBytes`, so a read holds at most about pageBytes + one entry. "fetched" is how many
 * the count limit let through: fewer came back when the bytes cut the page.
 * NOTE: measuring a row means detoasting and printing it, and a window computes every row it is
 * given: entries whose stored (compressed) sizes alone already pass `pageBytes` are dropped first,
 * from their toast headers, so a page of large rows measures a few of them, not 1000. (A row's
 * printed JSON is rarely smaller than its stored jsonb; where it is, the page is only shorter.)
 */
const streamedPage = (limited: string, rowBytes: string, pageBytes: string) => /* SQL */ `
SELECT q.* FROM (
  SELECT p.seq, p.id, p."schema", p."table", p.op, n.kept AS "row", o.kept AS "oldRow",
         CASE WHEN cardinality(n.omitted) + cardinality(o.omitted) > 0 THEN ARRAY(SELECT DISTINCT unnest(n.omitted || o.omitted) ORDER BY 1) END AS omitted,
         p."changedColumns", p."newName", p.at, p.actor, p."commitLsn", p.xid,
         sum(n.bytes + o.bytes) OVER (ORDER BY p.seq, p.id) - (n.bytes + o.bytes) AS "bytesBefore",
         p.fetched
    FROM (
      SELECT s.* FROM (
        SELECT lim.*, (count(*) OVER ())::int AS fetched,
               sum(coalesce(pg_column_size(lim.new_row), 0) + coalesce(pg_column_size(lim.old_row), 0)) OVER (ORDER BY lim.seq, lim.id)
                 - (coalesce(pg_column_size(lim.new_row), 0) + coalesce(pg_column_size(lim.old_row), 0)) AS "storedBefore"
          FROM (${limited}) lim
      ) s
      WHERE s."storedBefore" < ${pageBytes}
    ) p
   CROSS JOIN LATERAL paige.streamable_row(p.new_row, ${rowBytes}) n
   CROSS JOIN LATERAL paige.streamable_row(p.old_row, ${rowBytes}) o
) q
WHERE q."bytesBefore" < ${pageBytes}`;

// A position is (seq, id): commit order first, then the order within the transaction. "After
// ($1, $2)" is `c.seq >= $1 AND (c.seq > $1 OR l.id > $2)`, split below between the commit and
// its entries.

/**
 * The listener's read, once for all subscribers of the process: the changes of the given schemas
 * ($3) after the position, at most $4 of them and about $6 bytes (rows over $5 bytes cut, see streamedPage), and the head (highest committed seq) taken in the
 * SAME snapshot, so the reader can move to the head without skipping anything it did not fetch.
 * LEFT JOIN so the head comes back even when there is no change to return.
 * NOTE: commits are walked in seq order through their index and each one's entries fetched by
 * the log's (xid, id) key (LATERAL), so the read stops after $4 entries. A plain join let the
 * planner, misled by statistics from before a burst, hash the whole log instead: 174 ms against
 * under 2 ms for a reader 100,000 entries behind. The entry bound is one comparison (ids start at
 * 1), not `c.seq > $1 OR l.id > $2`: an OR is no index bound, so every read inside a big
 * transaction scanned it from its first entry, 1000 more each time (issue 14, point 7: a
 * 100,000-row transaction took 14 s to read, each batch slower than the one before). The inner
 * LIMIT bounds what one commit contributes: the outer sort by (seq, id) otherwise takes a whole
 * commit's entries before the first row (Incremental Sort, presorted by seq only), and the hub's
 * sessions plan without bitmap scans (src/live/change-hub.ts), which cannot stop early either.
 */
export const readChangesSql = /* SQL */ `
SELECT h.head, e.*
  FROM (SELECT coalesce(max(seq), 0) AS head FROM paige.change_commits) h
  LEFT JOIN LATERAL (${streamedPage(/* SQL */ `
    SELECT ${changeColumns}
      FROM paige.change_commits c
     CROSS JOIN LATERAL (
       SELECT * FROM paige.change_log l
        WHERE l.xid = c.xid AND l.id > CASE WHEN c.seq > $1::bigint THEN 0 ELSE $2::bigint END AND l.schema_name = ANY ($3::text[])
        ORDER BY l.id
        LIMIT $4
     ) l
     WHERE c.seq >= $1::bigint AND (c.schemas IS NULL OR c.schemas && $3::text[])
     ORDER BY c.seq, l.id
     LIMIT $4`, '$5::bigint', '$6::bigint')}
  ) e ON true
 ORDER BY e.seq, e.id`;

/** The WAL's insert position, as text (16/B374D848). */
export const walInsertPositionSql = /* SQL */ `SELECT pg_current_wal_insert_lsn()::text AS lsn`;

/** The highest committed seq: where a process starts reading. */
export const headSql = /* SQL */ `SELECT coalesce(max(seq), 0) AS head FROM paige.change_commits`;

/**
 * Replay for one subscriber: one table's row changes after ($1, $2) up to ($3, $4) inclusive,
 * at most $7 per page and about $9 bytes (rows over $8 bytes cut, see streamedPage). $5 schema,
 * $6 table. Walks commits by seq like readChangesSql.
 */
export const replayChangesSql = /* SQL */ `${streamedPage(/* SQL */ `
SELECT ${changeColumns}
  FROM paige.change_commits c
 CROSS JOIN LATERAL (
   SELECT * FROM paige.change_log l
    WHERE l.xid = c.xid AND (c.seq > $1::bigint OR l.id > $2::bigint) AND (c.seq < $3::bigint OR l.id <= $4::bigint)
      AND l.schema_name = $5 AND l.table_name = $6 AND l.op IN ('INSERT', 'UPDATE', 'DELETE', 'CLEAR')
    ORDER BY l.id
 ) l
 WHERE c.seq >= $1::bigint AND c.seq <= $3::bigint AND (c.schemas IS NULL OR $5 = ANY (c.schemas))
 ORDER BY c.seq, l.id
 LIMIT $7`, '$8::bigint', '$9::bigint')}
ORDER BY q.seq, q.id`;

/**
 * Where a page's snapshot (page-snapshot.ts) starts its replay: before every logged transaction
 * the snapshot could have missed (those from its xmin on), and not after the head it saw. $1 the
 * head it saw, $2 its xmin.
 */
export const snapshotStartSql = /* SQL */ `
SELECT least($1::bigint, coalesce(min(seq) - 1, $1::bigint)) AS start FROM paige.change_commits WHERE xid >= $2::text::xid8`;

/** Everything at or below this seq has been pruned. */
export const prunedThroughSql = /* SQL */ `
SELECT value::bigint AS "prunedThrough" FROM paige.settings WHERE key = 'change_log_pruned_through'`;

/** The last seq committed before the cutoff ($1): everything up to it goes. */
export const pruneThroughSql = /* SQL */ `
SELECT max(seq) AS through FROM paige.change_commits WHERE committed_at < $1`;

/** Deletes the log rows and commit stamps up to seq $1 and records the new watermark. */
export const pruneSql = /* SQL */ `
WITH doomed AS (
  DELETE FROM paige.change_commits WHERE seq <= $1::bigint RETURNING xid
), rows AS (
  DELETE FROM paige.change_log l USING doomed d WHERE l.xid = d.xid RETURNING 1
), mark AS (
  UPDATE paige.settings SET value = greatest(value::bigint, $1::bigint)::text
   WHERE key = 'change_log_pruned_through'
)
SELECT count(*)::int AS "deleted" FROM rows`;

/** The actor rows of ended transactions (trigger mode's paige.transaction_actors, migration 007). */
export const pruneTransactionActorsSql = /* SQL */ `SELECT paige.prune_transaction_actors() AS pruned`;

/**
 * A deleted project's changes: nobody may read them again. Also drops the capture functions of
 * its (already dropped) tables. $1 schema.
 */
export const purgeSchemaSql = /* SQL */ `
WITH purged AS (DELETE FROM paige.change_log WHERE schema_name = $1)
SELECT paige.drop_orphan_captures($1)`;

/**
 * The 64-bit id (xid8) of a decoded transaction from its 32-bit xid (what pgoutput sends): the
 * current epoch, or the one before when the xid is above the current counter (it wrapped since).
 * A decoded transaction has committed, so its xid is below the current xmax. `x` is a bigint.
 */
const xid8Of = (x: string) => /* SQL */ `(
  SELECT (CASE WHEN ${x} <= (c & 4294967295) THEN ((c >> 32) << 32) | ${x} ELSE (((c >> 32) - 1) << 32) | ${x} END)::text::xid8
    FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS c) cur)`;

/** The entries of a decoded transaction, as the capture leader sends them ($n: a JSON array, parsed as json: only the rows become jsonb). */
const decodedEntries = (param: string) => /* SQL */ `
  json_to_recordset(${param}) AS e(id bigint, schema text, "table" text, op text, row jsonb, "oldRow" jsonb, "changedColumns" text[], "newName" text, "walTypes" jsonb)`;

/** An entry's row ('row' or '"oldRow"'), its values of types only Postgres can encode encoded (migration 007). */
const encodedRow = (column: string) => /* SQL */ `CASE WHEN e."walTypes" IS NULL THEN e.${column} ELSE paige.encode_wal_values(e.${column}, e."walTypes") END`;

/**
 * Appends decoded transactions in commit order, in ONE statement (logical capture's leader):
 * each gets the next commit seq in the order given, its actor and commit LSN, and its entries,
 * then one data-less NOTIFY wakes every process at commit. A transaction already in the log (the
 * same one appended before a crash, or stamped by the triggers during a mode switch) is skipped
 * whole, so a replay writes nothing twice. $1: [{ ord, xid, commitLsn, committedAt, actor, entries }].
 * NOTE: the entries are taken from `fresh`, not joined to the commits inserted: the planner, which
 * expects one row from each, joined them by a nested loop, n² comparisons (46 of 53 ms for 500
 * transactions). A commit that `fresh` holds but another statement inserted meanwhile (a leader
 * that lost the slot mid-append) has the same entries, which the log's key skips.
 */
export const appendTransactionsSql = /* SQL */ `
WITH given AS (
  SELECT t.ord, ${xid8Of('t.xid')} AS xid, t."commitLsn", t."committedAt", t.actor, t.entries, t.schemas
    FROM json_to_recordset($1::json) AS t(ord int, xid bigint, "commitLsn" pg_lsn, "committedAt" timestamptz, actor jsonb, entries json, schemas text[])
), fresh AS (
  -- nextval in the order of the sorted subquery: seq order is commit order.
  SELECT g.*, nextval('paige.change_commit_seq') AS seq
    FROM (SELECT * FROM given g WHERE NOT EXISTS (SELECT 1 FROM paige.change_commits c WHERE c.xid = g.xid) ORDER BY g.ord) g
), commits AS (
  INSERT INTO paige.change_commits (xid, seq, committed_at, commit_lsn, actor, schemas)
  SELECT xid, seq, "committedAt", "commitLsn", actor, schemas FROM fresh
  ON CONFLICT (xid) DO NOTHING
), entries AS (
  INSERT INTO paige.change_log (id, xid, schema_name, table_name, op, new_row, old_row, changed_columns, new_name, at) OVERRIDING SYSTEM VALUE
  SELECT e.id, f.xid, e.schema, e."table", e.op, ${encodedRow('row')}, ${encodedRow('"oldRow"')}, e."changedColumns", e."newName", f."committedAt"
    FROM fresh f CROSS JOIN LATERAL ${decodedEntries('f.entries')}
  ON CONFLICT DO NOTHING
)
SELECT pg_notify(${notifyChanges}, '')`;

/**
 * Some entries of a transaction too large to append in one go, ahead of its commit: invisible to
 * readers until the commit row exists, and skipped when the transaction is already in the log.
 * $1 xid (32-bit), $2 committed at, $3 entries.
 */
export const appendEntriesSql = /* SQL */ `
INSERT INTO paige.change_log (id, xid, schema_name, table_name, op, new_row, old_row, changed_columns, new_name, at) OVERRIDING SYSTEM VALUE
SELECT e.id, x.xid, e.schema, e."table", e.op, ${encodedRow('row')}, ${encodedRow('"oldRow"')}, e."changedColumns", e."newName", $2::timestamptz
  FROM (SELECT ${xid8Of('$1::bigint')} AS xid) x CROSS JOIN LATERAL ${decodedEntries('$3::json')}
 WHERE NOT EXISTS (SELECT 1 FROM paige.change_commits c WHERE c.xid = x.xid)
ON CONFLICT DO NOTHING`;

/**
 * Takes back the entries of a transaction streamed while open, from entry $2 on: a rolled-back
 * subtransaction's (it and everything after it, which its nested ones made), or all of an
 * aborted transaction's (from 1). Never a committed one's. $1 xid (32-bit), $2 first entry id.
 */
export const discardEntriesSql = /* SQL */ `
DELETE FROM paige.change_log l
 USING (SELECT ${xid8Of('$1::bigint')} AS xid) x
 WHERE l.xid = x.xid AND l.id >= $2
   AND NOT EXISTS (SELECT 1 FROM paige.change_commits c WHERE c.xid = x.xid)`;
