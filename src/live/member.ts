import { DomainError } from '../domain/errors.js';
import { comparePositions, type ChangePosition } from '../db/change-log.js';
import type { WhereNode } from '../domain/where.js';
import { EventQueue } from './event-queue.js';
import type { RowChangeEvent } from './change-events.js';

/** One subscriber: its queue, and while it replays history the live events it must hold back. */
export class Member<E> {
  readonly queue: EventQueue<E | DomainError>;
  held: E[] | undefined;
  constructor(
    private readonly maxQueued: number,
    /** Only events after this position are delivered (its `since`). */
    public after: ChangePosition | undefined,
    leave: () => void,
  ) {
    this.queue = new EventQueue(leave);
  }

  offer(event: E, position: ChangePosition): void {
    if (this.after && comparePositions(position, this.after) <= 0) return;
    if (this.held) return void this.held.push(event);
    if (this.queue.size >= this.maxQueued) {
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
