import type pg from 'pg';
import type { Pool, Queryable } from './pool.js';
import * as sql from './sql/change-log.sql.js';
import { parseLsn } from './pgoutput.js';
import type { Actor } from '../domain/actor.js';
import type { PageSnapshot } from './page-snapshot.js';


/** What a row change did (CLEAR: every row went at once, by TRUNCATE). */
export type RowOp = 'INSERT' | 'UPDATE' | 'DELETE' | 'CLEAR';
/** What a table change did. */
export type TableChangeKind = 'CREATED' | 'DROPPED' | 'RENAMED' | 'ALTERED';

/** What one change did, as the log keeps it; rows already API-encoded (by the trigger or the decoder). */
export interface ChangeFields {
  schema: string;
  table: string;
  op: RowOp | TableChangeKind;
  row: Record<string, unknown> | null;
  oldRow: Record<string, unknown> | null;
  changedColumns: string[] | null;
  newName: string | null;
}

/** One entry of `paige.change_log` with its commit seq. */
export interface ChangeEntry extends ChangeFields {
  /** Commit sequence number of the writing transaction (int8 as text). */
  seq: string;
  /** Order within the transaction (int8 as text). */
  id: string;
  /** ISO 8601 with microseconds. */
  at: string;
  /** Who wrote the transaction; null for a write made outside the API. */
  actor: Actor | null;
  /** Where the transaction committed in the WAL (logical capture); null for one the triggers captured. */
  commitLsn: string | null;
  /** The writing transaction's id (xid8 as text). */
  xid: string;
  /**
   * Columns whose value (in row or oldRow) was too large to stream: the row was over
   * EVENT_ROW_BYTES, and these values are left out of it (migration 009). Absent when none.
   */
  omitted?: string[];
}

/** What one event may hold of a row (its JSON): a larger row is streamed without its largest values. */
export const EVENT_ROW_BYTES = 2 * 1024 * 1024;
/** About what one read of the log may hold: a page ends after the entry that reaches it. */
export const READ_PAGE_BYTES = 2 * 1024 * 1024;

/** A page of entries as a read returns it, and whether more may follow it. */
type PageRow = ChangeEntry & { omitted: string[] | null; bytesBefore: string; fetched: number };

function toPage(rows: PageRow[], limit: number): { entries: ChangeEntry[]; more: boolean } {
  const entries = rows.map(({ bytesBefore: _b, fetched: _f, omitted, ...entry }) => (omitted ? { ...entry, omitted } : entry));
  const fetched = rows[0]?.fetched ?? 0;
  return { entries, more: entries.length > 0 && (fetched >= limit || entries.length < fetched) };
}

/** A place in the log, in commit order: the transaction's seq, then the entry id inside it. */
export interface ChangePosition {
  seq: bigint;
  id: bigint;
}

/** Past every entry of transaction `seq`: where a reader stands after reading up to the head. */
const END_OF_TRANSACTION = 2n ** 63n - 1n;
export const afterTransaction = (seq: bigint): ChangePosition => ({ seq, id: END_OF_TRANSACTION });

export const positionOf = (entry: Pick<ChangeEntry, 'seq' | 'id'>): ChangePosition => ({ seq: BigInt(entry.seq), id: BigInt(entry.id) });

