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
import { ReadLanes } from './read-lanes.js';
import { MatchBudgetError } from '../domain/like.js';
import { changeMatches, isRowChange, toRowChange, toTableChange, type RowChangeEvent, type TableChangeEvent } from './change-events.js';

export interface ChangeHubOptions {
  /** The database whose change log is read. */
  url: string;
  /** The process's one LISTEN connection: its wake-ups say the log has something new. */
  subscriber: PgSubscriber;
  /** The channel those wake-ups come on (NotifyChannels.changes: named after the platform secret). */
  changesChannel: string;
  log: Logger;
  metrics: Metrics;
  /** How long the log keeps entries for resuming subscribers; older ones are pruned. */
  retentionHours: number;
  /**
   * The log is appended from the WAL (logical capture), after each transaction commits: a live
   * subscriber then starts at the WAL's position when it joins, not at the log's head.
   */
  fromWal: boolean;
  /**
   * Entries per read of a lane that no other project waits behind; a read others wait behind (the
   * main lane's, a lane's while projects remain on the main lane) takes a quarter. @default 1000
   */
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
 * Replays (rowChanges with since) one project may run at once in one process. Each holds at most
 * a page of events waiting for its client and one being read (about 2 × READ_PAGE_BYTES), so
 * this bounds what one project's replays hold in memory.
 */
export const MAX_REPLAYS_PER_PROJECT = 10;
/**
 * The replays' own connections: however many replay, the live reader keeps its pool, and the
 * replays' work in Postgres (reading, measuring and cutting large rows) takes one core at most.
 */
const REPLAY_CONNECTIONS = 1;

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
  /** Where the reader stands, per project: one lane for all, and one for each project with a big backlog. */
  private readonly lanes = new ReadLanes(changeLog.afterTransaction(0n));
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
  /**
   * Replays read the log on connections of their own, one short transaction per page, so a burst
   * of replays (or a slow one) never makes a live delivery wait for a connection.
   */
  private readonly replayPool: pg.Pool;
  /** Replays running, per project schema (MAX_REPLAYS_PER_PROJECT). */
  private readonly replays = new Map<string, number>();
  /** The replays still reading in the background, so stop() and tests can wait for them. */
  private readonly replaysRunning = new Set<Promise<void>>();
  private readonly counters: { reads: Counter; entriesRead: Counter; eventsBuilt: Counter; replayPages: Counter };
  private readonly subscriberListeners = new Set<(count: number) => void>();

  constructor(private readonly options: ChangeHubOptions) {
    // Same exact-type sessions as the platform pool (UTC, ISO dates), so an event's `at` is ISO 8601.
    // A bot that never calls close() must still be able to exit.
    // No bitmap scans: every read walks an index in order and stops after a batch. Right after a
    // big transaction the statistics say one entry per transaction, and a bitmap scan (which
    // cannot stop early) then read and sorted all of its entries for every batch: 250 ms each,
    // for 1,000 entries of a 100,000-entry transaction (issue 14, point 7).
    this.pool = createPool(options.url, { max: 4, applicationName: 'paige-db-changes', allowExitOnIdle: true, plannerOptions: '-c enable_bitmapscan=off' });
    this.replayPool = createPool(options.url, { max: REPLAY_CONNECTIONS, applicationName: 'paige-db-replays', allowExitOnIdle: true });
    const { metrics } = options;
    this.counters = {
      reads: metrics.counter('paige_change_log_reads_total', 'Reads of the change log by the fan-out'),
      entriesRead: metrics.counter('paige_change_log_entries_read_total', 'Change log entries read by the fan-out'),
      eventsBuilt: metrics.counter('paige_change_events_built_total', 'Change events built (one per change, shared by its subscribers)'),
      replayPages: metrics.counter('paige_change_replay_pages_total', 'Pages of the change log read by replays (rowChanges with since)'),
    };
    metrics.gauge('paige_change_replays', 'Replays (rowChanges with since) running in this process', () => this.activeReplays);
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
    await this.replaysSettled();
    await Promise.all([this.pool.end(), this.replayPool.end()]);
  }

  /** Replays running now (reading, or waiting for their client to take a page). */
  get activeReplays(): number {
    let count = 0;
    for (const n of this.replays.values()) count += n;
    return count;
  }

