import { randomBytes } from 'node:crypto';
import pgListen, { type Subscriber } from 'pg-listen';
import type { Logger } from '../logger.js';
import { CHANGES_CHANNEL } from './change-log.js';
import { DeliveryAcks, LISTENER_APP_PREFIX, METADATA_ACK_CHANNEL, METADATA_CHANNEL, tagOfPayload } from './metadata-notify.js';

/** Told what the metadata channel says, and whether this connection is LISTENing (see MetadataCache). */
export interface MetadataWatcher {
  notified(payload: string | undefined): void;
  setListening(listening: boolean): void;
}

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
  readonly applicationName = `${LISTENER_APP_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  /** Acknowledgements of metadata changes from every process's listener (this one's too). */
  readonly acks = new DeliveryAcks();
  private subscriber: Subscriber | undefined;
  private closed = false;
  /** Both channels LISTENed on the current connection. */
  private listening = false;
  private watcher: MetadataWatcher | undefined;

  constructor(private readonly options: ChangeListenerOptions) {}

  /** Routes the metadata channel to `watcher`, and tells it when the connection is lost and back. */
  watchMetadata(watcher: MetadataWatcher): void {
    this.watcher = watcher;
    watcher.setListening(this.listening);
  }

  /** True while every channel is LISTENed on a live connection. */
  get isListening(): boolean {
    return this.listening;
  }

  private setListening(listening: boolean): void {
    this.listening = listening;
    this.watcher?.setListening(listening);
  }

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
        serialize: (payload: unknown) => String(payload),
      },
    );
    this.subscriber = subscriber;
    subscriber.events.on('notification', (notification) => {
      const payload = notification.payload as string | undefined;
      if (notification.channel === METADATA_CHANNEL) {
        this.watcher?.notified(payload);
        // Dropped: say so, so that the process that made the change may answer its caller.
        if (tagOfPayload(payload)) void Promise.resolve(subscriber.notify(METADATA_ACK_CHANNEL, `${this.applicationName} ${payload}`)).catch(() => {});
      } else if (notification.channel === METADATA_ACK_CHANNEL) this.acks.received(payload);
      else onWake('notify');
    });
    subscriber.events.on('connected', () => {
      // A reconnection that succeeded while stop() ran would otherwise stay open.
      if (this.closed) return void subscriber.close().catch(() => {});
      // pg-listen says connected again only after it has LISTENed on every channel again; the
      // first connection says it before start() LISTENs, which sets listening itself.
      if (this.subscriber && subscriber.getSubscribedChannels().length > 0) this.setListening(true);
      onWake('connected');
    });
    subscriber.events.on('reconnect', (attempt) => {
      // The first attempt follows the loss at once: from here on, notifications may be missed.
      if (attempt === 1) this.setListening(false);
      if (attempt === 1 || attempt % 10 === 0) log.warn(`change listener: reconnecting to Postgres (attempt ${attempt})`);
    });
    subscriber.events.on('error', (error) => {
      if (!this.closed) log.error(`change listener: ${error.message}`);
    });
    await subscriber.connect();
    await subscriber.listenTo(CHANGES_CHANNEL);
    await subscriber.listenTo(METADATA_CHANNEL);
    await subscriber.listenTo(METADATA_ACK_CHANNEL);
    this.setListening(true);
    // Commits between the connection and LISTEN sent their NOTIFY to nobody: read once more.
    onWake('connected');
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.setListening(false);
    await this.subscriber?.close().catch(() => {});
  }
}
