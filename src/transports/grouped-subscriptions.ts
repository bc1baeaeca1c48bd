import { execute, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../resolvers/context.js';
import { canonicalJson } from '../domain/value-order.js';
import { accessScope, executeOncePerGroup, subscribeForQueue } from './shared-results.js';

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
 * access) share one execution per change, as they do over graphql-ws: the change queue is taken
 * over (subscribeForQueue) and the stream returned instead executes each event once per group.
 * yoga's masking and serialisation still apply to it.
 */
export function useGroupedSubscriptions(): Plugin {
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const context = args.contextValue as unknown as Context;
      // graphql-ws has taken the queue over already (src/transports/websocket.ts).
      if (context.onChangeStream) return;
      setSubscribeFn(async (subscribeArgs) => {
        const taken = await subscribeForQueue(context, async () => subscribeFn(subscribeArgs));
        if ('result' in taken) return taken.result;
        const groupKey = JSON.stringify([
          `document:${documentId(subscribeArgs.document)}`,
          subscribeArgs.operationName ?? null,
          canonicalJson(subscribeArgs.variableValues ?? {}),
          accessScope(context.auth),
        ]);
        return executeOncePerGroup(taken.queue, groupKey, (event) => execute({ ...subscribeArgs, rootValue: event }));
      });
    },
  };
}
