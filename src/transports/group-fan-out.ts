import type { ExecutionResult } from 'graphql';
import type { Counter, Metrics } from '../metrics.js';
import type { Auth } from '../resolvers/context.js';
import type { DirectTaker, QueueReader } from '../live/event-queue.js';
import { TurnWrites, type CorkableStream } from './turn-writes.js';

export type ExecuteEvent = (event: unknown) => ExecutionResult | Promise<ExecutionResult>;

/** The execution: its result at once when it ran synchronously, else the promise and, once settled, the result. */
interface SharedResult {
  pending?: Promise<ExecutionResult>;
  value?: ExecutionResult;
}

/** Where a subscription's `next` frames can be written directly, bypassing the transport's per-frame work. */
export interface FrameSink {
  /** False once the socket is closing: results then go back through the transport, which drops them. */
  readonly open: boolean;
  /** The socket's byte stream: its writes are held until the end of the turn (src/transports/turn-writes.ts). */
  readonly stream: CorkableStream | undefined;
  /**
   * Writes one `next` frame of this subscription with the group's JSON payload; returns a promise
   * only when the socket's buffer is over its high-water mark, to wait for before the next frame.
   */
  next(payloadJson: string): Promise<void> | undefined;
  /** Writes the frame only if the socket's buffer has room; false, with nothing written, if not. */
  tryNext(payloadJson: string): boolean;
}

/**
 * A subscriber's queue of events (src/live/event-queue.ts) as WrittenStream reads it: without a
 * promise per wait, and handing a value straight to a taker while the reader waits.
 */
export interface QueueSource {
  take(reader: QueueReader<unknown>): IteratorResult<unknown> | undefined;
  takeDirectly(taker: DirectTaker<unknown>): void;
  return(): Promise<unknown>;
}
export const isQueueSource = (source: object): source is QueueSource =>
  typeof (source as Partial<QueueSource>).take === 'function' && typeof (source as Partial<QueueSource>).takeDirectly === 'function';

/**
 * Commit → socket-write time of every `next` frame written here: from the change's `at` (the
 * statement's timestamp in the database, the same clock on one machine) to the frame's bytes
 * handed to the socket's stream, at the end of the turn that wrote it (src/transports/turn-writes.ts).
 * It is the server's own share of a delivery's latency, apart from the network and the
 * subscriber's process; the bench reads it beside end-to-end latency (and the floor keeps the
 * same histogram). One observation per frame: a clock read and a walk along the bounds.
 */
export const WRITE_DELAY_METRIC = 'paige_subscription_write_delay_seconds';
export const WRITE_DELAY_HELP = "Seconds from a change's statement timestamp to its next frame handed to a subscriber's socket";
export const WRITE_DELAY_BOUNDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

/** A group's result as written: its `next` payload's JSON and when its change was made (epoch ms, NaN if unknown). */
interface Payload {
  json: string;
  atMs: number;
}

/** The access a result may depend on: the admin sees what a key of the same project sees, but keep them apart. */
export const accessScope = (auth: Auth) => (auth.kind === 'admin' ? 'admin' : `project:${auth.projectId}`);

/**
 * Runs a change once per group of identical subscriptions (same document, operation, variables
 * and access), however many subscribers the group has. The hub builds ONE event object per change
 * and hands that same object to every subscriber whose filter it matches (src/live/change-hub.ts),
 * so the object itself identifies the change: per event, per group, the execution result and its
 * JSON are kept, weakly, so both are forgotten once the last subscriber's queue lets go of the
 * event. Items made for one subscriber alone (a replayed change, the error that ends a stream) are
 * never found again, and so are simply executed for that subscriber.
 */
export class GroupFanOut {
  private readonly resultsByEvent = new WeakMap<object, Map<string, SharedResult>>();
  private readonly payloads = new WeakMap<ExecutionResult, Payload>();
  /** The `at` (epoch ms) of the change each shared result was executed for. */
  private readonly changeTimes = new WeakMap<ExecutionResult, number>();
  private readonly counters: { executions: Counter; serialisations: Counter; directWrites: Counter };
  /** Each socket's frames of one turn in one write; counts their commit → socket-write time. */
  private readonly turn: TurnWrites;
  /**
   * One copy of each group key, however many subscriptions share it (the key holds the document
   * and variables: a few hundred bytes per idle subscription otherwise), with how many use it.
   */
  private readonly groupKeys = new Map<string, { key: string; users: number }>();

  constructor(metrics: Metrics) {
    this.counters = {
      executions: metrics.counter('paige_subscription_executions_total', 'Change events executed against a selection set (once per group of identical subscriptions)'),
      serialisations: metrics.counter('paige_subscription_serialisations_total', 'Results of change events turned into JSON (once per group)'),
      directWrites: metrics.counter('paige_subscription_direct_writes_total', "Frames written straight from the hub's dispatch, without a promise per subscriber"),
    };
    this.turn = new TurnWrites(metrics.histogram(WRITE_DELAY_METRIC, WRITE_DELAY_HELP, WRITE_DELAY_BOUNDS));
  }

