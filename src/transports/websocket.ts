import type { Server } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { YogaLogger, YogaServerInstance } from 'graphql-yoga';
import type { AppServices, Auth, Context } from '../resolvers/context.js';
import { authenticate } from '../resolvers/auth.js';
import { existingApiKeyIds } from '../db/api-keys.js';
import { QUERY_LIMITS } from '../query-limits.js';
import { DomainError } from '../errors.js';
import { canonicalJson } from '../live/change-events.js';
import { FanOutSocket, PreSerialisedPayload } from './fan-out-socket.js';
import { accessScope, serialisedPayload, subscribeForQueue, writeOncePerGroup } from './shared-results.js';

/** What yoga's context factory receives for a WebSocket operation. */
export interface WebSocketInitialContext {
  connectionParams?: Record<string, unknown>;
  req?: IncomingMessage;
}

export interface WebSocketOptions {
  /** How long a socket may stay open without `connection_init`. @default 3000 */
  connectionInitWaitTimeout?: number;
  /**
   * How often the API keys of open sockets are checked again, in ms. A socket whose key was
   * revoked (or whose project was deleted), in this process or another, is closed with 4403,
   * which ends its subscriptions. @default 2000
   */
  keyRecheckInterval?: number;
  /** Operations one socket may have running at once; more are refused with BAD_USER_INPUT. @default 100 */
  maxOperationsPerSocket?: number;
  /** yoga's `maskedErrors.maskError`, for the errors of events executed here rather than by yoga. */
  maskError?: MaskError;
}

type MaskError = (error: unknown, message: string, isDev?: boolean) => Error;

/**
 * What yoga's masking does to a subscription's results: every error through maskError, and one
 * that masking changed to yoga's logger, which decides how loud it is (see server.ts).
 */
function maskResult(result: ExecutionResult, maskError: MaskError, logger: YogaLogger): ExecutionResult {
  if (!result.errors) return result;
  const errors = result.errors.map((error) => {
    const masked = maskError(error, 'Unexpected error.') as GraphQLError;
    if (masked !== error) logger.error(error);
    return masked;
  });
  return { ...result, errors };
}

/** Close code and reason for a socket whose key no longer exists (as for a bad token on connect). */
// A key disappears when it is revoked and when its project is deleted; the socket cannot tell which.
const REVOKED = { code: 4403, reason: 'Forbidden: the API key was revoked or its project deleted' } as const;

type Enveloped = ReturnType<YogaServerInstance<WebSocketInitialContext, Context>['getEnveloped']>;
interface RootValue {
  execute: Enveloped['execute'];
  subscribe: Enveloped['subscribe'];
  /**
   * Identical subscriptions (same document, operation and variables, seen with the same access)
   * get identical results for the same event: they share one execution per event.
   */
  groupKey: string;
  /** Where, and under which id, the subscription's frames go. */
  socket: FanOutSocket;
  id: string;
}


/**
 * graphql-ws on `/graphql`, running every operation through yoga's envelop (the same parsing,
 * validation, query limits, error masking and context as HTTP), as in yoga's graphql-ws example.
 * The token is checked on connect and again, through the context factory, on every subscribe.
 */
