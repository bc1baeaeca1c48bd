import type pg from 'pg';
import { createPool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Counter, Metrics } from '../metrics.js';
import { DomainError } from '../domain/errors.js';
import type { WhereNode } from '../domain/where.js';
import * as changeLog from '../db/change-log.js';
import type { ChangeEntry, ChangePosition } from '../db/change-log.js';
import type { PgSubscriber } from '../db/pg-subscriber.js';
import type { PageSnapshot } from '../db/page-snapshot.js';
import { parseLsn } from '../db/pgoutput.js';
import { Member, type RowGroup } from './member.js';
import { MatchBudgetError } from '../domain/like.js';
import { changeMatches, isRowChange, toRowChange, toTableChange, type RowChangeEvent, type TableChangeEvent } from './change-events.js';

export interface ChangeHubOptions {
  /** The database whose change log is read. */
  url: string;
  /** The process's one LISTEN connection: its wake-ups say the log has something new. */
  subscriber: PgSubscriber;
  log: Logger;
  metrics: Metrics;
  /** How long the log keeps entries for resuming subscribers; older ones are pruned. */
  retentionHours: number;
  /**
   * The log is appended from the WAL (logical capture), after each transaction commits: a live
   * subscriber then starts at the WAL's position when it joins, not at the log's head.
   */
  fromWal: boolean;
  /** Entries per read of the log. @default 1000 */
  batchSize?: number;
  /** A subscriber further behind than this many events is ended with an error. @default 100000 */
  maxQueued?: number;
}

export interface RowSubscription {
  schema: string;
  table: string;
  where: WhereNode | null;
  /** Identical subscriptions (same table, same filter) share one group: filtered once per change. */
  whereKey: string;
  since?: ChangePosition;
  /** A page's snapshot (its changesCursor): the changes it does not show, then live. */
  snapshot?: PageSnapshot;
}

const tableKey = (schema: string, table: string) => `${schema}\u0000${table}`;

/**
 * The subscription fan-out of one process. While it has subscribers it LISTENs on the change
 * log's channel; on every wake-up (a data-less NOTIFY, or the subscriber's connection coming back
 * after notifications may have been missed) it reads the change log ONCE after its position, for
 * all subscribers, and hands each entry to the groups of identical subscriptions: each group tests
 * its filter once, and the event object is built once and shared by every subscriber. Reads and
 * registrations run one at a time on a promise chain, so a new subscriber's starting point is
 * exactly where the reader stands.
 */
export class ChangeHub {
  private position: ChangePosition = changeLog.afterTransaction(0n);
  private chain: Promise<unknown> = Promise.resolve();
  private readQueued = false;
  private failures = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly rowGroups = new Map<string, Map<string, RowGroup>>();
  private readonly tableMembers = new Map<string, Set<Member<TableChangeEvent>>>();
  /** Ends the LISTEN on the change log's channel; set while there are subscribers. */
  private unlisten: (() => Promise<void>) | undefined;
  /**
   * The hub's own few connections, apart from the request pool: a burst of requests cannot
   * delay deliveries, and the reads never show up among a request's statements.
   */
  private readonly pool: pg.Pool;
  private readonly counters: { reads: Counter; entriesRead: Counter; eventsBuilt: Counter };
  private readonly subscriberListeners = new Set<(count: number) => void>();

  constructor(private readonly options: ChangeHubOptions) {
    // Same exact-type sessions as the platform pool (UTC, ISO dates), so an event's `at` is ISO 8601.
    // A bot that never calls close() must still be able to exit.
    this.pool = createPool(options.url, { max: 4, applicationName: 'paige-db-changes', allowExitOnIdle: true });
    const { metrics } = options;
    this.counters = {
      reads: metrics.counter('paige_change_log_reads_total', 'Reads of the change log by the fan-out'),
      entriesRead: metrics.counter('paige_change_log_entries_read_total', 'Change log entries read by the fan-out'),
      eventsBuilt: metrics.counter('paige_change_events_built_total', 'Change events built (one per change, shared by its subscribers)'),
    };
    metrics.gauge('paige_subscribers', 'Row and table change subscribers registered in this process', () => this.subscriberCount);
    // Back after a loss: whatever was committed meanwhile sent its NOTIFY to nobody.
    options.subscriber.onListening((listening) => listening && this.wake());
  }

  /** Prunes the change log now and then (a server does this; a bot's in-process hub does not). */
  start(): void {
    const retentionMs = this.options.retentionHours * 3_600_000;
    const prune = () => void this.prune().catch((e: unknown) => this.options.log.warn(`pruning the change log failed: ${String(e)}`));
    // Now (a server that was down for a while has a backlog), then often enough that entries
    // never outlive the retention by much, and at least hourly.
    prune();
    this.pruneTimer = setInterval(prune, Math.max(1_000, Math.min(3_600_000, retentionMs / 4)));
    this.pruneTimer.unref();
  }

