import type { ExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import type { Auth, Context } from '../resolvers/context.js';

/**
 * Counters for tests and the benchmark: how many times a change event was executed against a
 * selection set, and how many `next` payloads were turned into JSON. With grouping both grow by
 * the number of groups per event, not by the number of subscribers. directWrites counts frames
 * written straight from the hub's dispatch (no promise per subscriber).
 */
export const sharedResultStats = { executions: 0, serialisations: 0, directWrites: 0 };

/**
 * The hub builds ONE event object per change and hands that same object to every subscriber whose
 * filter it matches (src/live/change-hub.ts). So the object itself identifies the change: per event,
 * per group of identical subscriptions, the execution result is kept here. Weak, so an event and its
 * results are forgotten once the last subscriber's queue has let go of it. Items made for one
 * subscriber alone (a replayed change, the error that ends a stream) are never found again, and so
 * are simply executed for that subscriber.
 */
const resultsByEvent = new WeakMap<object, Map<string, SharedResult>>();

/** The execution: its result at once when it ran synchronously, else the promise and, once settled, the result. */
interface SharedResult {
  pending?: Promise<ExecutionResult>;
  value?: ExecutionResult;
}

/** The `next` payload of a result as JSON, made once however many sockets send it. */
const payloadJson = new WeakMap<ExecutionResult, string>();

export type ExecuteEvent = (event: unknown) => ExecutionResult | Promise<ExecutionResult>;

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

function resultFor(event: unknown, groupKey: string, execute: ExecuteEvent): ExecutionResult | Promise<ExecutionResult> {
  if (typeof event !== 'object' || event === null) {
    const own = run(execute, event);
    return own.value ?? own.pending!;
  }
  let byGroup = resultsByEvent.get(event);
  if (!byGroup) resultsByEvent.set(event, (byGroup = new Map()));
  let shared = byGroup.get(groupKey);
  if (!shared) {
    sharedResultStats.executions++;
    byGroup.set(groupKey, (shared = run(execute, event)));
  }
  return shared.value ?? shared.pending!;
}

/**
 * A subscription's results, executed once per event per group: `source` is the subscriber's own
 * queue of events (so its filter, `since` replay, order and lag limit stay its own), and every
 * subscriber of the group pulling the same event gets the same ExecutionResult object.
 */
export function executeOncePerGroup(source: AsyncIterator<unknown>, groupKey: string, execute: ExecuteEvent): AsyncIterableIterator<ExecutionResult> {
  let finished: Promise<unknown> | undefined;
  const finish = () => (finished ??= Promise.resolve(source.return?.()).catch(() => {}));
  return {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      const item = await source.next();
      if (item.done) {
        await finish();
        return { value: undefined, done: true };
      }
      const result = resultFor(item.value, groupKey, execute);
      return { value: 'then' in result ? await result : result, done: false };
    },
    async return(): Promise<IteratorResult<ExecutionResult>> {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Where a subscription's `next` frames can be written directly, bypassing graphql-ws's per-frame work. */
export interface FrameSink {
  /** False once the socket is closing: results then go back through graphql-ws, which drops them. */
  readonly open: boolean;
  /**
   * Writes one `next` frame of this subscription with the group's JSON payload; returns a promise
   * only when the socket's buffer is over its high-water mark, to wait for before the next frame.
   */
  next(payloadJson: string): Promise<void> | undefined;
  /** Writes the frame only if the socket's buffer has room; false, with nothing written, if not. */
  tryNext(payloadJson: string): boolean;
}

/** A source that can hand a value straight to a consumer while its reader waits (src/live/event-queue.ts). */
interface DirectSource {
  takeDirectly(consumer: (value: unknown) => boolean): void;
}
const isDirectSource = (source: object): source is DirectSource => typeof (source as Partial<DirectSource>).takeDirectly === 'function';

/**
 * Like executeOncePerGroup, but a result without errors is written by the subscription itself as
 * graphql-ws's `next` frame (same bytes, same order) instead of being handed to graphql-ws, whose
 * per-frame chain of promises, hook, message validation and stringify costs more than the write.
 * graphql-ws still starts, completes and ends the subscription: its loop waits in `next()` until
 * the stream ends or a result with errors (CURSOR_EXPIRED) comes, which it sends itself.
 */
export function writeOncePerGroup(source: AsyncIterator<unknown>, groupKey: string, execute: ExecuteEvent, sink: FrameSink): AsyncIterableIterator<ExecutionResult> {
  let stopped = false;
  const shared = executeOncePerGroup(source, groupKey, execute);
  if (isDirectSource(source)) {
    // While the loop below waits for an event, the queue hands the next one here instead: the
    // group's result (executed once, synchronously) is written at once, with no promise per
    // subscriber. Anything else (no room in the socket, an error, an async execution) goes the
    // loop's way, and the queue keeps the order.
    source.takeDirectly((event) => {
      if (stopped || !sink.open) return false;
      try {
        const result = resultFor(event, groupKey, execute);
        if ('then' in result || result.errors) return false;
        const written = sink.tryNext(serialisedPayload(result));
        if (written) sharedResultStats.directWrites++;
        return written;
      } catch {
        return false;
      }
    });
  }
  return {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      for (;;) {
        const item = await shared.next();
        // Ended while an execution was pending: nothing more for this id, not even that result.
        if (stopped) return { value: undefined, done: true };
        if (item.done) return item;
        if (item.value.errors || !sink.open) return item;
        const full = sink.next(serialisedPayload(item.value));
        if (full) await full;
      }
    },
    return(): Promise<IteratorResult<ExecutionResult>> {
      // graphql-ws forgets the id first (client `complete`, socket closed): write nothing more for it.
      stopped = true;
      return shared.return!();
    },
    throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
      stopped = true;
      return shared.throw!(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * An error as yoga writes it over HTTP (result-processor/stringify.js): without the `http` (status)
 * and `unexpected` (masked) extensions, which are yoga's own bookkeeping, so a client reads the
 * same error over every transport.
 */
function publicError(error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  if (!formatted.extensions) return formatted;
  const { http: _http, unexpected: _unexpected, ...extensions } = formatted.extensions;
  const { extensions: _all, ...rest } = formatted;
  return Object.keys(extensions).length ? { ...rest, extensions } : rest;
}

/** What graphql-ws itself would send as the payload of `next` (its default, without a replacer), errors as over HTTP. */
export function serialisedPayload(result: ExecutionResult): string {
  let json = payloadJson.get(result);
  if (json === undefined) {
    sharedResultStats.serialisations++;
    const { errors, ...rest } = result;
    json = JSON.stringify(errors ? { ...rest, errors: errors.map(publicError) } : rest);
    payloadJson.set(result, json);
  }
  return json;
}

/** The access a result may depend on: the admin sees what a key of the same project sees, but keep them apart. */
export const accessScope = (auth: Auth) => (auth.kind === 'admin' ? 'admin' : `project:${auth.projectId}`);

/**
 * Runs a subscription's subscribe (the resolver: access, filter, cursor, joining the hub; the
 * plugins, with their error masking) and takes its change queue over, for a transport that
 * executes the events once per group itself. The resolver hands graphql-js a stand-in instead of
 * the queue, and graphql's own stream of results over it, which would execute per subscriber and
 * is never read, is ended at once: its plugins' clean-up runs and its wrappers (~25 closures a
 * subscription) are freed. Returns the queue, or what subscribe returned when it opened none.
 */
export async function subscribeForQueue<R>(context: Context, subscribe: () => Promise<R>): Promise<{ queue: AsyncIterableIterator<unknown> } | { result: R }> {
  let queue: AsyncIterableIterator<unknown> | undefined;
  context.onChangeStream = <T,>(stream: AsyncIterableIterator<T>) => {
    queue = stream as AsyncIterableIterator<unknown>;
    return standIn<T>();
  };
  const result = await subscribe();
  if (!queue) return { result };
  if (!isAsyncIterable(result)) {
    await queue.return?.();
    return { result };
  }
  await Promise.resolve(result[Symbol.asyncIterator]().return?.()).catch(() => {});
  return { queue };
}

/** An empty stream: ending graphql's stream of results over it leaves the change queue alone. */
function standIn<T>(): AsyncIterableIterator<T> {
  const done = (): Promise<IteratorResult<T>> => Promise.resolve({ value: undefined, done: true });
  return {
    next: done,
    return: done,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
