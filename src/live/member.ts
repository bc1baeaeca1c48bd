import { DomainError } from '../domain/errors.js';
import { comparePositions, type ChangeEntry, type ChangePosition } from '../db/change-log.js';
import { visibleInSnapshot, type PageSnapshot } from '../db/page-snapshot.js';
import type { WhereNode } from '../domain/where.js';
import { EventQueue } from './event-queue.js';
import type { RowChangeEvent } from './change-events.js';

/** One subscriber: its queue, and while it replays history the live events it must hold back. */
export class Member<E> {
  readonly queue: EventQueue<E | DomainError>;
  held: (E | DomainError)[] | undefined;
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
    if (!this.concerns(entry, position, commitLsn)) return;
    // Held back while a replay runs: counted against the same limit as the queue.
    if (this.held && this.held.length < this.maxQueued) return void this.held.push(event);
    if (this.held || this.queue.size >= this.maxQueued) {
      this.held = undefined;
      this.queue.push(new DomainError('CURSOR_EXPIRED', `this subscriber fell more than ${this.maxQueued} changes behind; resume with since: the last cursor received`));
      return this.queue.end();
    }
    this.queue.push(event);
  }

  /**
   * The change this member would have been offered cannot be filtered (a `_like` over its
   * budget): after what it already has, it gets the error and ends.
   */
  fail(error: DomainError, entry: Pick<ChangeEntry, 'xid'>, position: ChangePosition, commitLsn: bigint | undefined): void {
    if (!this.concerns(entry, position, commitLsn)) return;
    if (this.held) return void this.held.push(error);
    this.queue.push(error);
    this.queue.end();
  }

  /** The live events held back during a replay, in order, once the replay is in the queue; an error among them ends it. */
  releaseHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) {
      this.queue.push(event);
      if (event instanceof DomainError) return this.queue.end();
    }
  }

  /** Whether an entry at this position is this member's to see (after its since, not in its page, not before it joined). */
  private concerns(entry: Pick<ChangeEntry, 'xid'>, position: ChangePosition, commitLsn: bigint | undefined): boolean {
    if (this.after && comparePositions(position, this.after) <= 0) return false;
    if (this.saw(entry)) return false;
    if (this.liveFrom !== undefined && commitLsn !== undefined) {
      if (commitLsn < this.liveFrom) return false;
      this.liveFrom = undefined;
    }
    return true;
  }
}

/** Identical row subscriptions: the filter is tested once per change for all of them. */
export interface RowGroup {
  where: WhereNode | null;
  members: Set<Member<RowChangeEvent>>;
}
