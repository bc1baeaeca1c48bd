import { randomBytes } from 'node:crypto';
import pgListen, { type Subscriber } from 'pg-listen';
import type { Logger } from '../logger.js';
import { CHANGES_CHANNEL } from './change-log.js';

export interface ChangeListenerOptions {
  url: string;
  log: Logger;
  /**
   * Called on every NOTIFY and after every (re)connection. The NOTIFY carries no data: the
   * callee reads the change log after its position, which also covers whatever was committed
   * while the connection was down.
   */
  onWake: (reason: 'notify' | 'connected') => void;
  /** Delay before reconnection attempt n (0-based), in ms. @default 250 ms doubling, capped at 5 s */
  retryDelay?: (attempt: number) => number;
}

// pg-listen is CommonJS with `exports.default`: Node's ESM import yields the exports object,
// vitest's interop the function itself.
const createSubscriber: typeof pgListen.default = (pgListen as unknown as { default?: typeof pgListen.default }).default ?? (pgListen as unknown as typeof pgListen.default);

const defaultRetryDelay = (attempt: number) => Math.min(250 * 2 ** Math.min(attempt, 5), 5_000) + Math.floor(Math.random() * 100);

class ListenerClosed extends Error {}

/**
 * The ONE listening connection of a server process (pg-listen). pg-listen gives up reconnecting
 * after 3 s by default; here it retries forever with back-off, so a Postgres restart of any
 * length is survived.
 */
export class ChangeListener {
  /** Sent as application_name, so this process's listener backend can be found (and tested). */
  readonly applicationName = `paige-db-listener-${process.pid}-${randomBytes(3).toString('hex')}`;
  private subscriber: Subscriber | undefined;
  private closed = false;

  constructor(private readonly options: ChangeListenerOptions) {}

  async start(): Promise<void> {
    const { url, log, onWake } = this.options;
    const retryDelay = this.options.retryDelay ?? defaultRetryDelay;
    const subscriber = createSubscriber(
      { connectionString: url, application_name: this.applicationName },
      {
        retryLimit: Infinity,
        retryTimeout: Infinity,
        // pg-listen's retry loop has no exit of its own: throwing here is how stop() ends it.
        retryInterval: (attempt: number) => {
          if (this.closed) throw new ListenerClosed('listener stopped');
          return retryDelay(attempt);
        },
        // A half-open TCP connection never reports an error; a periodic query finds it.
        paranoidChecking: 15_000,
        parse: (payload: string) => payload,
      },
    );
    this.subscriber = subscriber;
    subscriber.events.on('notification', () => onWake('notify'));
    subscriber.events.on('connected', () => {
      // A reconnection that succeeded while stop() ran would otherwise stay open.
      if (this.closed) void subscriber.close().catch(() => {});
      else onWake('connected');
    });
    subscriber.events.on('reconnect', (attempt) => {
      if (attempt === 1 || attempt % 10 === 0) log.warn(`change listener: reconnecting to Postgres (attempt ${attempt})`);
    });
    subscriber.events.on('error', (error) => {
      if (!this.closed) log.error(`change listener: ${error.message}`);
    });
    await subscriber.connect();
    await subscriber.listenTo(CHANGES_CHANNEL);
    // Commits between the connection and LISTEN sent their NOTIFY to nobody: read once more.
    onWake('connected');
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.subscriber?.close().catch(() => {});
  }
}
