import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type Server as WsServer } from 'ws';
import { handleProtocols, type Context as WsContext } from 'graphql-ws';
import { createSourceEventStream, execute, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { Queryable } from '../db/pool.js';
import { DomainError } from '../domain/errors.js';
import { canonicalJson } from '../domain/value-order.js';
import type { Authenticator } from '../resolvers/auth.js';
import type { Auth, Context } from '../resolvers/context.js';
import { publicError, toGraphQLError, type MaskError } from '../schema/errors.js';
import { QUERY_LIMITS } from './query-limits.js';
import { accessScope, isQueueSource, type ExecuteEvent, type GroupFanOut } from './group-fan-out.js';
import { KeyWatch } from './ws-key-watch.js';
import { wsFrameSink } from './ws-frame-sink.js';
import { GraphqlWsSocket, serveGraphqlWs, type SocketExtra } from './graphql-ws-server.js';

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
  /** How often every socket is pinged, in ms; one that has not answered the last ping is terminated. @default 12000 */
  keepAliveInterval?: number;
}

export interface GraphqlWsDeps {
  yoga: YogaServerInstance<WebSocketInitialContext, Context>;
  authenticate: Authenticator;
  /** For the periodic recheck of the sockets' API keys. */
  pg: Queryable;
  log: Logger;
  fanOut: GroupFanOut;
  maskError: MaskError;
  /**
   * A context for executing one change event of a subscription: made per execution, for the
   * subscription's access, so a subscription keeps no operation context (loaders, memo, request)
   * for its whole life.
   */
  eventContext: (auth: Auth) => Context;
}

type Enveloped = ReturnType<GraphqlWsDeps['yoga']['getEnveloped']>;
type SocketContext = WsContext<Record<string, unknown> | undefined, SocketExtra>;

/**
 * What one operation's execution needs beyond its arguments, carried as its rootValue from
 * onSubscribe to execute/subscribe, as in yoga's graphql-ws recipe.
 */
interface OperationRoot {
  execute: Enveloped['execute'];
  /**
   * Identical subscriptions (same document, operation and variables, seen with the same access)
   * get identical results for the same event: they share one execution per event.
   */
  groupKey: string;
  socket: GraphqlWsSocket;
  id: string;
}

/**
 * graphql-ws on `/graphql`, running every operation through yoga's envelop (the same parsing,
 * validation, query limits and context as HTTP) and the server's one error policy. The token is
 * checked on connect and again, through the context factory, on every subscribe; sockets with a
 * project key are rechecked periodically (KeyWatch).
 */
