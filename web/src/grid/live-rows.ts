import type { Request } from '../api/client.js';
import { ApiError } from '../api/client.js';
import {
  ROW_CHANGES,
  TABLE_COUNT,
  TABLE_ROWS,
  type Column,
  type OrderBy,
  type Row,
  type RowChange,
  type RowChangesResult,
  type TableCountResult,
  type TableRowsResult,
} from '../api/documents.js';
import { subscribeResumable, type LiveClient, type LiveFailure } from '../api/live.js';
import { rowComparator, rowKey, type RowComparator } from './row-order.js';

/**
 * THE module that turns "one page of rows" plus "the table's live changes" into what the grid
 * shows: a snapshot, then every change after it, reconciled by primary key so that none is
 * missed or applied twice. Nothing else in the UI reads rows for the grid or subscribes to them.
 *
 * Interim protocol, with today's API (no cursor comes with a page read):
 *   1. Subscribe to `rowChanges` (with the grid's filter), THEN read the page. graphql-ws does not
 *      acknowledge a subscription, so the read may reach Postgres before the server has
 *      registered it; a change committed in that gap would be in neither.
 *   2. The first event acknowledges the subscription: every change committed after it is
 *      delivered. So on the first event the page is read again (events meanwhile are held) and
 *      the held events are applied on top: from then on the grid is exact.
 *   3. Each event is applied as "set this key to this row / remove this key", in commit order, so
 *      an event that the page already reflects changes nothing (the row already holds it, or a
 *      later state that a later event restores), and none is applied twice in effect.
 *   4. After a dropped socket the subscription is resumed with `since` = the last cursor seen:
 *      the server replays what was missed. Before any event there is no cursor: step 1 again.
 * The total count is a second statement of the same read, so a write committing between the two
 * is counted by the read and again by its event. The rows are exact by key; the count is read
 * again once changes pause (RECOUNT_AFTER_MS without one), which makes it exact then.
 * When `Table.rows` returns a `changesCursor` (the page and the log position read in one step),
 * steps 1-2 become: read the page, subscribe with `since: changesCursor`; only `start`/`resync`
 * below change.
 */

export type FeedStatus =
  /** The first page read is under way. */
  | 'loading'
  /** Showing the page; live changes apply as they come. */
  | 'live'
  /** The socket dropped; changes are replayed on reconnect. */
  | 'reconnecting'
  /** The subscription or the read was refused (see `error`). */
  | 'failed';

/** A row changed live, marked for a moment. `actor` is who wrote it, when the event says. */
export interface RowMark {
  op: 'INSERT' | 'UPDATE';
  actor: string | null;
}

export interface LiveRowsState {
  rows: Row[];
  /** Rows matching the filter in the whole table (kept current by the changes). */
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
  status: FeedStatus;
  error: string | null;
  /** Keys (rowKey) of rows changed live in the last moments. */
  marks: ReadonlyMap<string, RowMark>;
  /** Live changes to rows that are not on this page (they sort elsewhere). */
  changesElsewhere: number;
  /** Bumped when the table itself is gone or was cleared, for the grid to reset its selection. */
  cleared: number;
}

export interface LiveRowsOptions {
  request: Request;
  live: LiveClient;
  projectId: string;
  table: string;
  columns: Column[];
  primaryKey: string[];
  where: unknown;
  orderBy: OrderBy[];
  pageSize: number;
  /** The page starts after this cursor (null: the first page). */
  after: string | null;
  /** How long a live change stays marked, in ms. @default 2000 */
  markMs?: number;
}

/** Quiet time after the last change before the total is read again. */
const RECOUNT_AFTER_MS = 300;

/**
 * Who wrote a change. PLACEHOLDER until `RowChange.actor` exists (the WAL capture issue): the
 * events carry no actor today, so this is null and the mark shows no name.
 */
export const actorOfChange = (change: RowChange): string | null => change.actor ?? null;

export class LiveRows {
  private state: LiveRowsState = {
    rows: [],
    totalCount: 0,
    hasNextPage: false,
    endCursor: null,
    status: 'loading',
    error: null,
    marks: new Map(),
    changesElsewhere: 0,
    cleared: 0,
  };
  private readonly compare: RowComparator;
  private readonly keyed: boolean;
  private unsubscribe: (() => void) | undefined;
  private lastCursor: string | null = null;
  /** Events held while a page read is under way; applied on top of its result. */
  private held: RowChange[] | null = null;
  /** True until the first event has acknowledged the subscription (protocol step 2). */
  private unacknowledged = true;
  private readAgain = false;
  private stopped = false;
  private notifyScheduled = false;
  private recountTimer: ReturnType<typeof setTimeout> | undefined;
  /** Changes seen since a recount began: its answer may predate them, so it is not used. */
  private changesSinceRecount = 0;
  private readonly markTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly listeners = new Set<(state: LiveRowsState) => void>();