  /**
   * A subscription's results, executed once per event per group: `source` is the subscriber's own
   * queue of events (so its filter, `since` replay, order and lag limit stay its own), and every
   * subscriber of the group pulling the same event gets the same ExecutionResult object.
   */
  executeOncePerGroup(source: AsyncIterator<unknown>, groupKey: string, execute: ExecuteEvent): AsyncIterableIterator<ExecutionResult> {
    return new SharedStream(this, source, this.internKey(groupKey), execute);
  }

  /**
   * Like executeOncePerGroup, but a result without errors is written by the subscription itself
   * into `sink` (same bytes, same order) instead of being handed back to the transport, whose
   * per-frame chain of promises, hooks, message validation and stringify costs more than the
   * write. The transport still starts, completes and ends the subscription: its loop waits in
   * `next()` until the stream ends or a result with errors (CURSOR_EXPIRED) comes, which it sends
   * itself.
   */
  writeOncePerGroup(queue: QueueSource, groupKey: string, execute: ExecuteEvent, sink: FrameSink): AsyncIterableIterator<ExecutionResult> {
    const stream = new WrittenStream(this, queue, this.internKey(groupKey), execute, sink);
    // While the stream waits for an event, the queue hands the next one here instead: the group's
    // result (executed once, synchronously) is written at once, with no promise per subscriber.
    // Anything else (no room in the socket, an error, an async execution) goes the reader's way,
    // and the queue keeps the order.
    queue.takeDirectly(stream);
    return stream;
  }

  private internKey(groupKey: string): string {
    const entry = this.groupKeys.get(groupKey);
    if (entry) return entry.users++, entry.key;
    this.groupKeys.set(groupKey, { key: groupKey, users: 1 });
    return groupKey;
  }

  /** A stream of the group ended (once per stream). */
  releaseKey(groupKey: string): void {
    const entry = this.groupKeys.get(groupKey);
    if (entry && --entry.users === 0) this.groupKeys.delete(groupKey);
  }

  /** Writes a result's frame into `sink` (`tryOnly`: only if the socket has room); counts its commit → write time. */
  write(result: ExecutionResult, sink: FrameSink, tryOnly: true): boolean;
  write(result: ExecutionResult, sink: FrameSink, tryOnly: false): Promise<void> | undefined;
  write(result: ExecutionResult, sink: FrameSink, tryOnly: boolean): boolean | Promise<void> | undefined {
    const payload = this.payloadOf(result);
    this.turn.hold(sink.stream);
    if (tryOnly) {
      if (!sink.tryNext(payload.json)) return false;
      this.counters.directWrites.inc();
      this.turn.written(payload.atMs);
      return true;
    }
    const full = sink.next(payload.json);
    this.turn.written(payload.atMs);
    return full;
  }

  /** The `next` payload of a result as JSON (graphql-ws's own serialisation), made once however many sockets send it. */
  private payloadOf(result: ExecutionResult): Payload {
    let payload = this.payloads.get(result);
    if (payload === undefined) {
      this.counters.serialisations.inc();
      const { errors, ...rest } = result;
      const json = JSON.stringify(errors ? { ...rest, errors: errors.map((error) => error.toJSON()) } : rest);
      this.payloads.set(result, (payload = { json, atMs: this.changeTimes.get(result) ?? Number.NaN }));
    }
    return payload;
  }

  /** The group's result for this event: executed by the first subscriber of the group to pull it. */
  resultFor(event: unknown, groupKey: string, execute: ExecuteEvent): ExecutionResult | Promise<ExecutionResult> {
    if (typeof event !== 'object' || event === null) {
      const own = run(execute, event);
      return own.value ?? own.pending!;
    }
    let byGroup = this.resultsByEvent.get(event);
    if (!byGroup) this.resultsByEvent.set(event, (byGroup = new Map()));
    let shared = byGroup.get(groupKey);
    if (!shared) {
      this.counters.executions.inc();
      byGroup.set(groupKey, (shared = run(execute, event)));
      const at = (event as { at?: unknown }).at;
      const atMs = typeof at === 'string' ? Date.parse(at) : Number.NaN;
      if (shared.value) this.changeTimes.set(shared.value, atMs);
      else void shared.pending!.then((value) => this.changeTimes.set(value, atMs), () => {});
    }
    return shared.value ?? shared.pending!;
  }
}

/*
 * The two streams below are classes, not objects of closures: a subscription keeps one of each
 * for its whole life, and methods on a prototype cost an idle subscription nothing (issue 16:
 * memory per idle subscription).
 */

/** A subscriber's events as the group's shared results (executeOncePerGroup). */
class SharedStream implements AsyncIterableIterator<ExecutionResult> {
  private finished: Promise<unknown> | undefined;
  constructor(
    private readonly fanOut: GroupFanOut,
    private readonly source: AsyncIterator<unknown>,
    readonly groupKey: string,
    readonly execute: ExecuteEvent,
  ) {}

