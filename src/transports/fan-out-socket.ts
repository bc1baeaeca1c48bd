import { WebSocket } from 'ws';

/**
 * Bytes a socket may have waiting to be written before the sender waits for the socket: below it,
 * graphql-ws's next frame goes out at once (Node then writes many frames in one `writev`); above it,
 * the subscriber's stream pauses, its events wait in its hub queue, and one that falls more than
 * the hub's maxQueued behind is ended with CURSOR_EXPIRED. Kept small so that a ping never waits
 * behind more than this (a pong not back within the keep-alive would terminate the socket).
 */
export const SEND_HIGH_WATER_BYTES = 64 * 1024;

/** graphql-ws writes `{"id":…,"type":"next","payload":…}` in that order; the placeholder writes null. */
const PLACEHOLDER_TAIL = '"payload":null}';

type SendCallback = (error?: Error) => void;

/** graphql-ws's `next` message for subscription `id`, around an already serialised payload. */
const nextFrame = (id: string, payloadJson: string) => `{"id":${JSON.stringify(id)},"type":"next","payload":${payloadJson}}`;

/**
 * The server's socket class (ws's `WebSocketServer({ WebSocket })`). Change subscriptions write
 * their `next` frames through `sendNext` (src/transports/shared-results.ts, writeOncePerGroup).
 * Everything else graphql-ws sends goes through `send`, the only way its `useServer` writes, with
 * two changes:
 * - a `next` frame whose payload is a {@link PreSerialisedPayload} gets that JSON spliced in,
 *   instead of graphql-ws serialising the same result once per socket;
 * - the write callback graphql-ws awaits before taking the subscription's next event is called
 *   as soon as the frame is queued, unless the socket already holds SEND_HIGH_WATER_BYTES.
 */
export class FanOutSocket extends WebSocket {
  /** Set by PreSerialisedPayload.toJSON, during the stringify that directly precedes `send`. */
  pendingPayload: string | undefined;

  /**
   * Writes graphql-ws's `next` frame for subscription `id` (its key order: id, type, payload). A
   * promise, to await before the next frame, only when the buffer is over SEND_HIGH_WATER_BYTES.
   */
  sendNext(id: string, payloadJson: string): Promise<void> | undefined {
    const frame = nextFrame(id, payloadJson);
    // frame.length counts UTF-16 units, not bytes: close enough for a high-water mark.
    if (this.bufferedAmount + frame.length <= SEND_HIGH_WATER_BYTES) return void super.send(frame);
    return new Promise((resolve) => super.send(frame, () => resolve()));
  }

  /** Writes the `next` frame only if it fits under SEND_HIGH_WATER_BYTES; false, with nothing written, if not. */
  trySendNext(id: string, payloadJson: string): boolean {
    const frame = nextFrame(id, payloadJson);
    if (this.readyState !== FanOutSocket.OPEN || this.bufferedAmount + frame.length > SEND_HIGH_WATER_BYTES) return false;
    super.send(frame);
    return true;
  }

  // ws's send is overloaded (data, cb) / (data, options, cb); one implementation serves both.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override send(data: any, optionsOrCallback?: any, callback?: SendCallback): void {
    const options = typeof optionsOrCallback === 'function' ? {} : (optionsOrCallback ?? {});
    const done: SendCallback | undefined = typeof optionsOrCallback === 'function' ? optionsOrCallback : callback;
    const json = this.pendingPayload;
    if (json !== undefined) {
      this.pendingPayload = undefined;
      if (typeof data === 'string' && data.endsWith(PLACEHOLDER_TAIL)) data = `${data.slice(0, -'null}'.length)}${json}}`;
    }
    if (!done) return super.send(data, options);
    let answered = false;
    super.send(data, options, (error) => {
      if (!answered) done(error);
    });
    if (this.readyState === WebSocket.OPEN && this.bufferedAmount <= SEND_HIGH_WATER_BYTES) {
      // graphql-ws wraps this call in a Promise executor: answering now just resolves it.
      answered = true;
      done();
    }
  }
}

/**
 * Returned from graphql-ws's `onNext` as the payload: graphql-ws validates it (an object) and
 * stringifies the message, which calls toJSON; that hands the socket the JSON made once for the
 * whole group and leaves `null` for the socket to replace. Stringify and send run back to back
 * without an await between them, so the socket's pending payload cannot belong to another frame.
 */
export class PreSerialisedPayload {
  constructor(
    private readonly socket: FanOutSocket,
    private readonly json: string,
  ) {}

  toJSON(): null {
    this.socket.pendingPayload = this.json;
    return null;
  }
}