export function attachGraphqlWs(http: Server, deps: GraphqlWsDeps, options: WebSocketOptions = {}) {
  // maxPayload: the same bound as an HTTP body; ws would otherwise buffer messages of up to 100 MiB.
  const wsServer = new WebSocketServer({ noServer: true, path: '/graphql', maxPayload: QUERY_LIMITS.maxBodyBytes, handleProtocols, WebSocket: GraphqlWsSocket });
  // ws's documented way to upgrade by hand (noServer), so each socket keeps the connection its
  // frames go to: the fan-out corks it for a turn (src/transports/turn-writes.ts). A request for
  // another path gets 400, as with ws's own `server` option.
  const upgrade = (request: IncomingMessage, stream: Duplex, head: Buffer) =>
    wsServer.handleUpgrade(request, stream, head, (socket) => {
      socket.stream = stream;
      wsServer.emit('connection', socket, request);
    });
  http.on('upgrade', upgrade);
  const keys = new KeyWatch(deps.pg, deps.log, options.keyRecheckInterval ?? 2_000, () => keyedSockets(wsServer));
  const graphqlWs = serveGraphqlWs<Record<string, unknown> | undefined>(
    wsServer,
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3_000,
      keepAliveMs: options.keepAliveInterval ?? 12_000,
      onConnect: (ctx) => authenticateSocket(ctx, deps.authenticate),
      onSubscribe: (ctx, id, params) => prepareOperation(ctx, id, params, deps, options.maxOperationsPerSocket ?? 100),
      execute: (args) => (args.rootValue as OperationRoot).execute(args),
      subscribe: (args) => subscribeInGroup(args, deps),
    },
    deps.log,
  );
  return {
    wsServer,
    async close() {
      http.off('upgrade', upgrade);
      keys.stop();
      graphqlWs.dispose();
      for (const socket of wsServer.clients) socket.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

/** The open sockets authenticated with a project key, and the key: what KeyWatch rechecks. */
function* keyedSockets(wsServer: WsServer<typeof GraphqlWsSocket>): Iterable<[GraphqlWsSocket, string]> {
  for (const socket of wsServer.clients) if (socket.auth?.kind === 'project') yield [socket, socket.auth.keyId];
}

/**
 * onConnect: a bad or missing token makes graphql-ws close the socket with 4403 Forbidden. A
 * socket with a project key is rechecked by KeyWatch from then on.
 */
async function authenticateSocket(ctx: SocketContext, authenticate: Authenticator): Promise<boolean> {
  try {
    ctx.extra.socket.auth = await authenticate(ctx.connectionParams?.authorization);
    return true;
  } catch {
    return false;
  }
}

/** onSubscribe: the operation limit, then yoga's parse, validate and context; errors go back to the client. */
async function prepareOperation(
  ctx: SocketContext,
  id: string,
  params: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  { yoga, maskError }: GraphqlWsDeps,
  limit: number,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  // graphql-ws has already registered this operation's id: it counts itself.
  if (Object.keys(ctx.subscriptions).length > limit) {
    return [publicError(toGraphQLError(new DomainError('BAD_USER_INPUT', `at most ${limit} operations can run at once on one socket; complete some first`)))];
  }
  const enveloped = yoga.getEnveloped({ connectionParams: ctx.connectionParams ?? {} });
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
  let contextValue: Context;
  try {
    // Authenticates the token again: a key revoked since connect is refused here.
    contextValue = await enveloped.contextFactory();
  } catch (error) {
    return [publicError(maskError(error))];
  }
  const rootValue: OperationRoot = {
    execute: enveloped.execute,
    groupKey: JSON.stringify([params.query, params.operationName ?? null, canonicalJson(params.variables ?? {}), accessScope(contextValue.auth)]),
    socket: ctx.extra.socket,
    id,
  };
  return { schema: enveloped.schema, document, operationName: params.operationName, variableValues: params.variables, contextValue, rootValue };
}

/** What the server's masking does to a result: every error through maskError, written as over HTTP. */
function maskResult(result: ExecutionResult, maskError: MaskError): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map((error) => publicError(maskError(error))) } : result;
}

/**
 * subscribe: graphql-js's createSourceEventStream runs the resolver (access, filter, cursor,
 * joining the hub) for this subscriber and hands back its queue of events; each event is executed
 * once per group (the spec's ExecuteSubscriptionEvent, masked like every result) and written
 * straight to the socket.
 */
async function subscribeInGroup(args: ExecutionArgs, deps: GraphqlWsDeps): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const root = args.rootValue as OperationRoot;
  const { auth } = args.contextValue as Context;
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return maskResult(source, deps.maskError);
  // graphql-ws holds these very args until the subscription ends: let go of the subscribe's own
  // context and envelop (a few KB per subscriber, most of an idle subscription's memory; issue
  // 16). What an event's execution needs is kept apart, and its context made when it runs.
  const executeEvent = eventExecutor(args, auth, deps);
  args.contextValue = undefined;
  args.rootValue = undefined;
  const events = source[Symbol.asyncIterator]();
  // The hub's subscriptions are its queues (src/live/event-queue.ts); any other stream goes through graphql-ws's own sending.
  if (!isQueueSource(events)) return deps.fanOut.executeOncePerGroup(events, root.groupKey, executeEvent);
  return deps.fanOut.writeOncePerGroup(events, root.groupKey, executeEvent, wsFrameSink(root.socket, root.id));
}

/**
 * How a subscription executes one event: what it needs of the subscribe's args, a context made
 * per execution, the result masked. Returned unnamed: tsx's keepNames would give a named
 * closure a dictionary of properties (256 B per subscription).
 */
function eventExecutor({ schema, document, operationName, variableValues }: ExecutionArgs, auth: Auth, deps: GraphqlWsDeps): ExecuteEvent {
  return (event) => {
    // Synchronous when every resolver is (a RowChange's are): the result can be written at once.
    const result = execute({ schema, document, operationName, variableValues, rootValue: event, contextValue: deps.eventContext(auth) });
    return 'then' in result ? result.then((settled) => maskResult(settled, deps.maskError)) : maskResult(result, deps.maskError);
  };
}
