import type pg from 'pg';
import type { Logger } from '../logger.js';
import type { Counter, Metrics } from '../metrics.js';
import { createPool, type Queryable } from '../db/pool.js';
import { appendEntries, appendTransactions, discardEntries, type DecodedEntry, type DecodedTransaction } from '../db/change-log.js';
import type { PgoutputMessage } from '../db/pgoutput.js';
import { ReplicationStream, SlotInUse } from '../db/replication-stream.js';
import { AppendLane } from './append-lane.js';
import { decodeChange, decodeMessage } from './decoded-changes.js';
import { HeldCommits } from './held-commits.js';

export interface CaptureLeaderOptions {
  url: string;
  log: Logger;
  metrics: Metrics;
  publication: string;
  /**
   * Asked (on the leader's own connection) before every attempt to stream: the database's slot,
   * or undefined once the database has left logical mode, which ends the candidacy.
   */
  slotToStream: (db: Queryable) => Promise<string | undefined>;
  /** How often a process standing by tries to take the slot over, in ms. @default 1000 */
  standbyRetryMs?: number;
}

/** A transaction being decoded: its entries so far (those not yet appended ahead of its commit). */
interface OpenTransaction {
  xid: number;
  committedAt: string;
  actor: unknown;
  entries: DecodedEntry[];
  bytes: number;
  nextId: number;
  /** The project schemas it changed. */
  schemas: Set<string>;
  /** Set once entries were appended ahead of the commit (a large transaction): settles when the last of them are in. */
  chunksAppended: Promise<void> | undefined;
  /**
   * Only for a transaction the walsender streams while it is open (protocol 2): the id of the
   * first entry of each subtransaction seen, where a rolled-back one's entries start. Its
   * `committedAt` is a placeholder until its commit (readers take a logical commit's time from
   * its commit row).
   */
  subtransactionStarts: Map<number, number> | undefined;
}

const newTransaction = (xid: number, committedAt: string, streamed = false): OpenTransaction => ({
  xid,
  committedAt,
  actor: null,
  entries: [],
  bytes: 0,
  nextId: 1,
  schemas: new Set(),
  chunksAppended: undefined,
  subtransactionStarts: streamed ? new Map() : undefined,
});

/** Entries of one open transaction past which they are appended ahead of its commit: it never sits whole in memory. */
const CHUNK = { entries: 1_000, bytes: 4 * 1024 * 1024 };
/** Committed transactions appended in one statement at most. */
const BATCH = { transactions: 500, bytes: 4 * 1024 * 1024 };
/**
 * Decoded entries waiting on the chunk lane or held behind a large transaction, past which the
 * stream waits for them: the memory a large transaction may take while later commits pass it.
 */
const BACKLOG = { bytes: 32 * 1024 * 1024 };
/** How long each step of stop() may take. */
const STOP_STEP_MS = 2_000;

/**
 * Capture from the write-ahead log, in the one process that holds the replication slot (Postgres
 * lets one walsender stream a slot at a time: that is the election; the others retry every
 * second and take over within one retry of the leader's connection closing). It decodes each
 * committed transaction, appends committed transactions to the change log in commit order (one
 * statement per batch, each with one data-less NOTIFY), and only then confirms their LSN. After
 * a crash between the append and the confirmation, the slot sends those transactions again and
 * the append skips them whole (DESIGN.md "Live changes").
 *
 * A large transaction's entries go ahead of its commit on a lane (and session) of their own, and
 * the stream goes on meanwhile: its commit waits for them, with every later transaction of the
 * same project (HeldCommits), while other projects' commits are appended as they come. One
 * project's 100,000-row insert would otherwise hold every project's events for the seconds its
 * entries take to append. Seqs are taken on the main lane only, one statement at a time, so a
 * reader never sees a seq commit before a smaller one.
 */
export class CaptureLeader {
  private stream: ReplicationStream | undefined;
  private stopped = false;
  private looping: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private open: OpenTransaction | undefined;
  /** Transactions streamed while open, by xid: their blocks come between other commits. */
  private readonly streamed = new Map<number, OpenTransaction>();
  private batch: DecodedTransaction[] = [];
  private batchBytes = 0;
  private readonly held = new HeldCommits();
  /** Bytes of chunks queued on the chunk lane. */
  private chunkBytes = 0;
  /** The end LSN of the last commit handled: everything before it not held is appended once the main lane settles. */
  private lastEnd: string | undefined;
  /** What the last flush confirmed (or was to): a flush is due while confirmable() differs. */
  private flushedEnd: string | undefined;
  /** Commits (one statement per batch, taking the seqs), and the confirmations after them. */
  private readonly mainLane: AppendLane;
  /** Entries of large transactions ahead of their commits, invisible until then. */
  private readonly chunkLane: AppendLane;
  private flushScheduled = false;
  private appendFailure: unknown;
  private readonly pool: pg.Pool;
  private readonly chunkPool: pg.Pool;
  private readonly counters: { transactions: Counter; entries: Counter; batches: Counter; chunks: Counter; standbyTries: Counter };
  private stopping: Promise<void> | undefined;
  leading = false;
  /** The slot last streamed or tried. */
  private slot: string | undefined;