  /** Ends every subscription, the LISTEN and the hub's connections. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.pruneTimer);
    clearTimeout(this.retryTimer);
    await this.chain;
    await this.unlisten?.();
    for (const groups of this.rowGroups.values()) for (const group of groups.values()) for (const m of group.members) m.queue.end();
    for (const members of this.tableMembers.values()) for (const m of members) m.queue.end();
    await this.pool.end();
  }

  /** How many subscribers are registered (row and table), e.g. to know a subscription is live. */
  get subscriberCount(): number {
    let count = 0;
    for (const groups of this.rowGroups.values()) for (const group of groups.values()) count += group.members.size;
    for (const members of this.tableMembers.values()) count += members.size;
    return count;
  }

  /**
   * Tells `listener` the subscriber count each time a subscriber is registered (from then on it
   * misses no change) or leaves. Returns the function that stops telling it.
   */
  onSubscribers(listener: (count: number) => void): () => void {
    this.subscriberListeners.add(listener);
    return () => void this.subscriberListeners.delete(listener);
  }

  private subscribersChanged(): void {
    const count = this.subscriberCount;
    for (const listener of [...this.subscriberListeners]) listener(count);
  }

  /** Deletes log entries older than the retention. */
  prune(now = new Date()): Promise<{ through: bigint | null; deleted: number }> {
    return changeLog.pruneChangeLog(this.pool, new Date(now.getTime() - this.options.retentionHours * 3_600_000));
  }

  /** Schedules one read of the log; wake-ups that arrive while one is queued share it. */
  wake(): void {
    if (this.readQueued || this.stopped) return;
    this.readQueued = true;
    void this.exclusive(async () => {
      this.readQueued = false;
      await this.catchUp();
    });
  }

  /**
   * Registers a row subscriber. With `since`, first replays that table's changes after it up to
   * where the reader stands (holding back live ones meanwhile): no gap, no duplicate.
   * Throws CURSOR_EXPIRED / BAD_USER_INPUT before any event for a cursor it cannot serve.
   */
  async subscribeRows(spec: RowSubscription): Promise<AsyncIterableIterator<RowChangeEvent | DomainError>> {
    const maxQueued = this.options.maxQueued ?? 100_000;
    const since = spec.snapshot ? await changeLog.snapshotStart(this.pool, spec.snapshot) : spec.since;
    const member: Member<RowChangeEvent> = new Member(maxQueued, since, () => this.leaveRowGroup(member), spec.snapshot);
    if (since) member.held = [];
    const boundary = await this.exclusive(async () => {
      if (this.subscriberCount === 0) await this.listen();
      // Its start known before it joins: a failure here leaves no subscriber behind.
      if (!since) await this.startLive(member);
      const key = tableKey(spec.schema, spec.table);
      const groups = this.rowGroups.get(key) ?? new Map<string, RowGroup>();
      this.rowGroups.set(key, groups);
      const group = groups.get(spec.whereKey) ?? { where: spec.where, members: new Set() };
      groups.set(spec.whereKey, group);
      group.members.add(member);
      this.subscribersChanged();
      return this.position;
    });
    if (!since) return member.queue;
    try {
      const range = { schema: spec.schema, table: spec.table, after: since, upTo: boundary };
      await changeLog.replayChanges(this.pool, range, (entries) => {
        for (const entry of entries) {
          if (isRowChange(entry) && !member.saw(entry) && changeMatches(spec.where, entry)) member.queue.push(toRowChange(entry));
        }
      });
    } catch (error) {
      if (error instanceof MatchBudgetError) {
        // The replayed events before the change the filter cannot answer for, then the error.
        member.queue.push(error);
        member.queue.end();
        return member.queue;
      }
      member.queue.end();
      if (error instanceof changeLog.CursorExpiredError) {
        const cursor = spec.snapshot ? 'this changesCursor' : `cursor "${changeLog.encodeCursor({ seq: String(since.seq), id: String(since.id) })}"`;
        throw new DomainError('CURSOR_EXPIRED', `since: the changes after ${cursor} are older than the retention and were pruned; read the rows again and subscribe without since`, { field: 'since' });
      }
      if (error instanceof changeLog.UnknownCursorError) throw new DomainError('BAD_USER_INPUT', 'since: no change with this cursor was ever committed', { field: 'since' });
      throw error;
    }
    member.releaseHeld();
    return member.queue;
  }

  /** Registers a `tableChanges` subscriber for one project schema: live only. */
  async subscribeTables(schema: string): Promise<AsyncIterableIterator<TableChangeEvent | DomainError>> {
    const member: Member<TableChangeEvent> = new Member(this.options.maxQueued ?? 100_000, undefined, () => {
      const members = this.tableMembers.get(schema);
      members?.delete(member);
      if (members?.size === 0) this.tableMembers.delete(schema);
      this.subscribersChanged();
      this.unlistenWhenIdle();
    });
    await this.exclusive(async () => {
      if (this.subscriberCount === 0) await this.listen();
      await this.startLive(member);
      const members = this.tableMembers.get(schema) ?? new Set();
      this.tableMembers.set(schema, members.add(member));
      this.subscribersChanged();
    });
    return member.queue;
  }

