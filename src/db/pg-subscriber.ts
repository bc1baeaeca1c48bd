import { randomBytes } from 'node:crypto';
import pgListen, { type Subscriber } from 'pg-listen';
import type { Logger } from '../logger.js';

export type NotificationHandler = (payload: string | undefined) => void;

/** Told when notifications may have been missed (false) and when every topic is LISTENed again (true). */
export type ListeningHandler = (listening: boolean) => void;

export interface PgSubscriberOptions {
  url: string;
  log: Logger;
  /** Sent as application_name, followed by the pid and a random suffix, so the backend can be found. */
  applicationPrefix: string;
  /** Delay before reconnection attempt n (0-based), in ms. @default 250 ms doubling, capped at 5 s */
  retryDelay?: (attempt: number) => number;
}

// pg-listen is CommonJS with `exports.default`: Node's ESM import yields the exports object,
// vitest's interop the function itself.
const createSubscriber: typeof pgListen.default = (pgListen as unknown as { default?: typeof pgListen.default }).default ?? (pgListen as unknown as typeof pgListen.default);

const defaultRetryDelay = (attempt: number) => Math.min(250 * 2 ** Math.min(attempt, 5), 5_000) + Math.floor(Math.random() * 100);

class SubscriberStopped extends Error {}

/**
 * The ONE listening connection of a process (pg-listen), shared by topics, knowing nothing of
 * what they mean (crystal's PgSubscriber is the model):
 * - a topic is LISTENed when its first handler subscribes and UNLISTENed when its last one leaves,
 *   and every LISTEN and UNLISTEN runs on one promise chain, so they never interleave;
 * - a lost connection is never hidden: `onListening(false)` is called at once (from then on
 *   notifications may be missed), `onListening(true)` once every topic is LISTENed again; a
 *   user that must not miss anything re-reads its source then;
 * - reconnection is retried forever with back-off (pg-listen gives up after 3 s by default), so a
 *   Postgres restart of any length is survived.
 */
export class PgSubscriber {
  readonly applicationName: string;
  private subscriber: Subscriber | undefined;
  private readonly topics = new Map<string, Set<NotificationHandler>>();
  private readonly listeningHandlers = new Set<ListeningHandler>();
  private chain: Promise<unknown> = Promise.resolve();
  private connected = false;
  /** start() has connected: topics are LISTENed as they come. */
  private started = false;
  private stopped = false;

  constructor(private readonly options: PgSubscriberOptions) {
    this.applicationName = `${options.applicationPrefix}${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  /** True while the connection is up and every subscribed topic is LISTENed on it. */
  get listening(): boolean {
    return this.connected;
  }

  /** Calls `handler` on every loss and recovery of the connection; returns a function that stops it. */
  onListening(handler: ListeningHandler): () => void {
    this.listeningHandlers.add(handler);
    return () => void this.listeningHandlers.delete(handler);
  }

  /** Connects; topics subscribed before or after are LISTENed on this connection. */
  async start(): Promise<void> {
    const { url, log } = this.options;
    const retryDelay = this.options.retryDelay ?? defaultRetryDelay;
    const subscriber = createSubscriber(
      { connectionString: url, application_name: this.applicationName },
      {
        retryLimit: Infinity,
        retryTimeout: Infinity,
        // pg-listen's retry loop has no exit of its own: throwing here is how stop() ends it.
        retryInterval: (attempt: number) => {
          if (this.stopped) throw new SubscriberStopped('subscriber stopped');
          return retryDelay(attempt);
        },
        // A half-open TCP connection never reports an error; a periodic query finds it.
        paranoidChecking: 15_000,
        parse: (payload: string) => payload,
        serialize: (payload: unknown) => String(payload),
      },
    );
    this.subscriber = subscriber;
    subscriber.events.on('notification', ({ channel, payload }) => {
      for (const handler of this.topics.get(channel) ?? []) handler(payload as string | undefined);
    });
    subscriber.events.on('reconnect', (attempt) => {
      // The first attempt follows the loss at once: from here on, notifications may be missed.
      if (attempt === 1) this.setListening(false);
      if (attempt === 1 || attempt % 10 === 0) log.warn(`notification listener: reconnecting to Postgres (attempt ${attempt})`);
    });
    subscriber.events.on('connected', () => {
      // A reconnection that succeeded while stop() ran would otherwise stay open.
      if (this.stopped) return void subscriber.close().catch(() => {});
      // pg-listen says connected again only after it has LISTENed on every topic again.
      if (this.subscriber === subscriber && this.started) this.setListening(true);
    });
    subscriber.events.on('error', (error) => {
      if (!this.stopped) log.error(`notification listener: ${error.message}`);
    });
    await subscriber.connect();
    await this.serially(async () => {
      for (const topic of this.topics.keys()) await subscriber.listenTo(topic);
    });
    this.started = true;
    this.setListening(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.setListening(false);
    await this.chain;
    await this.subscriber?.close().catch(() => {});
  }

  /**
   * Calls `handler` with the payload of every notification on `topic` (a NOTIFY carries at most
   * 8000 bytes, or none). Resolves once the topic is LISTENed, if the connection is up; returns
   * a function that unsubscribes (UNLISTEN after the last handler).
   */
  async subscribe(topic: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    let handlers = this.topics.get(topic);
    if (!handlers) this.topics.set(topic, (handlers = new Set()));
    const first = handlers.size === 0;
    handlers.add(handler);
    if (first) await this.serially(() => this.run((subscriber) => subscriber.listenTo(topic)));
    return async () => {
      if (!handlers.delete(handler) || handlers.size > 0) return;
      this.topics.delete(topic);
      await this.serially(() => (this.topics.has(topic) ? undefined : this.run((subscriber) => subscriber.unlisten(topic))));
    };
  }

  /**
   * A LISTEN or UNLISTEN on the current connection. pg-listen records the topic first and LISTENs
   * every recorded topic again after a reconnection, so a failure while the connection is down
   * is no failure: `onListening(true)` follows once the topic is LISTENed.
   */
  private async run(statement: (subscriber: Subscriber) => Promise<unknown> | undefined): Promise<void> {
    if (!this.subscriber || !this.started) return;
    try {
      await statement(this.subscriber);
    } catch (error) {
      if (this.connected) throw error;
    }
  }

  /** Sends a notification on this connection (outside any transaction: delivered at once). */
  async notify(topic: string, payload: string): Promise<void> {
    await this.subscriber?.notify(topic, payload);
  }

  private setListening(listening: boolean): void {
    if (this.connected === listening) return;
    this.connected = listening;
    for (const handler of this.listeningHandlers) handler(listening);
  }

  private serially<T>(work: () => T | Promise<T>): Promise<T> {
    const run = this.chain.then(work);
    this.chain = run.catch(() => {});
    return run;
  }
}