export function attachGraphqlWs(
  http: Server,
  yoga: YogaServerInstance<WebSocketInitialContext, Context>,
  services: AppServices,
  options: WebSocketOptions = {},
) {
  const maskError = options.maskError ?? ((error: unknown) => (error instanceof GraphQLError ? error : new GraphQLError('Unexpected error.')));
  // maxPayload: the same bound as an HTTP body; ws would otherwise buffer messages of up to 100 MiB.
  // FanOutSocket: one JSON per group for every socket, and no wait for each frame's write.
  const wsServer = new WebSocketServer({ server: http, path: '/graphql', maxPayload: QUERY_LIMITS.maxBodyBytes, WebSocket: FanOutSocket });
  /** Sockets authenticated with a project key, and the key's id. */
  const keyed = new Map<WebSocket, string>();
  const graphqlWs = useServer<Record<string, unknown> | undefined, { auth?: Auth; request: IncomingMessage }>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3_000,
      onConnect: async (ctx) => {
        try {
          const auth = await authenticate(services, ctx.connectionParams?.authorization);
          ctx.extra.auth = auth;
          if (auth.kind === 'project') {
            const socket = ctx.extra.socket;
            keyed.set(socket, auth.keyId);
            socket.once('close', () => keyed.delete(socket));
          }
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      execute: (args) => (args.rootValue as RootValue).execute(args),
      subscribe: async (args) => {
        const root = args.rootValue as RootValue;
        // The resolver runs for this subscriber as before; only the per-event execution is shared.
        const taken = await subscribeForQueue(args.contextValue as Context, async () => root.subscribe(args));
        if ('result' in taken) return taken.result;
        // The spec's ExecuteSubscriptionEvent, as graphql's own subscribe maps each event (envelop's
        // execute would start another subscription for a subscription operation), masked like yoga.
        const { socket, id } = root;
        return writeOncePerGroup(
          taken.queue,
          root.groupKey,
          (event) => {
            // Synchronous when every resolver is (a RowChange's are): the result can be written at once.
            const result = execute({ ...args, rootValue: event });
            return 'then' in result ? result.then((settled) => maskResult(settled, maskError, yoga.logger)) : maskResult(result, maskError, yoga.logger);
          },
          {
            get open() {
              return socket.readyState === FanOutSocket.OPEN;
            },
            next: (json) => socket.sendNext(id, json),
            tryNext: (json) => socket.trySendNext(id, json),
          },
        );
      },
      onNext: (ctx, _id, _payload, _args, result) =>
        // Typed as the message payload; graphql-ws only stringifies it (see PreSerialisedPayload).
        new PreSerialisedPayload(ctx.extra.socket as FanOutSocket, serialisedPayload(result)) as unknown as typeof result,
      onSubscribe: async (ctx, id, params) => {
        // graphql-ws has already registered this operation's id: it counts itself.
        const limit = options.maxOperationsPerSocket ?? 100;
        if (Object.keys(ctx.subscriptions).length > limit) {
          return [new DomainError('BAD_USER_INPUT', `at most ${limit} operations can run at once on one socket; complete some first`)];
        }
        const enveloped = yoga.getEnveloped({ connectionParams: ctx.connectionParams ?? {}, req: ctx.extra.request });
        let document;
        try {
          document = enveloped.parse(params.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors;
        } catch (error) {
          // Syntax errors, and graphql-armor's limits, which throw from parse and validate.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        let contextValue;
        try {
          // Authenticates the token again: a key revoked since connect is refused here.
          contextValue = await enveloped.contextFactory();
        } catch (error) {
          if (error instanceof DomainError) return [error];
          throw error;
        }
        const rootValue: RootValue = {
          execute: enveloped.execute,
          subscribe: enveloped.subscribe,
          groupKey: JSON.stringify([params.query, params.operationName ?? null, canonicalJson(params.variables ?? {}), accessScope(contextValue.auth)]),
          socket: ctx.extra.socket as FanOutSocket,
          id,
        };
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue,
          rootValue,
        };
        return args;
      },
    },
    wsServer,
  );

  let rechecking = false;
  async function recheckKeys() {
    // One at a time: a slow database must not pile rechecks up in the pool.
    if (keyed.size === 0 || rechecking) return;
    rechecking = true;
    try {
      const asked = new Set(keyed.values());
      const live = await existingApiKeyIds(services.db.pool, [...asked]);
      for (const [socket, keyId] of keyed) {
        // A socket that connected while the query ran was not asked about: the next round checks it.
        if (live.has(keyId) || !asked.has(keyId)) continue;
        keyed.delete(socket);
        socket.close(REVOKED.code, REVOKED.reason);
      }
    } catch (error) {
      // Postgres unreachable: keep the sockets; the next round checks again.
      services.log.warn(`checking the API keys of open sockets failed: ${String(error)}`);
    } finally {
      rechecking = false;
    }
  }
  const recheck = setInterval(() => void recheckKeys(), options.keyRecheckInterval ?? 2_000);
  recheck.unref();

  return {
    wsServer,
    async close() {
      clearInterval(recheck);
      await graphqlWs.dispose();
      for (const socket of wsServer.clients) socket.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