  constructor(private readonly options: LiveRowsOptions) {
    this.compare = rowComparator(options.columns, options.primaryKey, options.orderBy);
    this.keyed = options.primaryKey.length > 0;
  }

  get current(): LiveRowsState {
    return this.state;
  }

  subscribe(listener: (state: LiveRowsState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  /** Protocol step 1: subscribe, then read. */
  start(): void {
    const { live, projectId, table, where } = this.options;
    this.unsubscribe = subscribeResumable<RowChangesResult, RowChange>(
      live,
      ROW_CHANGES,
      (since) => ({ projectId, table, where: where ?? null, since }),
      (data) => data.rowChanges,
      () => this.lastCursor,
      {
        next: (change) => this.onChange(change),
        lost: () => this.update({ status: 'reconnecting' }),
        resumed: () => {
          // Without a cursor nothing can be replayed: start over from a fresh read.
          if (this.lastCursor === null) this.unacknowledged = true;
          this.update({ status: 'live' });
          if (this.lastCursor === null) void this.resync();
        },
        failed: (failure) => this.onFailure(failure),
      },
    );
    void this.resync();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const timer of this.markTimers.values()) clearTimeout(timer);
    clearTimeout(this.recountTimer);
    this.listeners.clear();
  }

  /**
   * Reads the page again; events arriving meanwhile are held and applied on top of the result.
   * One read at a time: a request for another while one runs makes it run once more after.
   * The view also calls it after a write of its own, which then shows without its event.
   */
  async resync(): Promise<void> {
    if (this.held) {
      this.readAgain = true;
      return;
    }
    this.held = [];
    const { request, projectId, table, where, orderBy, pageSize, after } = this.options;
    try {
      const data = await request<TableRowsResult>(TABLE_ROWS, { projectId, table, where: where ?? null, orderBy, first: pageSize, after });
      if (this.stopped) return;
      const page = data.project?.table?.rows;
      if (!page) return this.fail(`table "${table}" no longer exists`);
      const held = this.held;
      this.held = null;
      this.update({
        rows: page.nodes,
        totalCount: page.totalCount,
        hasNextPage: page.pageInfo.hasNextPage,
        endCursor: page.pageInfo.endCursor,
        status: this.state.status === 'reconnecting' ? 'reconnecting' : 'live',
        error: null,
      });
      for (const change of held) this.apply(change);
    } catch (error) {
      this.held = null;
      if (!this.stopped) this.fail(error instanceof ApiError ? error.message : String(error));
      return;
    }
    if (this.readAgain) {
      this.readAgain = false;
      await this.resync();
    }
  }

  private onChange(change: RowChange): void {
    this.lastCursor = change.cursor;
    this.changesSinceRecount++;
    clearTimeout(this.recountTimer);
    this.recountTimer = setTimeout(() => void this.recount(), RECOUNT_AFTER_MS);
    if (this.unacknowledged) {
      // Protocol step 2: this event proves the subscription is registered, and it committed
      // before now, so a read started now holds it and every later change is delivered after.
      this.unacknowledged = false;
      // A read already under way may have started before it: one more read after that one.
      if (this.held) this.readAgain = true;
      else void this.resync();
      return;
    }
    if (this.held) this.held.push(change);
    else this.apply(change);
  }

  /** Reads the total again after changes paused; a change meanwhile voids the answer (and schedules another). */
  private async recount(): Promise<void> {
    const { request, projectId, table, where } = this.options;
    this.changesSinceRecount = 0;
    try {
      const data = await request<TableCountResult>(TABLE_COUNT, { projectId, table, where: where ?? null });
      const count = data.project?.table?.rows.totalCount;
      if (count !== undefined && this.changesSinceRecount === 0 && !this.held) this.update({ totalCount: count });
    } catch {
      // The next change schedules another; a failed read of the page itself is what is reported.
    }
  }

  /** Protocol step 3: one change, as "set this key" or "remove this key". */
  private apply(change: RowChange): void {
    if (change.op === 'CLEAR') {
      return this.update({ rows: [], totalCount: 0, hasNextPage: false, endCursor: null, marks: new Map(), cleared: this.state.cleared + 1 });
    }
    // Without a key a change cannot be matched with a row: read the page again.
    if (!this.keyed) return void this.resync();
    // With a filter, an UPDATE comes when the old OR the new row matches; whether the new one
    // still does is the server's to say (the same filter semantics as the read): read again.
    if (change.op === 'UPDATE' && this.hasFilter()) return void this.resync();

    const { primaryKey } = this.options;
    const rows = [...this.state.rows];
    let totalCount = this.state.totalCount;
    const removeKey = change.oldRow ?? change.row;
    const oldIndex = removeKey ? rows.findIndex((row) => rowKey(primaryKey, row) === rowKey(primaryKey, removeKey)) : -1;
    const previous = oldIndex >= 0 ? rows[oldIndex] : undefined;
    if (oldIndex >= 0) rows.splice(oldIndex, 1);

    if (change.op === 'DELETE') {
      if (oldIndex >= 0 || !this.onPageByPosition(change.oldRow)) totalCount = Math.max(0, totalCount - 1);
      this.update({ rows, totalCount, changesElsewhere: this.state.changesElsewhere + (oldIndex >= 0 ? 0 : 1) });
      return;
    }
    const row = change.row!;
    // An INSERT the page already holds (read after it committed) is not a new row.
    if (change.op === 'INSERT' && !previous) totalCount++;
    const key = rowKey(primaryKey, row);
    if (this.belongsOnPage(row, rows)) {
      const at = this.insertionIndex(rows, row);
      rows.splice(at, 0, row);
      const unchanged = previous !== undefined && sameRow(previous, row);
      this.update({ rows, totalCount });
      if (!unchanged) this.mark(key, { op: change.op, actor: actorOfChange(change) });
    } else {
      this.update({ rows, totalCount, changesElsewhere: this.state.changesElsewhere + 1 });
    }
  }

  private hasFilter(): boolean {
    const { where } = this.options;
    return where !== null && where !== undefined && !(typeof where === 'object' && Object.keys(where).length === 0);
  }

  /** Whether a row sorts into the span of this page (the first page is open at its start, the last at its end). */
  private belongsOnPage(row: Row, rows: Row[]): boolean {
    const first = rows[0];
    const last = rows.at(-1);
    if (!first || !last) return this.options.after === null || !this.state.hasNextPage;
    const afterStart = this.options.after === null || this.compare(row, first) >= 0;
    const beforeEnd = !this.state.hasNextPage || this.compare(row, last) <= 0;
    return afterStart && beforeEnd;
  }

  private onPageByPosition(row: Row | null): boolean {
    return row !== null && this.belongsOnPage(row, this.state.rows);
  }

  private insertionIndex(rows: Row[], row: Row): number {
    let low = 0;
    let high = rows.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.compare(rows[mid]!, row) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private mark(key: string, mark: RowMark) {
    const marks = new Map(this.state.marks);
    marks.set(key, mark);
    this.update({ marks });
    clearTimeout(this.markTimers.get(key));
    this.markTimers.set(
      key,
      setTimeout(() => {
        this.markTimers.delete(key);
        const next = new Map(this.state.marks);
        next.delete(key);
        this.update({ marks: next });
      }, this.options.markMs ?? 2_000),
    );
  }

  private onFailure(failure: LiveFailure) {
    if (failure.kind === 'completed') return this.fail(`live changes of "${this.options.table}" ended (the table was dropped or renamed)`);
    if (failure.errors.some((e) => e.extensions?.code === 'CURSOR_EXPIRED')) {
      // Away longer than the change log keeps entries: start over with a fresh read.
      this.lastCursor = null;
      this.unacknowledged = true;
      this.unsubscribe?.();
      this.start();
      return;
    }
    this.fail(failure.errors.map((e) => e.message).join('; '));
  }

  private fail(message: string) {
    this.update({ status: 'failed', error: message });
  }

  private update(patch: Partial<LiveRowsState>) {
    if (this.stopped) return;
    this.state = { ...this.state, ...patch };
    // One render per frame at most: a statement inserting 1000 rows is 1000 events, one repaint.
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    requestAnimationFrame(() => {
      this.notifyScheduled = false;
      if (this.stopped) return;
      for (const listener of this.listeners) listener(this.state);
    });
  }
}

function sameRow(a: Row, b: Row): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}
