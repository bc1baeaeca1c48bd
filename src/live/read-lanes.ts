import { afterTransaction, comparePositions, positionOf, type ChangeEntry, type ChangePosition } from '../db/change-log.js';

/**
 * Where the change hub stands in the log, per schema (issue 14, point 7). Every project is read on
 * the main lane, in commit order, until one fills a whole batch (one big transaction, or a burst of
 * them): that project is then read on a lane of its own, one batch per turn, while the main lane
 * goes on past it for everybody else, so a 300,000-row transaction no longer holds back every
 * other project's events. Order within one project, hence within one transaction and for each
 * subscriber, is unchanged: a project is on exactly one lane at a time. A lane that reaches the
 * head stands at or past the main lane (it read after it, in the same turn) and rejoins it; the
 * main lane then drops that project's entries up to where its lane delivered them.
 */
export class ReadLanes {
  /** The main lane's position: every project not on a lane of its own has been delivered up to it. */
  main: ChangePosition;
  /** Projects (schemas) read on a lane of their own, with where each lane stands. */
  readonly lanes = new Map<string, ChangePosition>();
  /** Rejoined projects whose entries up to this position their own lane already delivered. */
  private readonly deliveredThrough = new Map<string, ChangePosition>();

  constructor(start: ChangePosition) {
    this.main = start;
  }

  /** Everybody on the main lane again, at `position` (the hub's first subscriber, at the head). */
  reset(position: ChangePosition): void {
    this.main = position;
    this.lanes.clear();
    this.deliveredThrough.clear();
  }

  /** Where delivery of `schema`'s changes stands: a new subscriber's live changes start after it. */
  positionFor(schema: string): ChangePosition {
    const lane = this.lanes.get(schema);
    if (lane) return lane;
    const delivered = this.deliveredThrough.get(schema);
    return delivered && comparePositions(delivered, this.main) > 0 ? delivered : this.main;
  }

  /** The subscribed schemas the main lane reads; a lane whose project has no subscriber left ends. */
  mainSchemas(subscribed: readonly string[]): string[] {
    const wanted = new Set(subscribed);
    for (const schema of this.lanes.keys()) if (!wanted.has(schema)) this.lanes.delete(schema);
    return subscribed.filter((schema) => !this.lanes.has(schema));
  }

  /** Whether the main lane delivers this entry: not when the project's own lane already did. */
  mainDelivers(entry: ChangeEntry): boolean {
    const delivered = this.deliveredThrough.get(entry.schema);
    return !delivered || comparePositions(positionOf(entry), delivered) > 0;
  }

  advanceMain(position: ChangePosition): void {
    this.main = position;
    for (const [schema, delivered] of this.deliveredThrough) if (comparePositions(delivered, position) <= 0) this.deliveredThrough.delete(schema);
  }

  /**
   * After a full batch of the main lane: the project with more than half of it goes on a lane of
   * its own, from where its delivery stands (the main lane delivered its entries up to there).
   */
  splitOff(entries: readonly ChangeEntry[]): string | undefined {
    const counts = new Map<string, number>();
    for (const entry of entries) counts.set(entry.schema, (counts.get(entry.schema) ?? 0) + 1);
    for (const [schema, count] of counts) {
      if (count * 2 <= entries.length) continue;
      // Past what its own lane delivered earlier, if the main lane was still skipping those.
      this.lanes.set(schema, this.positionFor(schema));
      this.deliveredThrough.delete(schema);
      return schema;
    }
    return undefined;
  }

  /**
   * A turn read no project on the main lane (every subscribed one is on a lane of its own): the
   * main lane serves nobody, so it stands at `head`, a head one of the turn's reads saw. Left
   * behind, it would read a whole big transaction again once its project rejoined, only to skip
   * it, holding every join and every other project's read meanwhile.
   */
  mainIdleThrough(head: bigint): void {
    const at = afterTransaction(head);
    if (comparePositions(at, this.main) > 0) this.advanceMain(at);
  }

  /**
   * A lane read up to the head at `position`. At or past the main lane, its project rejoins it;
   * behind it (it cannot be, read after the main lane in the same turn, but a project must never
   * lose the entries in between), it stays on its lane for another turn.
   */
  laneCaughtUp(schema: string, position: ChangePosition): void {
    if (comparePositions(position, this.main) < 0) return void this.lanes.set(schema, position);
    this.lanes.delete(schema);
    if (comparePositions(position, this.main) > 0) this.deliveredThrough.set(schema, position);
  }
}
