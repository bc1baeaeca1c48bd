import { createSourceEventStream, execute, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { canonicalJson } from '../domain/value-order.js';
import type { Context } from '../resolvers/context.js';
import { accessScope, type GroupFanOut } from './group-fan-out.js';

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
 * access) share one execution per change, as they do over graphql-ws. The subscribe function is
 * replaced through envelop's documented hook: graphql-js's own createSourceEventStream runs the
 * resolver (access, filter, cursor, joining the hub) and hands back the subscriber's queue, whose
 * events are executed once per group. yoga's masking and serialisation still apply to the results.
 */
export function useSseGroups(fanOut: GroupFanOut): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const context = args.contextValue as unknown as Context;
      setSubscribeFn(async (subscribeArgs) => {
        const source = await createSourceEventStream(subscribeArgs);
        if (!(Symbol.asyncIterator in source)) return source;
        const groupKey = JSON.stringify([
          `document:${documentId(subscribeArgs.document)}`,
          subscribeArgs.operationName ?? null,
          canonicalJson(subscribeArgs.variableValues ?? {}),
          accessScope(context.auth),
        ]);
        return fanOut.executeOncePerGroup(source[Symbol.asyncIterator](), groupKey, (event) => execute({ ...subscribeArgs, rootValue: event }));
      });
    },
  };
}
