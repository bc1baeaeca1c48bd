import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

/** Receives the events of one subscription. */
export interface SubscriptionSink<T> {
  next(data: T): void;
  error(error: Error): void;
}

/**
 * What the helpers run on: a typed operation in, its `data` out, errors as DbServicesError. The
 * helpers do not know whether it is `execute` in this process or HTTP to a server.
 */
export interface Transport {
  readonly kind: 'in-process' | 'remote';
  /** The project every operation is scoped to (remote: asked of the server once when not configured). */
  projectId(): Promise<string>;
  execute<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V): Promise<R>;
  /** Starts a subscription; the returned function ends it. Errors go to the sink. */
  subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V, sink: SubscriptionSink<R>): () => void;
  close(): Promise<void>;
}

/**
 * Starts a subscription once `ready` resolves (a transport loaded, a project id known) and returns
 * its stop function at once: stopping before then means it never starts. A rejection goes to `fail`.
 */
export function subscribeWhenReady<T>(ready: Promise<T>, start: (value: T) => () => void, fail: (error: unknown) => void): () => void {
  let stop: (() => void) | undefined;
  let stopped = false;
  ready.then((value) => {
    if (!stopped) stop = start(value);
  }, fail);
  return () => {
    stopped = true;
    stop?.();
  };
}
