import type { Request } from '../api/client.js';
import { ApiError } from '../api/client.js';
import {
  ROW_CHANGES,
  TABLE_COUNT,
  TABLE_ROWS,
  type ChangeActor,
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
 * The protocol, exact by `Table.rows { changesCursor }` (the snapshot the page's own statement
 * was read in):
 *   1. Read the page with its changesCursor.
 *   2. Subscribe to `rowChanges` (with the grid's filter) with `since: changesCursor`. The server
 *      delivers exactly the changes that snapshot does not show, whenever the subscription
 *      reaches it: none committed between the read and the subscription is missed, none the page
 *      shows comes again.
 *   3. Apply each event, in commit order, as "set this key to this row / remove this key".
 *   4. After a dropped socket, subscribe again with `since` = the last event's cursor, or the
 *      page's changesCursor when no event came yet: the server replays what was missed.
 * Reading the page again (after a write made here, for a filtered UPDATE or a change to a table
 * without a key, after an expired cursor) is steps 1-2 again: from the moment the read starts the
 * old subscription's events are dropped (the new page shows them, or the new subscription
 * delivers them), and once the page is in, a subscription from its changesCursor replaces the
 * old one. So the grid is always one page plus the changes after exactly that page.
 * The total count is a second statement, outside the page's snapshot: a write committing between
 * the two is counted by the read and again by its event. The rows are exact by key; the count is
 * read again once changes pause (RECOUNT_AFTER_MS without one), which makes it exact then.
 */

export type FeedStatus =
  /** The page read is under way (the first one). */
  | 'loading'
  /** The page is shown; its subscription waits for the server to accept the socket. */
  | 'connecting'
  /**
   * The page is shown and its subscription went out on a socket the server accepted, and was not
   * refused: changes apply as they come. graphql-ws acknowledges no subscription, so this is the
   * most the client can know; since the subscription starts from the page's snapshot, when the
   * server registers it changes when events arrive, never which.
   */
  | 'live'
  /** The socket dropped; the subscription is sent again, from the last cursor, on reconnect. */
  | 'reconnecting'
  /** The subscription or the read was refused (see `error`). */
  | 'failed';

/** A row changed live, marked for a moment with who wrote it (null: outside the API). */
export interface RowMark {
  op: 'INSERT' | 'UPDATE';
  actor: ChangeActor | null;
}

/** Who wrote a change, in a few words: "API key <name>", "admin", "bot (in-process)", "outside the API". */
export function writtenBy(actor: ChangeActor | null): string {
  if (!actor) return 'outside the API';
  switch (actor.kind) {
    case 'ADMIN':
      return 'admin';
    case 'API_KEY':
      return `API key ${actor.apiKeyName ?? actor.apiKeyId ?? ''}`.trim();
    case 'IN_PROCESS':
      return 'bot (in-process)';
  }
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
  /** Ends the subscription of the page on screen. */
  private unsubscribe: (() => void) | undefined;
  /** Bumped when a page read starts: events of the subscriptions before it are dropped. */
  private generation = 0;
  /** The changesCursor of the page on screen, and the cursor of the last event applied on it. */
  private pageCursor: string | null = null;
  private lastCursor: string | null = null;
  private reading = false;
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

  start(): void {
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
   * Protocol steps 1-2: reads the page, then subscribes from its changesCursor. One read at a
   * time: asked for during one, it runs once more after. The view calls it after a write of its
   * own, which then shows at once, even while the socket is down (its event would come only on
   * reconnect), and is not marked as a live change (the new page holds it, so it never comes).
   */
  async resync(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    const generation = ++this.generation;
    const { request, projectId, table, where, orderBy, pageSize, after } = this.options;
    try {
      const data = await request<TableRowsResult>(TABLE_ROWS, { projectId, table, where: where ?? null, orderBy, first: pageSize, after });
      if (this.stopped) return;
      const page = data.project?.table?.rows;
      if (!page) {
        this.readAgain = false;
        return this.fail(`table "${table}" no longer exists`);
      }
      this.update({ rows: page.nodes, totalCount: page.totalCount, hasNextPage: page.pageInfo.hasNextPage, endCursor: page.pageInfo.endCursor, error: null });
      this.subscribeFrom(page.changesCursor, generation);
    } catch (error) {
      if (!this.stopped) this.fail(error instanceof ApiError ? error.message : String(error));
      this.readAgain = false;
      return;
    } finally {
      this.reading = false;
    }
    if (this.readAgain) {
      this.readAgain = false;
      await this.resync();
    }
  }

  /** Protocol step 2, and step 4 by subscribeResumable: resumes from the last event, else from the page. */
  private subscribeFrom(changesCursor: string, generation: number): void {
    const { live, projectId, table, where } = this.options;
    const replaced = this.unsubscribe;
    this.pageCursor = changesCursor;
    this.lastCursor = null;
    // Until the new subscription says otherwise: a socket that was down still is.
    this.update({ status: this.state.status === 'reconnecting' ? 'reconnecting' : 'connecting' });
    const current = () => generation === this.generation && !this.stopped;
    this.unsubscribe = subscribeResumable<RowChangesResult, RowChange>(
      live,
      ROW_CHANGES,
      (since) => ({ projectId, table, where: where ?? null, since }),
      (data) => data.rowChanges,
      () => this.lastCursor ?? this.pageCursor,
      {
        next: (change) => {
          if (current()) this.onChange(change);
        },
        subscribed: () => {
          if (current()) this.update({ status: 'live' });
        },
        lost: () => {
          if (current()) this.update({ status: 'reconnecting' });
        },
        failed: (failure) => {
          if (current()) this.onFailure(failure);
        },
      },
    );
    // Ended after the new one is sent: ended first, it could leave graphql-ws without any
    // subscription, and graphql-ws closes an unused socket at once.
    replaced?.();
  }

  private onChange(change: RowChange): void {
    this.lastCursor = change.cursor;
    this.changesSinceRecount++;
    clearTimeout(this.recountTimer);
    this.recountTimer = setTimeout(() => void this.recount(), RECOUNT_AFTER_MS);
    this.apply(change);
  }

  /** Reads the total again after changes paused; a change meanwhile voids the answer (and schedules another). */
  private async recount(): Promise<void> {
    const { request, projectId, table, where } = this.options;
    this.changesSinceRecount = 0;
    const generation = this.generation;
    try {
      const data = await request<TableCountResult>(TABLE_COUNT, { projectId, table, where: where ?? null });
      const count = data.project?.table?.rows.totalCount;
      if (count !== undefined && this.changesSinceRecount === 0 && generation === this.generation) this.update({ totalCount: count });
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
    if (oldIndex >= 0) rows.splice(oldIndex, 1);

    // The page shows none of these changes (step 2), so each counts: a DELETE or an INSERT comes
    // when its row matches the filter, and an unfiltered UPDATE keeps the count.
    if (change.op === 'DELETE') {
      this.update({ rows, totalCount: Math.max(0, totalCount - 1), changesElsewhere: this.state.changesElsewhere + (oldIndex >= 0 ? 0 : 1) });
      return;
    }
    const row = change.row!;
    if (change.op === 'INSERT') totalCount++;
    if (this.belongsOnPage(row, rows)) {
      rows.splice(this.insertionIndex(rows, row), 0, row);
      this.update({ rows, totalCount });
      this.mark(rowKey(primaryKey, row), { op: change.op, actor: change.actor });
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
    // Away longer than the change log keeps entries: start over with a fresh read.
    if (failure.errors.some((e) => e.extensions?.code === 'CURSOR_EXPIRED')) return void this.resync();
    this.fail(failure.errors.map((e) => e.message).join('; '));
  }

  /** Not live: the subscription (if any) ends, and the error says why. */
  private fail(message: string) {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
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