  private finish(): Promise<unknown> {
    if (!this.finished) this.fanOut.releaseKey(this.groupKey);
    return (this.finished ??= Promise.resolve(this.source.return?.()).catch(() => {}));
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const item = await this.source.next();
    if (item.done) {
      await this.finish();
      return { value: undefined, done: true };
    }
    const result = this.fanOut.resultFor(item.value, this.groupKey, this.execute);
    return { value: 'then' in result ? await result : result, done: false };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.finish();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }
}

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true });

/**
 * A subscriber's stream whose results without errors are written into its sink (writeOncePerGroup).
 * No async functions: while it waits, what it keeps is the transport's pending next() (one promise,
 * its resolve held here) and its place among the queue's waiting readers, where an async function
 * per level would keep a frame, a promise and two closures each for the subscription's life.
 */
class WrittenStream implements AsyncIterableIterator<ExecutionResult>, QueueReader<unknown>, DirectTaker<unknown> {
  private stopped = false;
  private finished: Promise<unknown> | undefined;
  /** Resolves the transport's pending next(); undefined when none is pending. */
  private settle: ((result: IteratorResult<ExecutionResult> | Promise<never>) => void) | undefined;
  constructor(
    private readonly fanOut: GroupFanOut,
    private readonly source: QueueSource,
    private readonly groupKey: string,
    private readonly execute: ExecuteEvent,
    private readonly sink: FrameSink,
  ) {}

  /** The queue's direct hand-over: true when the event's frame was written. */
  takeDirectly(event: unknown): boolean {
    if (this.stopped || !this.sink.open) return false;
    try {
      const result = this.fanOut.resultFor(event, this.groupKey, this.execute);
      if ('then' in result || result.errors) return false;
      return this.fanOut.write(result, this.sink, true);
    } catch {
      return false;
    }
  }

  /**
   * Resolves only with what the transport must send itself (a result with errors, or one the
   * socket can no longer take) or the end; every other result is written here meanwhile.
   */
  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.stopped) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.settle = resolve;
      this.pull();
    });
  }

  /** Takes events while the queue has them and each is written; waits in the queue otherwise. */
  private pull(): void {
    for (;;) {
      const item = this.source.take(this);
      if (item === undefined || !this.handle(item)) return;
    }
  }

  /** The queue's next event, handed over as it was pushed while this stream waited. */
  deliver(item: IteratorResult<unknown>): void {
    if (this.handle(item)) this.pull();
  }

  /** One item of the queue: true when its frame was written and the next can be taken. */
  private handle(item: IteratorResult<unknown>): boolean {
    // Ended while waiting (the transport's return(): client `complete`, socket closed): nothing more for this id.
    if (this.stopped) return this.answer(DONE);
    if (item.done) {
      void this.finish().then(() => this.answer(DONE));
      return false;
    }
    let result;
    try {
      result = this.fanOut.resultFor(item.value, this.groupKey, this.execute);
    } catch (error) {
      return this.fail(error);
    }
    if (!('then' in result)) return this.written(result);
    result.then(
      (settled) => this.written(settled) && this.pull(),
      (error: unknown) => this.fail(error),
    );
    return false;
  }

  /** A result: written into the sink (true: take the next), or handed to the transport. */
  private written(result: ExecutionResult): boolean {
    if (this.stopped) return this.answer(DONE);
    if (result.errors || !this.sink.open) return this.answer({ value: result, done: false });
    const full = this.fanOut.write(result, this.sink, false);
    if (!full) return true;
    void full.then(() => this.pull());
    return false;
  }

  /** Resolves the pending next() with `result`; false, for handle's callers. */
  private answer(result: IteratorResult<ExecutionResult>): false {
    const settle = this.settle;
    this.settle = undefined;
    settle?.(result);
    return false;
  }

  /** Rejects the pending next() (the transport sends the error and forgets the id) and leaves the queue. */
  private fail(error: unknown): false {
    this.stopped = true;
    void this.finish();
    const settle = this.settle;
    this.settle = undefined;
    settle?.(Promise.reject(error));
    return false;
  }

  private finish(): Promise<unknown> {
    if (!this.finished) this.fanOut.releaseKey(this.groupKey);
    return (this.finished ??= this.source.return().catch(() => {}));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    // The transport forgets the id first (client `complete`, socket closed): write nothing more for it.
    this.stopped = true;
    return this.finish().then(() => DONE);
  }

  throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.stopped = true;
    return this.finish().then(() => Promise.reject(error));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }
}

/** Runs one execution. A result that came synchronously stays a plain value, so it can be written at once. */
function run(execute: ExecuteEvent, event: unknown): SharedResult {
  let result: ExecutionResult | Promise<ExecutionResult>;
  try {
    result = execute(event);
  } catch (error) {
    const pending = Promise.reject(error);
    pending.catch(() => {}); // rejected for whoever awaits it, not unhandled
    return { pending };
  }
  if (!('then' in result)) return { value: result };
  const entry: SharedResult = { pending: result };
  result.then((value) => (entry.value = value), () => {});
  return entry;
}