  constructor(private readonly options: CaptureLeaderOptions) {
    // Its own session: a burst of requests on the platform pool must not hold the capture back.
    this.pool = createPool(options.url, { max: 1, applicationName: 'paige-db-capture' });
    this.chunkPool = createPool(options.url, { max: 1, applicationName: 'paige-db-capture-chunks' });
    const failure = () => this.appendFailure;
    const onFailure = (error: unknown) => {
      this.appendFailure ??= error;
      void this.stream?.stop();
    };
    this.mainLane = new AppendLane({ failure, onFailure, onSettled: () => this.flushIfDue() });
    this.chunkLane = new AppendLane({ failure, onFailure });
    this.counters = {
      transactions: options.metrics.counter('paige_capture_transactions_total', 'Committed transactions decoded from the WAL and appended to the change log'),
      entries: options.metrics.counter('paige_capture_entries_total', 'Row and table changes decoded from the WAL and appended'),
      batches: options.metrics.counter('paige_capture_batches_total', 'Append statements (each with one NOTIFY) written by the capture leader'),
      chunks: options.metrics.counter('paige_capture_chunks_total', 'Parts of large transactions appended ahead of their commit'),
      standbyTries: options.metrics.counter('paige_capture_standby_tries_total', 'Tries to take over the replication slot while another process held it'),
    };
  }

  start(): void {
    this.looping ??= this.loop();
  }

