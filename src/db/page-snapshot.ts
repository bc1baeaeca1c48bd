/**
 * `Table.rows { changesCursor }`: the snapshot a page was read in, so that `rowChanges(since:)`
 * delivers exactly the changes the page does not show.
 *
 * A position in the change log cannot say that: a transaction reaches the log after it commits
 * (from the WAL, a moment later), and Postgres may make transactions visible in another order
 * than their commit records. What is exact is the snapshot itself (pg_current_snapshot(), taken
 * by the page's own statement): a logged transaction is in the page if and only if it is visible
 * in that snapshot. So the subscriber replays from a log position before every transaction the
 * snapshot could miss and skips each transaction the snapshot saw.
 *
 * The cursor is `<head>@<xmin>:<xmax>:<xip,...>`: the log's head in the same snapshot (how old
 * the cursor is, against the pruning watermark), then pg_snapshot's own text form.
 */
export interface PageSnapshot {
  /** The highest committed seq the page's snapshot saw in the change log. */
  head: bigint;
  xmin: bigint;
  xmax: bigint;
  /** Transactions in progress when the snapshot was taken (xmin ≤ xid < xmax). */
  inProgress: ReadonlySet<bigint>;
}

/** What the page's statement adds for the cursor: the log's head and the snapshot, in one text. */
export const PAGE_SNAPSHOT_SQL = /* SQL */ `(SELECT coalesce(max(seq), 0) FROM paige.change_commits)::text || '@' || pg_current_snapshot()::text`;

const CURSOR = /^(\d{1,19})@(\d{1,19}):(\d{1,19}):((?:\d{1,19}(?:,\d{1,19})*)?)$/;

/** Parses a changesCursor, or undefined when it is not one. */
export function decodePageSnapshot(cursor: string): PageSnapshot | undefined {
  const match = CURSOR.exec(cursor);
  if (!match) return undefined;
  const [, head, xmin, xmax, inProgress] = match;
  const snapshot = {
    head: BigInt(head!),
    xmin: BigInt(xmin!),
    xmax: BigInt(xmax!),
    inProgress: new Set(inProgress ? inProgress.split(',').map(BigInt) : []),
  };
  if (snapshot.xmin > snapshot.xmax) return undefined;
  for (const xid of snapshot.inProgress) if (xid < snapshot.xmin || xid >= snapshot.xmax) return undefined;
  return snapshot;
}

/**
 * Whether a committed transaction's effects are in the snapshot (pg_visible_in_snapshot for a
 * committed xid8): ended before it (below xmin, or between xmin and xmax and not in progress).
 */
export function visibleInSnapshot(snapshot: PageSnapshot, xid: bigint): boolean {
  if (xid < snapshot.xmin) return true;
  if (xid >= snapshot.xmax) return false;
  return !snapshot.inProgress.has(xid);
}
