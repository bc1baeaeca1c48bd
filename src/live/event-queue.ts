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
  /*
   * Every array is made when first needed: a queue waits, empty, with one reader, for most of its
   * life, once per idle subscriber (issue 16: memory per idle subscription).
   */
  /** Values not yet taken are buffered[head…]: Array#shift copies the whole backlog each time. */
  private buffered: (T | undefined)[] | undefined;
  private head = 0;
  /** The reader waiting for the next value, then any more in order (only if next() is called again before it settles). */
  private waiter: Waiter<T> | undefined;
  private moreWaiters: Waiter<T>[] | undefined;
  private done = false;
  private direct: DirectTaker<T> | undefined;
  /** Producers waiting for the reader to take values (whenAtMost), each with its threshold. */
  private drainWaiters: { atMost: number; resolve: () => void }[] | undefined;

  /**
   * @param onReturn called once when the consumer stops (unsubscribe, socket closed) or the
   *   queue is ended, so the producer can forget this queue.
   */
  constructor(private readonly onReturn: () => void) {}

  get size(): number {
    return (this.buffered?.length ?? 0) - this.head;
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
    if (this.direct && this.waiter && this.direct.takeDirectly(value)) return;
    const waiter = this.nextWaiter();
    if (waiter) settle(waiter, { value, done: false });
    else (this.buffered ??= []).push(value);
  }

  /**
   * Resolves once at most `atMost` values wait to be taken, or the queue has ended: a producer
   * that can wait (a replay) pushes no faster than its consumer reads.
   */
  whenAtMost(atMost: number): Promise<void> {
    if (this.done || this.size <= atMost) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push({ atMost, resolve }));
  }

  private releaseDrainWaiters(): void {
    if (!this.drainWaiters) return;
    const size = this.size;
    const ready = this.drainWaiters.filter((waiter) => this.done || size <= waiter.atMost);
    if (ready.length === 0) return;
    const left = this.drainWaiters.filter((waiter) => !ready.includes(waiter));
    this.drainWaiters = left.length > 0 ? left : undefined;
    for (const waiter of ready) waiter.resolve();
  }

  /** No more values: the consumer gets what is buffered, then the end. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.onReturn();
    for (let waiter = this.nextWaiter(); waiter; waiter = this.nextWaiter()) settle(waiter, { value: undefined, done: true });
    this.releaseDrainWaiters();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) return Promise.resolve({ value: this.shiftBuffered(), done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.wait(resolve));
  }

  /**
   * Like next(), without a promise: the next value (or the end) at once if there is one, else
   * undefined, and `reader.deliver` gets the next value synchronously when it is pushed.
   */
  take(reader: QueueReader<T>): IteratorResult<T> | undefined {
    if (this.size > 0) return { value: this.shiftBuffered(), done: false };
    if (this.done) return { value: undefined, done: true };
    this.wait(reader);
    return undefined;
  }

  private wait(waiter: Waiter<T>): void {
    if (!this.waiter) this.waiter = waiter;
    else (this.moreWaiters ??= []).push(waiter);
  }

  private nextWaiter(): Waiter<T> | undefined {
    const waiter = this.waiter;
    this.waiter = this.moreWaiters?.shift();
    if (this.moreWaiters?.length === 0) this.moreWaiters = undefined;
    return waiter;
  }

  /** The oldest buffered value, taken (size > 0). */
  private shiftBuffered(): T {
    const buffered = this.buffered!;
    const value = buffered[this.head] as T;
    buffered[this.head++] = undefined;
    if (this.head === buffered.length) {
      this.buffered = undefined;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= buffered.length) {
      // Drop the taken prefix once it is half the array: amortised O(1) per value.
      this.buffered = buffered.slice(this.head);
      this.head = 0;
    }
    this.releaseDrainWaiters();
    return value;
  }

  return(): Promise<IteratorResult<T>> {
    this.direct = undefined;
    this.buffered = undefined;
    this.head = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
