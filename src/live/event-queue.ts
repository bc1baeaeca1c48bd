/** A reader that waits for the queue's next value without a promise of its own (EventQueue.take). */
export interface QueueReader<T> {
  /** The next value (or the end), handed over synchronously as it is pushed. */
  deliver(result: IteratorResult<T>): void;
}

/** Takes a pushed value at once, in place of the waiting reader; false to leave it to the reader. */
export interface DirectTaker<T> {
  takeDirectly(value: T): boolean;
}

type Waiter<T> = ((result: IteratorResult<T>) => void) | QueueReader<T>;
const settle = <T>(waiter: Waiter<T>, result: IteratorResult<T>) => (typeof waiter === 'function' ? waiter(result) : waiter.deliver(result));

/**
 * An unbounded-in-principle, capped-in-practice push queue read as an AsyncIterableIterator, the
 * shape graphql-js wants from a `subscribe` resolver. The hub pushes; the transport (graphql-ws,
 * SSE) pulls as fast as its socket drains.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  /** Values not yet taken are buffered[head…]: Array#shift copies the whole backlog each time. */
  private buffered: (T | undefined)[] = [];
  private head = 0;
  private waiting: Waiter<T>[] = [];
  private done = false;
  private direct: DirectTaker<T> | undefined;
  /** Producers waiting for the reader to take values (whenAtMost), each with its threshold. */
  private drainWaiters: { atMost: number; resolve: () => void }[] = [];

  /**
   * @param onReturn called once when the consumer stops (unsubscribe, socket closed) or the
   *   queue is ended, so the producer can forget this queue.
   */
  constructor(private readonly onReturn: () => void) {}

  get size(): number {
    return this.buffered.length - this.head;
  }

  get ended(): boolean {
    return this.done;
  }

  /**
   * A consumer that can take a value at once, synchronously, in place of the reader: it is offered
   * a value only while the reader waits (in `next()` or `take()`: nothing is buffered, order is kept),
   * and returns false to have the value go the usual way. It saves a fan-out of thousands of
   * subscribers a chain of promises per subscriber per event.
   */
  takeDirectly(consumer: DirectTaker<T>): void {
    this.direct = consumer;
  }

  push(value: T): void {
    if (this.done) return;
    if (this.direct && this.waiting.length > 0 && this.direct.takeDirectly(value)) return;
    const waiter = this.waiting.shift();
    if (waiter) settle(waiter, { value, done: false });
    else this.buffered.push(value);
  }

  /**
   * Resolves once at most `atMost` values wait to be taken, or the queue has ended: a producer
   * that can wait (a replay) pushes no faster than its consumer reads.
   */
  whenAtMost(atMost: number): Promise<void> {
    if (this.done || this.size <= atMost) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ atMost, resolve }));
  }

  private releaseDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const size = this.size;
    const ready = this.drainWaiters.filter((waiter) => this.done || size <= waiter.atMost);
    if (ready.length === 0) return;
    this.drainWaiters = this.drainWaiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve();
  }

  /** No more values: the consumer gets what is buffered, then the end. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.onReturn();
    for (const waiter of this.waiting.splice(0)) settle(waiter, { value: undefined, done: true });
    this.releaseDrainWaiters();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buffered.length) return Promise.resolve({ value: this.shiftBuffered(), done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.wait(resolve));
  }

  /**
   * Like next(), without a promise: the next value (or the end) at once if there is one, else
   * undefined, and `reader.deliver` gets the next value synchronously when it is pushed.
   */
  take(reader: QueueReader<T>): IteratorResult<T> | undefined {
    if (this.head < this.buffered.length) return { value: this.shiftBuffered(), done: false };
    if (this.done) return { value: undefined, done: true };
    this.wait(reader);
    return undefined;
  }

  private wait(waiter: Waiter<T>): void {
    // A new one-element array rather than a push onto the empty one, which would reserve room
    // for 17: a queue waits like this for most of its life, once per idle subscriber.
    if (this.waiting.length === 0) this.waiting = [waiter];
    else this.waiting.push(waiter);
  }

  private shiftBuffered(): T {
    const value = this.buffered[this.head] as T;
    this.buffered[this.head++] = undefined;
    if (this.head === this.buffered.length) {
      this.buffered.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.buffered.length) {
      // Drop the taken prefix once it is half the array: amortised O(1) per value.
      this.buffered = this.buffered.slice(this.head);
      this.head = 0;
    }
    this.releaseDrainWaiters();
    return value;
  }

  return(): Promise<IteratorResult<T>> {
    this.direct = undefined;
    this.buffered = [];
    this.head = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
