/**
 * An unbounded-in-principle, capped-in-practice push queue read as an AsyncIterableIterator, the
 * shape graphql-js wants from a `subscribe` resolver. The hub pushes; the transport (graphql-ws,
 * SSE) pulls as fast as its socket drains.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  /** Values not yet taken are buffered[head…]: Array#shift copies the whole backlog each time. */
  private buffered: (T | undefined)[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<T>) => void)[] = [];
  private done = false;
  private direct: ((value: T) => boolean) | undefined;
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
   * a value only while the reader waits in `next()` (so nothing is buffered and order is kept),
   * and returns false to have the value go the usual way. It saves a fan-out of thousands of
   * subscribers a chain of promises per subscriber per event.
   */
  takeDirectly(consumer: (value: T) => boolean): void {
    this.direct = consumer;
  }

  push(value: T): void {
    if (this.done) return;
    if (this.direct && this.waiting.length > 0 && this.direct(value)) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter({ value, done: false });
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
    for (const waiter of this.waiting.splice(0)) waiter({ value: undefined, done: true });
    this.releaseDrainWaiters();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buffered.length) {
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
      return Promise.resolve({ value, done: false });
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      // A new one-element array rather than a push onto the empty one, which would reserve room
      // for 17: a queue waits like this for most of its life, once per idle subscriber.
      if (this.waiting.length === 0) this.waiting = [resolve];
      else this.waiting.push(resolve);
    });
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
