import { DomainError } from '../domain/errors.js';
import { comparePositions, type ChangeEntry, type ChangePosition } from '../db/change-log.js';
import { visibleInSnapshot, type PageSnapshot } from '../db/page-snapshot.js';
import type { WhereNode } from '../domain/where.js';
import { EventQueue } from './event-queue.js';
import type { RowChangeEvent } from './change-events.js';

/** One subscriber: its queue, and while it replays history the live events it must hold back. */
export class Member<E> {
  readonly queue: EventQueue<E | DomainError>;
  held: E[] | undefined;
  /**
   * A live subscriber's start in the WAL (logical capture): a transaction that committed before it
   * (its commit LSN lower) may reach the log after the subscriber joined, and is not its to see.
   * Cleared at the first transaction after it: commit order makes every later one after it too.
   */
  liveFrom: bigint | undefined;
  constructor(
    private readonly maxQueued: number,
    /** Only events after this position are delivered (its `since`). */
    public after: ChangePosition | undefined,
    leave: () => void,
    /** A page's snapshot (its changesCursor): a transaction visible in it is in the page already. */
    private readonly snapshot?: PageSnapshot,
  ) {
    this.queue = new EventQueue(leave);
  }

  /** The subscriber's page already shows this entry's transaction. */
  saw(entry: Pick<ChangeEntry, 'xid'>): boolean {
    return this.snapshot !== undefined && visibleInSnapshot(this.snapshot, BigInt(entry.xid));
  }

  offer(event: E, entry: Pick<ChangeEntry, 'xid'>, position: ChangePosition, commitLsn: bigint | undefined): void {
    if (this.after && comparePositions(position, this.after) <= 0) return;
    if (this.saw(entry)) return;
    if (this.liveFrom !== undefined && commitLsn !== undefined) {
      if (commitLsn < this.liveFrom) return;
      this.liveFrom = undefined;
    }
    // Held back while a replay runs: counted against the same limit as the queue.
    if (this.held && this.held.length < this.maxQueued) return void this.held.push(event);
    if (this.held || this.queue.size >= this.maxQueued) {
      this.held = undefined;
      this.queue.push(new DomainError('CURSOR_EXPIRED', `this subscriber fell more than ${this.maxQueued} changes behind; resume with since: the last cursor received`));
      return this.queue.end();
    }
    this.queue.push(event);
  }
}

/** Identical row subscriptions: the filter is tested once per change for all of them. */
export interface RowGroup {
  where: WhereNode | null;
  members: Set<Member<RowChangeEvent>>;
}
