import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { Arrivals } from './arrivals.js';
import { leftover } from './leftovers.js';
import type { TestServer } from './server.js';

/**
 * A graphql-ws client of the real server, as a dashboard would open it (token in
 * connectionParams); disposed after the test file.
 */
export function wsClient(t: Pick<TestServer, 'url'>, token: string | null): Client {
  const client = createClient({
    url: t.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
  leftover(() => client.dispose());
  return client;
}

export interface Payload<T = any> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown } }[];
}

export interface Collected<T = any> {
  /** Every `next` payload, in order. */
  payloads: Payload<T>[];
  /** Set when the server ended the subscription with an error (before or during the stream). */
  error: unknown;
  completed: boolean;
  /** Resolves with the payloads once at least `count` arrived; fails if the subscription ends first, or after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<Payload<T>[]>;
  /** Resolves when the subscription ends (completed or errored); fails after `timeoutMs`. */
  ended(timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

/**
 * The GraphQL errors that ended a subscription before its stream started: graphql-ws sends them
 * as one `next` payload followed by `complete`.
 */
export function subscribeErrors(collected: Collected): NonNullable<Payload['errors']> {
  const errors = collected.payloads[0]?.errors;
  if (!errors) throw new Error(`expected errors, got ${JSON.stringify({ payloads: collected.payloads, error: collected.error })}`);
  return errors;
}

/** What graphql-ws handed to `error`: a CloseEvent, the GraphQL errors, or an Error. */
function describeError(error: unknown): string {
  const { code, reason, message } = (error ?? {}) as { code?: number; reason?: string; message?: string };
  if (typeof code === 'number') return `the socket closed with ${code}${reason ? ` (${reason})` : ''}`;
  return `the subscription failed with ${message ?? JSON.stringify(error)}`;
}

/** Subscribes on `client` and collects what arrives; unsubscribed after the test file. */
export function collect<T = any>(client: Client, query: string, variables: Record<string, unknown>): Collected<T> {
  const arrivals = new Arrivals<Payload<T>>();
  const field = /\{\s*(\w+)/.exec(query)?.[1] ?? 'the subscription';
  const collected: Collected<T> = {
    payloads: arrivals.items,
    error: undefined,
    completed: false,
    waitFor: (count, timeoutMs = 10_000) =>
      arrivals.until(`${count} ${field} payloads`, (payloads) => (payloads.length >= count ? arrivals.items : undefined), timeoutMs),
    ended: (timeoutMs = 10_000) => arrivals.until(`the end of ${field}`, () => (arrivals.ended ? true : undefined), timeoutMs).then(() => {}),
    unsubscribe: () => {},
  };
  collected.unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (payload) => arrivals.push(payload as Payload<T>),
      error: (error) => {
        collected.error = error ?? 'error';
        arrivals.end(describeError(error));
      },
      complete: () => {
        collected.completed = true;
        arrivals.end('the subscription completed');
      },
    },
  );
  leftover(() => collected.unsubscribe());
  return collected;
}

/**
 * A subscriber on a socket of its own with `token`: resolves once the server's hub has
 * registered it (from then on no change can be missed), or once the server has ended it (a
 * refused subscription: see `subscribeErrors`).
 */
export async function subscribe<T = any>(t: TestServer, token: string | null, query: string, variables: Record<string, unknown>): Promise<Collected<T>> {
  const hub = t.server.services.changes;
  const before = hub.subscriberCount;
  const collected = collect<T>(wsClient(t, token), query, variables);
  await hubState(t, () => hub.subscriberCount > before || collected.completed || collected.error !== undefined, () => `a new subscriber (have ${hub.subscriberCount}, had ${before}) or the end of the subscription`, 10_000, collected);
  return collected;
}

/** Waits until the server's hub has `count` subscribers: from then on no change can be missed. */
export function waitForSubscribers(t: TestServer, count: number, timeoutMs = 10_000): Promise<void> {
  const hub = t.server.services.changes;
  return hubState(t, () => hub.subscriberCount >= count, () => `${count} subscribers (have ${hub.subscriberCount})`, timeoutMs);
}

/** Waits until the hub has exactly `count` subscribers (e.g. after unsubscribing). */
export function waitForSubscriberCount(t: TestServer, count: number, timeoutMs = 10_000): Promise<void> {
  const hub = t.server.services.changes;
  return hubState(t, () => hub.subscriberCount === count, () => `exactly ${count} subscribers (have ${hub.subscriberCount})`, timeoutMs);
}

/**
 * Waits until `holds()` is true: checked now and every time the hub's subscriber count changes
 * (ChangeHub.onSubscribers) or the subscription ends, never on a timer.
 */
function hubState(t: Pick<TestServer, 'server'>, holds: () => boolean, what: () => string, timeoutMs = 10_000, ended?: Collected): Promise<void> {
  const hub = t.server.services.changes;
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!holds()) return;
      finish();
      resolve();
    };
    const stop = hub.onSubscribers(check);
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
    }, timeoutMs);
    const finish = () => {
      stop();
      clearTimeout(timer);
    };
    void ended?.ended(timeoutMs).then(check, () => {});
    check();
  });
}

export const ROW_CHANGES = /* GraphQL */ `
subscription ($p: ID!, $t: String!, $where: JSON, $since: String) {
  rowChanges(projectId: $p, table: $t, where: $where, since: $since) {
    cursor projectId table op row oldRow changedColumns at
  }
}`;

export const TABLE_CHANGES = /* GraphQL */ `
subscription ($p: ID!) { tableChanges(projectId: $p) { projectId table kind newName at } }`;
