import type pg from 'pg';
import { DomainError } from '../domain/errors.js';
import { createPool, type Pool } from './pool.js';

/**
 * How much of the platform pool one project may hold. The pool has 20 connections; a project
 * running reads that wait on its own locked table, or slow filters, used to hold all of them, and
 * every other project's calls queued behind (issue 14, point 6). With 5 per project, at least 15
 * stay free for the others whatever one project does (four projects at their limit at once would
 * still fill it: SECURITY.md, residual risks).
 */
export const PROJECT_SHARE = {
  /** Platform connections one project's operations hold at once. */
  connections: 5,
  /** How long an operation waits for one of them before it is refused (BUSY). */
  queueTimeoutMs: 10_000,
  /** Operations waiting at once, per project, past which new ones are refused at once (a bound on memory). */
  maxQueued: 200,
} as const;

interface Waiter {
  grant: () => void;
  fail: (error: Error) => void;
}

/** One project's slots: `active` connections held, the rest waiting in arrival order. */
class Slots {
  active = 0;
  readonly waiting: Waiter[] = [];
}

const busy = (projectId: string, why: string) =>
  new DomainError(
    'BUSY',
    `this project already has ${PROJECT_SHARE.connections} statements running on the service's database connections (${why}): wait for some of its calls to finish, or make them cheaper`,
    { limit: PROJECT_SHARE.connections, projectId },
  );

/** The request went away before its statement ran: nobody reads this error, it only stops the work. */
const abandoned = () => new DomainError('BAD_USER_INPUT', 'the request was abandoned by its client');

/**
 * The platform pool as one operation sees it: at most PROJECT_SHARE.connections of its
 * connections for one project's operations together, and a request whose client went away has its
 * statements cancelled. node-postgres has no per-query cancel, and a backend does not notice a
 * closed socket until it writes to it, so the cancel is `pg_cancel_backend` from a connection of
 * its own (not one of the pool's, which may all be busy).
 */
export class ProjectShares {
  private readonly slots = new Map<string, Slots>();
  private canceller: pg.Pool | undefined;

  constructor(
    private readonly platform: pg.Pool,
    /** The platform connection string, for the cancelling connection. */
    private readonly url: string,
  ) {}

  /** Operations waiting for their project's share, all projects together (a gauge at GET /metrics). */
  get waiting(): number {
    let count = 0;
    for (const slots of this.slots.values()) count += slots.waiting.length;
    return count;
  }

  /**
   * A Pool for one operation. `projectId` undefined (the admin token): no share is counted, the
   * admin's own calls are the operator's. `signal`: the HTTP request's, aborted when its client
   * goes away.
   */
  forOperation(projectId: string | undefined, signal?: AbortSignal): Pool {
    const held = new Set<pg.PoolClient>();
    const onAbort = () => {
      for (const client of held) void this.cancel(client);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const checkout = async (): Promise<{ client: pg.PoolClient; checkin: (destroy?: boolean) => void }> => {
      if (signal?.aborted) throw abandoned();
      if (projectId) await this.acquire(projectId, signal);
      let client: pg.PoolClient;
      try {
        client = await this.platform.connect();
      } catch (error) {
        if (projectId) this.releaseSlot(projectId);
        throw error;
      }
      held.add(client);
      const release = client.release.bind(client);
      let released = false;
      const checkin = (destroy?: boolean) => {
        if (released) return;
        released = true;
        held.delete(client);
        // A backend sent a cancel may still receive it: it is not handed to anybody else.
        release(destroy || this.cancelledClients.has(client));
        if (projectId) this.releaseSlot(projectId);
      };
      // Gone while this call waited for a connection: nothing of it runs.
      if (signal?.aborted) {
        checkin();
        throw abandoned();
      }
      return { client, checkin };
    };
    return {
      query: (async (...args: Parameters<pg.PoolClient['query']>) => {
        const { client, checkin } = await checkout();
        try {
          return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          checkin();
        }
      }) as Pool['query'],
      connect: (async () => {
        const { client, checkin } = await checkout();
        // pg-pool gives a checked-out client a new `release` each time: ours wraps this one.
        client.release = (destroy?: boolean | Error) => checkin(destroy !== undefined && destroy !== false);
        return client;
      }) as Pool['connect'],
    };
  }

  private readonly cancelledClients = new WeakSet<pg.PoolClient>();

  private async cancel(client: pg.PoolClient): Promise<void> {
    if (this.cancelledClients.has(client)) return;
    this.cancelledClients.add(client);
    const pid = (client as unknown as { processID?: number }).processID;
    if (!pid) return;
    this.canceller ??= createPool(this.url, { max: 1, applicationName: 'paige-db-cancel', allowExitOnIdle: true });
    await this.canceller.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
  }

  private acquire(projectId: string, signal?: AbortSignal): Promise<void> {
    const slots = this.slots.get(projectId) ?? new Slots();
    this.slots.set(projectId, slots);
    if (slots.active < PROJECT_SHARE.connections) {
      slots.active++;
      return Promise.resolve();
    }
    if (slots.waiting.length >= PROJECT_SHARE.maxQueued) return Promise.reject(busy(projectId, `and ${PROJECT_SHARE.maxQueued} more waiting`));
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = slots.waiting.indexOf(waiter);
        if (at >= 0) slots.waiting.splice(at, 1);
      };
      const waiter: Waiter = {
        grant: () => {
          leave();
          resolve();
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(abandoned());
      const timer = setTimeout(() => waiter.fail(busy(projectId, `this call waited ${PROJECT_SHARE.queueTimeoutMs / 1000} s for one`)), PROJECT_SHARE.queueTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      slots.waiting.push(waiter);
    });
  }

  /** A slot is handed straight to the next waiter (the count stays), or freed. */
  private releaseSlot(projectId: string): void {
    const slots = this.slots.get(projectId);
    if (!slots) return;
    const next = slots.waiting[0];
    if (next) return next.grant();
    slots.active--;
    if (slots.active === 0) this.slots.delete(projectId);
  }

  async close(): Promise<void> {
    await this.canceller?.end();
    this.canceller = undefined;
  }
}
