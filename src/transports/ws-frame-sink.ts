import { WebSocket } from 'ws';
import type { GraphqlWsSocket } from './graphql-ws-server.js';
import type { FrameSink } from './group-fan-out.js';

/**
 * Bytes a socket may have waiting to be written before a subscription waits for the socket: below
 * it, a `next` frame goes out at once (Node then writes many frames in one `writev`); above it,
 * the subscriber's stream pauses, its events wait in its hub queue, and one that falls more than
 * the hub's maxQueued behind is ended with CURSOR_EXPIRED. Kept small so that a ping never waits
 * behind more than this (a pong not back within the keep-alive would terminate the socket).
 */
export const SEND_HIGH_WATER_BYTES = 64 * 1024;

/**
 * The graphql-transport-ws `next` message (PROTOCOL.md of graphql-ws) for subscription `id`
 * around an already serialised payload, with graphql-ws's own key order: id, type, payload.
 */
const nextFrame = (id: string, payloadJson: string) => `{"id":${JSON.stringify(id)},"type":"next","payload":${payloadJson}}`;

/**
 * Where a subscription's `next` frames go on a graphql-ws socket: written straight to the `ws`
 * socket (its documented `send` and `bufferedAmount`), in the protocol's own format, so that one
 * JSON payload per group serves every socket. graphql-ws still owns the socket and the
 * subscription: it sends `complete` after the stream this sink serves has ended, so the order of
 * frames is the protocol's (tests/transports.test.ts checks the bytes against graphql-ws's client).
 */
export function wsFrameSink(socket: GraphqlWsSocket, id: string): FrameSink {
  return new WsFrameSink(socket, id);
}

/** A class, not an object of closures: each subscription keeps one for its life (issue 16, memory per idle subscription). */
class WsFrameSink implements FrameSink {
  constructor(
    private readonly socket: GraphqlWsSocket,
    private readonly id: string,
  ) {}

  get open() {
    return this.socket.readyState === WebSocket.OPEN;
  }

  get stream() {
    return this.socket.stream;
  }

  next(payloadJson: string): Promise<void> | undefined {
    const frame = nextFrame(this.id, payloadJson);
    // frame.length counts UTF-16 units, not bytes: close enough for a high-water mark.
    if (this.socket.bufferedAmount + frame.length <= SEND_HIGH_WATER_BYTES) return void this.socket.send(frame);
    return new Promise((resolve) => this.socket.send(frame, () => resolve()));
  }

  tryNext(payloadJson: string): boolean {
    const frame = nextFrame(this.id, payloadJson);
    if (this.socket.readyState !== WebSocket.OPEN || this.socket.bufferedAmount + frame.length > SEND_HIGH_WATER_BYTES) return false;
    this.socket.send(frame);
    return true;
  }
}
