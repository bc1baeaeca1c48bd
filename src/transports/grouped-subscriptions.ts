import { execute, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../resolvers/context.js';
import { canonicalJson } from '../live/change-events.js';
import { accessScope, executeOncePerGroup, isAsyncIterable, standIn } from './shared-results.js';

/** A number per parsed document: yoga's parser cache hands the same object for the same text. */
const documentIds = new WeakMap<DocumentNode, number>();
let lastDocumentId = 0;
const documentId = (document: DocumentNode) => {
  let id = documentIds.get(document);
  if (id === undefined) documentIds.set(document, (id = ++lastDocumentId));
  return id;
};

/**
 * Subscriptions that yoga serves itself (SSE): identical ones (document, operation, variables,
 * access) share one execution per change, as they do over graphql-ws. The resolver's change queue
 * is taken through `onChangeStream`; graphql's own stream of results runs over a stand-in and is
 * ended at once; the stream returned instead executes each event once per group. yoga's masking
 * and serialisation still apply to it. graphql-ws sets `onChangeStream` itself and is left alone.
 */
export function useGroupedSubscriptions(): Plugin {
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const context = args.contextValue as unknown as Context;
      if (context.onChangeStream) return;
      let source: AsyncIterableIterator<unknown> | undefined;
      context.onChangeStream = <T,>(stream: AsyncIterableIterator<T>) => {
        source = stream as AsyncIterableIterator<unknown>;
        return standIn<T>();
      };
      setSubscribeFn(async (subscribeArgs) => {
        const result = await subscribeFn(subscribeArgs);
        if (!source) return result;
        if (!isAsyncIterable(result)) {
          await source.return?.();
          return result;
        }
        await Promise.resolve(result[Symbol.asyncIterator]().return?.()).catch(() => {});
        const groupKey = JSON.stringify([
          `document:${documentId(subscribeArgs.document)}`,
          subscribeArgs.operationName ?? null,
          canonicalJson(subscribeArgs.variableValues ?? {}),
          accessScope(context.auth),
        ]);
        return executeOncePerGroup(source, groupKey, (event) => execute({ ...subscribeArgs, rootValue: event }));
      });
    },
  };
}
