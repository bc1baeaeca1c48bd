import { createClient, type Client } from 'graphql-ws';
import type { ApiErrorItem, Variables } from './client.js';

/**
 * Live data over graphql-ws on this service's `/graphql`, one socket per session. The client does
 * NOT retry by itself: graphql-ws would re-send each subscription with its first variables, and
 * a row subscription must come back with `since` = the last cursor it saw, or it misses the
 * changes made while it was away. `subscribeResumable` does that.
 */

export interface LiveClient {
  client: Client;
  /** Whether some live view lost its socket and is waiting to resume (the "connection lost" banner). */
  isLost(): boolean;
  onLostChange(listener: (lost: boolean) => void): () => void;
  /** Whether the socket is open now. */
  isConnected(): boolean;
  onConnected(listener: () => void): () => void;
  /** Marks one subscription as lost (true) or resumed/ended (false). */
  setLost(subscription: object, lost: boolean): void;
  dispose(): void;
}

/** How often the client pings, and how long it waits for the pong before it closes the socket. */
const KEEP_ALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;

export function createLiveClient(token: string, path = '/graphql'): LiveClient {
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
  let connected = false;
  const lost = new Set<object>();
  const lostListeners = new Set<(lost: boolean) => void>();
  const connectedListeners = new Set<() => void>();
  let socket: WebSocket | undefined;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  const client = createClient({
    url,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    // A connection that silently died (a laptop waking up, a dropped route) answers no ping: it
    // is closed after PONG_TIMEOUT_MS, as graphql-ws's documentation shows, and the views resume.
    keepAlive: KEEP_ALIVE_MS,
    on: {
      connected: (opened) => {
        socket = opened as WebSocket;
        connected = true;
        for (const listener of [...connectedListeners]) listener();
      },
      ping: (received) => {
        if (received) return;
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => {
          if (socket?.readyState === WebSocket.OPEN) socket.close(4408, 'Request Timeout');
        }, PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
      closed: () => {
        connected = false;
        clearTimeout(pongTimer);
      },
    },
  });
  return {
    client,
    isLost: () => lost.size > 0,
    onLostChange(listener) {
      lostListeners.add(listener);
      return () => lostListeners.delete(listener);
    },
    // Not while graphql-ws closes it (lazily, once its last subscription ended): a subscription now goes on the next one.
    isConnected: () => connected && socket?.readyState === WebSocket.OPEN,
    onConnected(listener) {
      connectedListeners.add(listener);
      return () => connectedListeners.delete(listener);
    },
    setLost(subscription, isLost) {
      const before = lost.size > 0;
      if (isLost) lost.add(subscription);
      else lost.delete(subscription);
      if (before !== lost.size > 0) for (const listener of lostListeners) listener(lost.size > 0);
    },
    dispose: () => void client.dispose(),
  };
}

/** Why a live subscription ended. */
export type LiveFailure =
  /** The API refused it (table dropped, access revoked, cursor expired…): its errors. */
  | { kind: 'refused'; errors: ApiErrorItem[] }
  /** The server ended it (e.g. the table was dropped). */
  | { kind: 'completed' };

export interface ResumableHandlers<E> {
  next(event: E): void;
  /**
   * The subscription went out on a connection the server accepted (its connection_ack): at
   * first (`resumed` false) and again after each loss (`resumed` true). graphql-ws acknowledges
   * a connection, never a subscription, so this is as much as the client can know before an event.
   */
  subscribed(resumed: boolean): void;
  /** The socket dropped; a retry follows, with `variables(resumeFrom())` at that moment. */
  lost(): void;
  failed(failure: LiveFailure): void;
}

/** Back-off between reconnect attempts, in ms. */
const RETRY_DELAYS = [250, 500, 1_000, 2_000, 4_000, 8_000];

/**
 * A subscription that outlives dropped sockets: after a loss it subscribes again with
 * `variables(since)`, `since` being what `resumeFrom()` returns at that moment (the caller's last
 * cursor). Returns a function that ends it.
 */
export function subscribeResumable<T, E>(
  live: LiveClient,
  query: string,
  variables: (since: string | null) => Variables,
  pick: (data: T) => E,
  resumeFrom: () => string | null,
  handlers: ResumableHandlers<E>,
): () => void {
  let stopped = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe: (() => void) | undefined;
  /** Waiting for this attempt's connection to be accepted. */
  let offConnected: (() => void) | undefined;
  /** Lost, and not subscribed again yet. */
  let resuming = false;
  /** Refused: graphql-ws follows the errors with `complete`, which must not be reported again. */
  let refused = false;
  const self = {};
  const subscribed = () => {
    offConnected?.();
    offConnected = undefined;
    if (stopped) return;
    // The socket works: the next loss starts the back-off again from its shortest delay.
    attempt = 0;
    const resumed = resuming;
    if (resuming) {
      resuming = false;
      live.setLost(self, false);
    }
    handlers.subscribed(resumed);
  };

  const open = () => {
    if (stopped) return;
    unsubscribe = live.client.subscribe<T>(
      { query, variables: variables(resumeFrom()) },
      {
        next: (result) => {
          if (stopped) return;
          if (result.errors?.length) {
            refused = true;
            return handlers.failed({ kind: 'refused', errors: result.errors as ApiErrorItem[] });
          }
          if (result.data) handlers.next(pick(result.data as T));
        },
        error: (error) => {
          offConnected?.();
          offConnected = undefined;
          if (stopped) return;
          if (Array.isArray(error)) return handlers.failed({ kind: 'refused', errors: error as ApiErrorItem[] });
          // A CloseEvent or a network error: the socket is gone. Try again, resuming.
          if (!resuming) {
            resuming = true;
            live.setLost(self, true);
            handlers.lost();
          }
          const delay = RETRY_DELAYS[Math.min(attempt++, RETRY_DELAYS.length - 1)]!;
          timer = setTimeout(open, delay);
        },
        complete: () => {
          if (!stopped && !refused) handlers.failed({ kind: 'completed' });
        },
      },
    );
    // graphql-ws sends the subscription as soon as the server has accepted the connection: at
    // once on an open one, else on its connection_ack (which `connected` reports).
    if (live.isConnected()) subscribed();
    else offConnected = live.onConnected(subscribed);
  };
  open();
  return () => {
    stopped = true;
    offConnected?.();
    live.setLost(self, false);
    clearTimeout(timer);
    unsubscribe?.();
  };
}
