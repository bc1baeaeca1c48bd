import WebSocket from 'ws';
import { Arrivals } from './arrivals.js';
import { leftover } from './leftovers.js';
import type { TestServer } from './server.js';

/** A graphql-transport-ws message from the server, parsed. */
export interface ServerMessage {
  type: string;
  id?: string;
  payload?: any;
}

export interface RawSocket {
  socket: WebSocket;
  /** Every frame the server sent, as text, in order. */
  frames: string[];
  /** The same frames, parsed. */
  messages: ServerMessage[];
  /** Resolves with the close code and reason, and how long after opening it came. */
  closed: Promise<{ code: number; reason: string; afterMs: number }>;
  /** Sends a string as it is, anything else as JSON. */
  send(message: unknown): void;
  /** The first message of this type, once it has come; fails if the socket closes first, or after `timeoutMs`. */
  next(type: string, timeoutMs?: number): Promise<ServerMessage>;
  /** The first `count` messages that `matches` accepts, once they have come; fails likewise. */
  received(count: number, matches: (message: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage[]>;
  /** The text of every frame of this type so far, byte for byte as sent. */
  framesOf(type: string): string[];
}

/**
 * A bare WebSocket to the server speaking (or not) graphql-transport-ws, so the test writes and
 * sees every frame itself; closed after the test file. Rejects if the server refuses the upgrade.
 */
export async function rawSocket(t: TestServer, protocol = 'graphql-transport-ws'): Promise<RawSocket> {
  const socket = new WebSocket(t.url.replace(/^http/, 'ws'), protocol);
  const opened = Date.now();
  const frames: string[] = [];
  const arrivals = new Arrivals<ServerMessage>();
  socket.on('message', (data) => {
    frames.push(String(data));
    arrivals.push(JSON.parse(String(data)) as ServerMessage);
  });
  const closed = new Promise<{ code: number; reason: string; afterMs: number }>((resolve) =>
    socket.on('close', (code, reason) => {
      // Settled before the waits fail, so a test racing the two sees the close.
      resolve({ code, reason: String(reason), afterMs: Date.now() - opened });
      arrivals.end(`the socket closed with ${code}${String(reason) ? ` (${String(reason)})` : ''}`);
    }),
  );
  leftover(async () => {
    if (socket.readyState === WebSocket.CLOSED) return;
    socket.terminate();
    await closed;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.on('error', reject);
  });
  return {
    socket,
    frames,
    messages: arrivals.items,
    closed,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: async (type, timeoutMs = 5_000) => (await arrivals.first(1, `a ${type} message`, (message) => message.type === type, timeoutMs))[0]!,
    received: (count, matches, timeoutMs = 10_000) => arrivals.first(count, `${count} matching messages`, matches, timeoutMs),
    framesOf: (type) => frames.filter((_, i) => arrivals.items[i]!.type === type),
  };
}

/** connection_init with a bearer token, as graphql-ws's client sends it from connectionParams. */
export const connectionInit = (token: string) => ({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });

/** A raw socket that has sent connection_init with `token` and been acknowledged. */
export async function acknowledgedSocket(t: TestServer, token: string): Promise<RawSocket> {
  const raw = await rawSocket(t);
  raw.send(connectionInit(token));
  await raw.next('connection_ack');
  return raw;
}