  /** Ends the candidacy (and the stream, when leading). Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.wakeUp?.();
      // A stop must end (a supervisor kills after ~10 s): a step past its bound is named and left
      // behind; the replication connection is then cut, so the slot is free for another process.
      if (!(await this.within('the replication stream', this.stream?.stop()))) this.stream?.abort();
      await this.within('the stream loop', this.looping);
      await this.within('the append pool', this.pool.end());
      await this.within('the chunk pool', this.chunkPool.end());
    })();
    return this.stopping;
  }

  /** Waits for `work` for at most STOP_STEP_MS; false (and a warning naming `step`) when it had not ended by then. */
  private async within(step: string, work: Promise<unknown> | undefined): Promise<boolean> {
    if (!work) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_STEP_MS)));
    const ended = await Promise.race([work.then(() => true, () => true), late]);
    clearTimeout(timer);
    if (!ended) this.options.log.warn(`capture: stopping, ${step} had not ended after ${STOP_STEP_MS} ms; going on without it`);
    return ended;
  }

  private async loop(): Promise<void> {
    const { log } = this.options;
    let failures = 0;
    while (!this.stopped) {
      // Postgres unreachable (no answer): the slot known from before is tried, failing and retrying after the delay.
      const answer = await this.options.slotToStream(this.pool).then((name) => ({ name }), () => undefined);
      if (answer && answer.name === undefined) {
        log.info('capture: the database captures with triggers now; this process stops standing for the slot');
        return;
      }
      this.slot = answer?.name ?? this.slot;
      if (this.stopped) return;
      const stream = new ReplicationStream({ url: this.options.url, slot: this.slot ?? '', publication: this.options.publication, applicationName: 'paige-db-capture-stream' });
      this.stream = stream;
      let delay = this.options.standbyRetryMs ?? 1_000;
      try {
        await stream.run((message) => this.handle(message), (lsn) => this.heartbeat(lsn));
        failures = 0;
      } catch (error) {
        if (error instanceof SlotInUse) this.counters.standbyTries.inc();
        else {
          // A stream that held the slot was good: its end starts the back-off over.
          failures = stream.started ? 1 : failures + 1;
          delay = Math.min(250 * 2 ** Math.min(failures, 5), 5_000);
          if (!this.stopped) log.warn(`capture: the replication stream ended (${String(error)}); starting again in ${delay} ms`);
        }
      }
      if (this.leading) log.info('capture: this process no longer holds the replication slot');
      this.leading = false;
      // What was decoded but not confirmed is sent again by the slot: start clean.
      await Promise.all([this.mainLane.settled(), this.chunkLane.settled()]);
      this.reset();
      if (!this.stopped) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private reset(): void {
    this.open = undefined;
    this.streamed.clear();
    this.batch = [];
    this.batchBytes = 0;
    this.held.clear();
    this.chunkBytes = 0;
    this.lastEnd = undefined;
    this.flushedEnd = undefined;
    this.appendFailure = undefined;
    this.mainLane.reset();
    this.chunkLane.reset();
  }

  private async handle(message: PgoutputMessage): Promise<void> {
    if (this.appendFailure !== undefined) throw this.appendFailure;
    if (!this.leading) {
      this.leading = true;
      this.options.log.info('capture: this process holds the replication slot and appends the change log');
    }
    switch (message.tag) {
      case 'begin':
        this.open = newTransaction(message.xid, message.commitTime);
        return;
      case 'streamStart': {
        let transaction = this.streamed.get(message.xid);
        if (!transaction) {
          transaction = newTransaction(message.xid, new Date().toISOString(), true);
          this.streamed.set(message.xid, transaction);
        }
        this.open = transaction;
        return;
      }
      case 'streamStop':
        // Nothing of a transaction still open stays in memory between its blocks.
        if (this.open && this.open.entries.length > 0) await this.appendChunk();
        this.open = undefined;
        return;
      case 'streamCommit': {
        const transaction = this.streamed.get(message.xid);
        this.streamed.delete(message.xid);
        if (transaction) transaction.committedAt = message.commitTime;
        this.open = transaction;
        return this.commit(message.commitLsn, message.endLsn);
      }
      case 'streamAbort':
        return this.discardStreamed(message.xid, message.subxid);
      case 'message': {
        const decoded = decodeMessage(message);
        if (!this.open || !decoded) return;
        this.noteSubtransaction(message.xid);
        if (decoded.actor !== undefined) this.open.actor ??= decoded.actor;
        if (decoded.entry) this.add([decoded.entry], 0);
        return;
      }
      case 'insert':
      case 'update':
      case 'delete':
      case 'truncate': {
        if (!this.open) throw new Error(`capture: a ${message.tag} outside a transaction`);
        this.noteSubtransaction(message.xid);
        const { entries, bytes } = decodeChange(message);
        this.add(entries, bytes);
        if (this.open.entries.length >= CHUNK.entries || this.open.bytes >= CHUNK.bytes) await this.appendChunk();
        return;
      }
      case 'commit':
        return this.commit(message.commitLsn, message.endLsn);
      default:
        return;
    }
  }

  /** A streamed change names its subtransaction: where that one's entries start is kept, should it roll back. */
  private noteSubtransaction(xid: number | undefined): void {
    const open = this.open;
    const starts = open?.subtransactionStarts;
    if (xid === undefined || !open || !starts || xid === open.xid || starts.has(xid)) return;
    starts.set(xid, open.nextId);
  }

  /**
   * A streamed transaction aborted (`subxid === xid`), or one of its subtransactions rolled
   * back: its entries from there on are taken back, in memory and, behind its chunks, in the log.
   * Everything after a subtransaction's first change is its own or its nested ones' (the WAL
   * order Postgres streams in; its own apply worker truncates its spool file the same way).
   */
  private discardStreamed(xid: number, subxid: number): void {
    const transaction = this.streamed.get(xid);
    if (!transaction) return;
    let from = 1;
    if (subxid === xid) this.streamed.delete(xid);
    else {
      const starts = transaction.subtransactionStarts!;
      const start = starts.get(subxid);
      if (start === undefined) return;
      from = start;
      for (const [sub, first] of starts) if (first >= from) starts.delete(sub);
      transaction.nextId = from;
    }
    transaction.entries = transaction.entries.filter((entry) => entry.id < from);
    if (!transaction.chunksAppended) return;
    const discarded = this.chunkLane.run(() => discardEntries(this.chunkPool, xid, from));
    transaction.chunksAppended = discarded;
    discarded.catch(() => {});
  }

  private add(entries: Omit<DecodedEntry, 'id'>[], bytes: number): void {
    const open = this.open!;
    for (const entry of entries) {
      open.entries.push({ id: open.nextId++, ...entry });
      open.schemas.add(entry.schema);
    }
    open.bytes += bytes;
  }

  /**
   * A large transaction's entries so far go ahead of its commit on the chunk lane, so it never
   * sits whole in memory. The stream goes on unless the backlog is past its bound.
   */
  private async appendChunk(): Promise<void> {
    const open = this.open!;
    const { entries, bytes } = open;
    open.entries = [];
    open.bytes = 0;
    this.chunkBytes += bytes;
    const appended = this.chunkLane.run(async () => {
      await appendEntries(this.chunkPool, open, entries);
      this.counters.chunks.inc();
    });
    open.chunksAppended = appended.finally(() => (this.chunkBytes -= bytes));
    // A failure stops the stream (AppendLane); the commit waiting for these chunks never comes.
    open.chunksAppended.catch(() => {});
    await this.waitIfBacklogged();
  }

  /** Past the backlog's bound, the stream waits for the chunk lane: what a large transaction may hold in memory while others pass it. */
  private async waitIfBacklogged(): Promise<void> {
    if (this.chunkBytes + this.held.bytes >= BACKLOG.bytes) await this.chunkLane.settled();
  }

  private async commit(commitLsn: string, endLsn: string): Promise<void> {
    const open = this.open;
    this.open = undefined;
    const confirmableBefore = this.lastEnd;
    this.lastEnd = endLsn;
    // A transaction with nothing the log keeps (the leader's own appends, an actor mark alone).
    if (open && (open.entries.length > 0 || open.chunksAppended)) {
      const transaction = { xid: open.xid, commitLsn, committedAt: open.committedAt, actor: open.actor, entries: open.entries, schemas: [...open.schemas] };
      if (open.chunksAppended || this.held.blocks(open.schemas)) {
        const commit = { transaction, bytes: open.bytes, schemas: open.schemas, ready: !open.chunksAppended, confirmableBefore };
        this.held.hold(commit);
        void open.chunksAppended?.then(() => {
          commit.ready = true;
          this.releaseHeld();
        }, () => {});
        await this.waitIfBacklogged();
      } else {
        this.batch.push(transaction);
        this.batchBytes += open.bytes;
      }
    }
    if (this.batch.length >= BATCH.transactions || this.batchBytes >= BATCH.bytes) await this.flush();
    else this.scheduleFlush();
  }

  /** The held commits now free join the batch, in commit order. */
  private releaseHeld(): void {
    for (const commit of this.held.release()) {
      this.batch.push(commit.transaction);
      this.batchBytes += commit.bytes;
    }
    this.scheduleFlush();
  }

  /**
   * Once the messages already received are handled, and no append is running: what commits while
   * one runs waits for it and goes with the next, so a backlog makes bigger batches rather than
   * more statements (an append costs about the same for one transaction or hundreds).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || !this.mainLane.idle) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // Nothing is appended behind a failed append: the stream restarts from what was confirmed.
      if (this.appendFailure === undefined) void this.flush().catch(() => {});
    });
  }

  /** After an append: what came meanwhile, or a confirmation a released commit allows. */
  private flushIfDue(): void {
    if (this.batch.length > 0 || this.confirmable() !== this.flushedEnd) this.scheduleFlush();
  }

  /** Everything before it is in the log: the last commit handled, or the commit before the first held one. */
  private confirmable(): string | undefined {
    const held = this.held.confirmableBefore();
    return held.held ? held.lsn : this.lastEnd;
  }

  /** Appends the committed transactions decoded so far, then confirms as far as the log is complete. */
  private flush(): Promise<void> {
    const batch = this.batch;
    const confirmable = this.confirmable();
    this.flushedEnd = confirmable;
    const stream = this.stream!;
    this.batch = [];
    this.batchBytes = 0;
    return this.mainLane.run(async () => {
      if (batch.length > 0) {
        await appendTransactions(this.pool, batch);
        this.counters.batches.inc();
        this.counters.transactions.inc(batch.length);
        this.counters.entries.inc(batch.reduce((sum, transaction) => sum + transaction.entries.length, 0));
      }
      if (confirmable) await stream.confirm(confirmable);
    });
  }

  /**
   * A keepalive says the server has sent everything before `lsn`. With nothing received still to
   * handle, nothing open, held or being appended, all of it is in the log: confirm it, so an
   * idle project does not hold back the WAL of a busy cluster.
   */
  private heartbeat(lsn: string): void {
    const quiet = !this.open && this.streamed.size === 0 && this.batch.length === 0 && this.held.size === 0 && this.mainLane.idle && this.chunkLane.idle;
    if (this.appendFailure === undefined && this.stream && this.stream.pending === 0 && quiet) void this.stream.confirm(lsn).catch(() => {});
  }
}