  /** Resolves once every replay running now has stopped (finished, or its subscriber gone). */
  async replaysSettled(): Promise<void> {
    await Promise.all([...this.replaysRunning]);
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
   * where the reader stood when it joined (holding back live ones meanwhile): no gap, no
   * duplicate. The first page is read before this returns, so a cursor it cannot serve throws
   * CURSOR_EXPIRED / BAD_USER_INPUT before any event; the others follow in the background as the
   * client takes them (continueReplay). More than MAX_REPLAYS_PER_PROJECT at once is BAD_USER_INPUT.
   */
  async subscribeRows(spec: RowSubscription): Promise<AsyncIterableIterator<RowChangeEvent | DomainError>> {
    if (!spec.since && !spec.snapshot) return (await this.joinRowGroup(spec, undefined)).member.queue;
    const running = this.replays.get(spec.schema) ?? 0;
    if (running >= MAX_REPLAYS_PER_PROJECT) {
      throw new DomainError('BAD_USER_INPUT', `since: at most ${MAX_REPLAYS_PER_PROJECT} replays (rowChanges with since) at once per project; wait for one to finish or subscribe without since`, {
        field: 'since',
        limit: MAX_REPLAYS_PER_PROJECT,
      });
    }
    this.replays.set(spec.schema, running + 1);
    let ended = false;
    const replayEnded = () => {
      if (ended) return;
      ended = true;
      const left = (this.replays.get(spec.schema) ?? 1) - 1;
      if (left > 0) this.replays.set(spec.schema, left);
      else this.replays.delete(spec.schema);
    };
    try {
      const since = spec.snapshot ? await changeLog.snapshotStart(this.pool, spec.snapshot) : spec.since!;
      const { member, boundary } = await this.joinRowGroup(spec, since);
      const range = { schema: spec.schema, table: spec.table, upTo: boundary };
      // The first page here, so a cursor it cannot serve fails the subscription before any event.
      let page;
      try {
        page = await this.replayPage(range, since);
      } catch (error) {
        member.queue.end();
        throw this.replayError(error, spec, since);
      }
      const delivered = this.deliverReplayed(member, spec, page.entries);
      if (!delivered || !page.more) {
        if (delivered) this.endReplay(member);
        replayEnded();
        return member.queue;
      }
      // The rest in the background, a page at a time as the client takes them.
      const rest = this.continueReplay(member, spec, range, changeLog.positionOf(page.entries.at(-1)!))
        .catch((error: unknown) => {
          // Never a silent end: the subscriber is told to resume from its last cursor.
          this.options.log.warn(`a replay of the change log stopped: ${String(error)}`);
          member.queue.push(new DomainError('UNAVAILABLE', 'the replay stopped; resume with since: the last cursor received'));
          member.queue.end();
        })
        .finally(() => {
          replayEnded();
          this.replaysRunning.delete(rest);
        });
      this.replaysRunning.add(rest);
      return member.queue;
    } catch (error) {
      replayEnded();
      throw error;
    }
  }

  /**
   * Registers a row subscriber in its group. With `since` it holds back live events until its
   * replay has delivered everything up to the returned boundary, where the live reader stood.
   */
  private async joinRowGroup(spec: RowSubscription, since: ChangePosition | undefined): Promise<{ member: Member<RowChangeEvent>; boundary: ChangePosition }> {
    const maxQueued = this.options.maxQueued ?? 100_000;
    const member = this.rowMember(maxQueued, since, spec.snapshot);
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
      return this.lanes.positionFor(spec.schema);
    });
    return { member, boundary };
  }

  private replayPage(range: changeLog.ReplayRange, after: ChangePosition): Promise<{ entries: ChangeEntry[]; more: boolean }> {
    this.counters.replayPages.inc();
    return changeLog.readReplayPage(this.replayPool, range, after);
  }

  /**
   * One page's matching changes into the queue. False when the filter cannot answer for one of
   * them (a _like over its budget): the replayed events before it, then the error, and the
   * subscription ends, as `rows` fails on the same row.
   */
  private deliverReplayed(member: Member<RowChangeEvent>, spec: RowSubscription, entries: ChangeEntry[]): boolean {
    for (const entry of entries) {
      try {
        if (isRowChange(entry) && !member.saw(entry) && changeMatches(spec.where, entry)) member.queue.push(toRowChange(entry));
      } catch (error) {
        if (!(error instanceof MatchBudgetError)) throw error;
        member.queue.push(error);
        member.queue.end();
        return false;
      }
    }
    return true;
  }

  /**
   * Reads the replay's further pages, each only once the client has taken the page before (so a
   * replay holds at most one page waiting and one being read), and stops as soon as the client
   * is gone (its queue ended: unsubscribed, socket closed) or the hub stops.
   */
  private async continueReplay(member: Member<RowChangeEvent>, spec: RowSubscription, range: changeLog.ReplayRange, from: ChangePosition): Promise<void> {
    let after = from;
    for (;;) {
      await member.queue.whenAtMost(0);
      if (member.queue.ended || this.stopped) return;
      let page;
      try {
        page = await this.replayPage(range, after);
      } catch (error) {
        if (member.queue.ended || this.stopped) return;
        const failure = this.replayError(error, spec, after);
        if (!(failure instanceof DomainError)) this.options.log.warn(`a replay of the change log failed: ${String(failure)}`);
        member.queue.push(failure instanceof DomainError ? failure : new DomainError('UNAVAILABLE', 'the change log could not be read to replay; resume with since: the last cursor received'));
        return member.queue.end();
      }
      if (member.queue.ended) return;
      if (!this.deliverReplayed(member, spec, page.entries)) return;
      if (!page.more) return this.endReplay(member);
      after = changeLog.positionOf(page.entries.at(-1)!);
    }
  }

  /** The replay is delivered: the live events held back meanwhile follow it, then live ones go straight. */
  private endReplay(member: Member<RowChangeEvent>): void {
    member.releaseHeld();
  }

  private replayError(error: unknown, spec: RowSubscription, since: ChangePosition): unknown {
    if (error instanceof changeLog.CursorExpiredError) {
      const cursor = spec.snapshot ? 'this changesCursor' : `cursor "${changeLog.encodeCursor({ seq: String(since.seq), id: String(since.id) })}"`;
      return new DomainError('CURSOR_EXPIRED', `since: the changes after ${cursor} are older than the retention and were pruned; read the rows again and subscribe without since`, { field: 'since' });
    }
    if (error instanceof changeLog.UnknownCursorError) return new DomainError('BAD_USER_INPUT', 'since: no change with this cursor was ever committed', { field: 'since' });
    return error;
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

  /**
   * A row subscriber, leaving its group when its queue ends. Made apart from joinRowGroup so that
   * its leave callback keeps only the member, not joinRowGroup's scope (the spec): it lives as
   * long as the subscription.
   */
  private rowMember(maxQueued: number, since: ChangePosition | undefined, snapshot: RowSubscription['snapshot']): Member<RowChangeEvent> {
    const member: Member<RowChangeEvent> = new Member(maxQueued, since, () => this.leaveRowGroup(member), snapshot);
    return member;
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
    this.unlisten ??= await this.options.subscriber.subscribe(this.options.changesChannel, () => this.wake());
    this.lanes.reset(changeLog.afterTransaction(await changeLog.readHead(this.pool)));
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
    // Every project on the main lane waits for each read of the turn: 1000 of a big transaction's
    // entries took 25-49 ms to read (trigger capture, PG15), and a bystander's event about as
    // long; 250 kept it within 2x of quiet (10-15 ms). A lane read alone goes on at full size: a
    // lone 100,000-row subscriber took 52 s instead of 25 s at 250.
    const sharedBatch = Math.max(1, batchSize >> 2);
    // Nobody to deliver to: skip the read; the first subscriber moves the position to the head.
    if (this.subscriberCount === 0) return;
    const lanes = this.lanes;
    try {
      // Each turn: one batch of the main lane, then one of each project on a lane of its own
      // (src/live/read-lanes.ts), so a big transaction is delivered a batch per turn while the
      // other projects' changes committed after it go out in the first turn.
      for (;;) {
        // Every subscribed project on a lane of its own: no main read (a statement per turn on a
        // loaded server cut a lone big subscriber's throughput by four, capture-faults.test.ts).
        const mainSchemas = lanes.mainSchemas(this.subscribedSchemas());
        const main = mainSchemas.length > 0 || lanes.lanes.size === 0 ? await this.readBatch(lanes.main, mainSchemas, sharedBatch) : { head: -1n, entries: [], more: false };
        for (const entry of main.entries) {
          if (lanes.mainDelivers(entry)) this.dispatch(entry);
          lanes.advanceMain(changeLog.positionOf(entry));
        }
        // A page ends at a batch of entries or at its bytes (READ_PAGE_BYTES): `more` says which.
        const mainBehind = main.more;
        // A project just split off is first read on its lane next turn, after the main lane's
        // next read: the other projects' changes committed after its big transaction go first.
        const justSplit = mainBehind ? lanes.splitOff(main.entries) : undefined;
        // The page reached the head: everything up to it (its transaction included) has been read.
        if (!mainBehind && main.head >= lanes.main.seq) lanes.advanceMain(changeLog.afterTransaction(main.head));
        let laneHead: bigint | undefined;
        for (const [schema, from] of [...lanes.lanes]) {
          if (schema === justSplit) continue;
          const batch = await this.readBatch(from, [schema], mainSchemas.length > 0 ? sharedBatch : batchSize);
          laneHead ??= batch.head;
          let at = from;
          for (const entry of batch.entries) {
            this.dispatch(entry);
            at = changeLog.positionOf(entry);
          }
          if (batch.more) lanes.lanes.set(schema, at);
          else lanes.laneCaughtUp(schema, batch.head >= at.seq ? changeLog.afterTransaction(batch.head) : at);
        }
        if (mainSchemas.length === 0 && laneHead !== undefined) lanes.mainIdleThrough(laneHead);
        if (!mainBehind && lanes.lanes.size === 0) break;
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

  private async readBatch(after: ChangePosition, schemas: readonly string[], batchSize: number): Promise<changeLog.ChangeBatch> {
    this.counters.reads.inc();
    const batch = await changeLog.readChanges(this.pool, after, schemas, batchSize);
    this.counters.entriesRead.inc(batch.entries.length);
    return batch;
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