export function comparePositions(a: ChangePosition, b: ChangePosition): number {
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/** The `cursor` a client passes back as `since`: "<seq>.<id>". */
export const encodeCursor = (entry: Pick<ChangeEntry, 'seq' | 'id'>): string => `${entry.seq}.${entry.id}`;

/** Parses a cursor, or undefined when it is not one this server could have issued. */
export function decodeCursor(cursor: string): ChangePosition | undefined {
  const match = /^(\d{1,19})\.(\d{1,19})$/.exec(cursor);
  if (!match) return undefined;
  const position = { seq: BigInt(match[1]!), id: BigInt(match[2]!) };
  return position.seq > 0n && position.seq < END_OF_TRANSACTION && position.id < END_OF_TRANSACTION ? position : undefined;
}

const params = (after: ChangePosition) => [after.seq.toString(), after.id.toString()];

export interface ChangeBatch {
  /** The highest committed seq in the snapshot the entries were read from. */
  head: bigint;
  entries: ChangeEntry[];
  /** The page was cut (by count or bytes): read again after its last entry. */
  more: boolean;
}

/**
 * Reads the committed changes of `schemas` after `after`, in commit order, at most `limit` and
 * about READ_PAGE_BYTES, and the head in the same snapshot. Without `more` the reader may move to
 * `afterTransaction(head)`; otherwise to the last entry, and read again.
 */
export async function readChanges(db: Queryable, after: ChangePosition, schemas: readonly string[], limit: number): Promise<ChangeBatch> {
  const { rows } = await db.query<PageRow & { head: string }>(sql.readChangesSql, [...params(after), schemas, limit, EVENT_ROW_BYTES, READ_PAGE_BYTES]);
  const head = BigInt(rows[0]?.head ?? '0');
  return { head, ...toPage(rows.filter((row) => row.seq !== null).map(({ head: _head, ...entry }) => entry), limit) };
}

/** Where the WAL is being written now: every transaction that commits from here on has a commit LSN at or past it. */
export async function readWalPosition(db: Queryable): Promise<bigint> {
  const { rows } = await db.query<{ lsn: string }>(sql.walInsertPositionSql);
  return parseLsn(rows[0]!.lsn);
}

export async function readHead(db: Queryable): Promise<bigint> {
  const { rows } = await db.query<{ head: string }>(sql.headSql);
  return BigInt(rows[0]!.head);
}

/** Where a page's snapshot starts its replay: past every transaction before any it could have missed. */
export async function snapshotStart(db: Queryable, snapshot: Pick<PageSnapshot, 'head' | 'xmin'>): Promise<ChangePosition> {
  const { rows } = await db.query<{ start: string }>(sql.snapshotStartSql, [snapshot.head.toString(), snapshot.xmin.toString()]);
  return afterTransaction(BigInt(rows[0]!.start));
}

/** The cursor is older than the retention: the changes after it are gone. */
export class CursorExpiredError extends Error {}
/** The cursor lies beyond everything committed: no server issued it. */
export class UnknownCursorError extends Error {}

export interface ReplayRange {
  schema: string;
  table: string;
  /** Inclusive: the live reader delivers everything after this position. */
  upTo: ChangePosition;
  pageSize?: number;
}

/**
 * One page of one table's row changes after `after`, up to `range.upTo`: at most `pageSize`
 * (1000) entries and about READ_PAGE_BYTES. Each page is a short REPEATABLE READ transaction of
 * its own, which checks that the changes after `after` are still there (a prune that commits
 * between two pages makes the next one CursorExpiredError, never a silent gap), so a replay holds
 * no connection and no snapshot while its client is slow.
 */
export async function readReplayPage(pool: Pool, range: ReplayRange, after: ChangePosition): Promise<{ entries: ChangeEntry[]; more: boolean }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ prunedThrough: string }>(sql.prunedThroughSql);
    const prunedThrough = BigInt(rows[0]?.prunedThrough ?? '0');
    // At the watermark itself an event's cursor may not have been its transaction's last entry;
    // the end of a transaction (a page's snapshot) is past all of it.
    if (after.seq < prunedThrough || (after.seq === prunedThrough && after.id !== END_OF_TRANSACTION)) throw new CursorExpiredError();
    const head = BigInt((await client.query<{ head: string }>(sql.headSql)).rows[0]!.head);
    if (after.seq > head) throw new UnknownCursorError();
    const pageSize = range.pageSize ?? 1000;
    const page = await client.query<PageRow>(sql.replayChangesSql, [...params(after), ...params(range.upTo), range.schema, range.table, pageSize, EVENT_ROW_BYTES, READ_PAGE_BYTES]);
    await client.query('COMMIT');
    return toPage(page.rows, pageSize);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Deletes every transaction committed before `cutoff` with its entries, and moves the watermark
 * that makes older cursors CURSOR_EXPIRED; and the actor rows of ended transactions (trigger
 * mode), whatever their age. Safe to run from several processes at once.
 */
export async function pruneChangeLog(db: Queryable, cutoff: Date): Promise<{ through: bigint | null; deleted: number }> {
  await db.query(sql.pruneTransactionActorsSql);
  const { rows } = await db.query<{ through: string | null }>(sql.pruneThroughSql, [cutoff]);
  const through = rows[0]?.through;
  if (!through) return { through: null, deleted: 0 };
  const result = await db.query<{ deleted: number }>(sql.pruneSql, [through]);
  return { through: BigInt(through), deleted: result.rows[0]?.deleted ?? 0 };
}

/** Removes a deleted project's entries, inside deleteProject's transaction. */
export async function purgeSchemaChanges(client: pg.PoolClient, schema: string): Promise<void> {
  await client.query(sql.purgeSchemaSql, [schema]);
}

/** One entry of a transaction decoded from the WAL, numbered from 1 within it. */
export interface DecodedEntry extends ChangeFields {
  id: number;
  /**
   * The columns whose value in `row` and `oldRow` is still Postgres's text, with their type:
   * the append encodes them as to_jsonb does (src/db/wal-values.ts).
   */
  walTypes?: Record<string, number>;
}

/** A committed transaction decoded from the WAL, ready to append (its entries, or the rest of them). */
export interface DecodedTransaction {
  /** The 32-bit transaction id pgoutput names it by. */
  xid: number;
  commitLsn: string;
  /** ISO 8601 with microseconds: the events' `at`. */
  committedAt: string;
  actor: unknown;
  entries: DecodedEntry[];
  /** The project schemas it changed, its entries appended ahead of the commit included. */
  schemas: string[];
}

/**
 * Appends decoded transactions in commit order, in one statement, and wakes every process at its
 * commit. A named statement: the leader's session parses and plans it once, not once per batch
 * (about half the server's time for a batch of one transaction).
 */
export async function appendTransactions(db: Queryable, transactions: readonly DecodedTransaction[]): Promise<void> {
  const given = transactions.map((transaction, ord) => ({ ord, ...transaction }));
  await db.query({ name: 'paige_append_transactions', text: sql.appendTransactionsSql, values: [JSON.stringify(given)] });
}

/** Appends part of a large transaction's entries ahead of its commit (invisible until then). */
export async function appendEntries(db: Queryable, transaction: Pick<DecodedTransaction, 'xid' | 'committedAt'>, entries: readonly DecodedEntry[]): Promise<void> {
  await db.query(sql.appendEntriesSql, [transaction.xid, transaction.committedAt, JSON.stringify(entries)]);
}

/** Takes back a streamed transaction's entries from `fromId` on (a rolled-back subtransaction, or from 1 an aborted transaction). */
export async function discardEntries(db: Queryable, xid: number, fromId: number): Promise<void> {
  await db.query(sql.discardEntriesSql, [xid, fromId]);
}