  private leaveRowGroup(member: Member<RowChangeEvent>) {
    // The group may have moved under a new table name since (RENAMED): look for the member.
    for (const [key, groups] of this.rowGroups) {
      for (const [whereKey, group] of groups) {
        if (!group.members.delete(member)) continue;
        if (group.members.size === 0) groups.delete(whereKey);
        if (groups.size === 0) this.rowGroups.delete(key);
        this.subscribersChanged();
        return this.unlistenWhenIdle();
      }
    }
  }

  /**
   * A live subscriber sees what commits after it joined. With trigger capture a transaction is in
   * the log when it commits, so the log's head is that point. From the WAL, a transaction reaches
   * the log a moment after its commit: the subscriber starts at the WAL position read now, before
   * it joins (in the exclusive section, so no entry is read between the two).
   */
  private async startLive(member: Pick<Member<unknown>, 'liveFrom'>): Promise<void> {
    if (this.options.fromWal) member.liveFrom = await changeLog.readWalPosition(this.pool);
  }

  /**
   * The first subscriber: LISTEN (so every later commit wakes the hub), then stand at the log's
   * head. Commits in between are read at the first wake-up; none is skipped.
   */
  private async listen(): Promise<void> {
    this.unlisten ??= await this.options.subscriber.subscribe(changeLog.CHANGES_CHANNEL, () => this.wake());
    this.position = changeLog.afterTransaction(await changeLog.readHead(this.pool));
  }

  /** The last subscriber left: stop being woken by every commit of the database. */
  private unlistenWhenIdle(): void {
    void this.exclusive(async () => {
      if (this.subscriberCount > 0 || !this.unlisten || this.stopped) return;
      const unlisten = this.unlisten;
      this.unlisten = undefined;
      await unlisten();
    });
  }

  private exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => {});
    return run;
  }

  private subscribedSchemas(): string[] {
    const schemas = new Set(this.tableMembers.keys());
    for (const key of this.rowGroups.keys()) schemas.add(key.split('\u0000')[0]!);
    return [...schemas];
  }

  /** Reads until the log has nothing more after the position; on failure, tries again with back-off. */
  private async catchUp(): Promise<void> {
    const batchSize = this.options.batchSize ?? 1000;
    // Nobody to deliver to: skip the read; the first subscriber moves the position to the head.
    if (this.subscriberCount === 0) return;
    try {
      for (;;) {
        this.counters.reads.inc();
        const batch = await changeLog.readChanges(this.pool, this.position, this.subscribedSchemas(), batchSize);
        this.counters.entriesRead.inc(batch.entries.length);
        for (const entry of batch.entries) {
          this.dispatch(entry);
          this.position = changeLog.positionOf(entry);
        }
        if (batch.entries.length < batchSize) {
          if (batch.head > this.position.seq) this.position = changeLog.afterTransaction(batch.head);
          break;
        }
      }
      this.failures = 0;
    } catch (error) {
      if (this.stopped) return;
      this.failures++;
      const delay = Math.min(200 * 2 ** Math.min(this.failures, 5), 5_000);
      this.options.log.warn(`reading the change log failed (${String(error)}); retrying in ${delay} ms`);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.wake(), delay);
      this.retryTimer.unref();
    }
  }

  private dispatch(entry: ChangeEntry): void {
    const position = changeLog.positionOf(entry);
    const commitLsn = entry.commitLsn === null ? undefined : parseLsn(entry.commitLsn);
    if (isRowChange(entry)) {
      let event: RowChangeEvent | undefined;
      for (const group of this.rowGroups.get(tableKey(entry.schema, entry.table))?.values() ?? []) {
        let matches: boolean;
        try {
          matches = changeMatches(group.where, entry);
        } catch (error) {
          // The filter cannot answer for this change (a _like over its budget): each member
          // that would have been offered it ends with the error, as `rows` fails on the same row.
          if (!(error instanceof MatchBudgetError)) throw error;
          for (const member of group.members) member.fail(error, entry, position, commitLsn);
          continue;
        }
        if (!matches) continue;
        if (!event) {
          event = toRowChange(entry);
          this.counters.eventsBuilt.inc();
        }
        for (const member of group.members) member.offer(event, entry, position, commitLsn);
      }
      return;
    }
    const event = toTableChange(entry);
    for (const member of this.tableMembers.get(entry.schema) ?? []) member.offer(event, entry, position, commitLsn);
    const key = tableKey(entry.schema, entry.table);
    const groups = this.rowGroups.get(key);
    if (!groups) return;
    if (entry.op === 'RENAMED' && entry.newName) {
      // Subscribers follow the table to its new name: its triggers did too.
      this.rowGroups.delete(key);
      const target = tableKey(entry.schema, entry.newName);
      const existing = this.rowGroups.get(target);
      if (!existing) this.rowGroups.set(target, groups);
      else for (const [whereKey, group] of groups) {
        const same = existing.get(whereKey);
        if (same) for (const member of group.members) same.members.add(member);
        else existing.set(whereKey, group);
      }
    } else if (entry.op === 'DROPPED') {
      for (const group of groups.values()) for (const member of group.members) member.queue.end();
    }
  }
}
