import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import type { TestServer } from './server.js';

/** A graphql-ws client of the real server, as a dashboard would open it (token in connectionParams). */
export function wsClient(t: Pick<TestServer, 'url'>, token: string | null): Client {
  return createClient({
    url: t.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
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
  /** Resolves once at least `count` payloads arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<Payload<T>[]>;
  /** Resolves when the subscription ends (completed or errored). */
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

async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Subscribes and collects what arrives. */
export function collect<T = any>(client: Client, query: string, variables: Record<string, unknown>): Collected<T> {
  const collected: Collected<T> = {
    payloads: [],
    error: undefined,
    completed: false,
    waitFor: async (count, timeoutMs = 10_000) => {
      await until(() => collected.payloads.length >= count || collected.error !== undefined, timeoutMs,
        () => `${count} payloads (got ${collected.payloads.length})`);
      if (collected.payloads.length < count) throw new Error(`subscription failed: ${JSON.stringify(collected.error)}`);
      return collected.payloads;
    },
    ended: (timeoutMs = 10_000) => until(() => collected.completed || collected.error !== undefined, timeoutMs, () => 'the end'),
    unsubscribe: () => {},
  };
  collected.unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (payload) => void collected.payloads.push(payload as Payload<T>),
      error: (error) => void (collected.error = error ?? 'error'),
      complete: () => void (collected.completed = true),
    },
  );
  return collected;
}

/** Waits until the server's hub has `count` subscribers: from then on no change can be missed. */
export async function waitForSubscribers(t: TestServer, count: number, timeoutMs = 10_000): Promise<void> {
  const hub = t.server.services.changes;
  await until(() => hub.subscriberCount >= count, timeoutMs, () => `${count} subscribers (have ${hub.subscriberCount})`);
}

/** Waits until the hub has exactly `count` subscribers (e.g. after unsubscribing). */
export async function waitForSubscriberCount(t: TestServer, count: number, timeoutMs = 10_000): Promise<void> {
  const hub = t.server.services.changes;
  await until(() => hub.subscriberCount === count, timeoutMs, () => `exactly ${count} subscribers (have ${hub.subscriberCount})`);
}

export const ROW_CHANGES = /* GraphQL */ `
subscription ($p: ID!, $t: String!, $where: JSON, $since: String) {
  rowChanges(projectId: $p, table: $t, where: $where, since: $since) {
    cursor projectId table op row oldRow changedColumns at
  }
}`;

export const TABLE_CHANGES = /* GraphQL */ `
subscription ($p: ID!) { tableChanges(projectId: $p) { projectId table kind newName at } }`;
