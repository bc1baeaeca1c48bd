import type { Duplex } from 'node:stream';
import { WebSocket, type RawData, type Server as WebSocketServer } from 'ws';
import { CloseCode, makeServer, type Context, type ServerOptions, type WebSocket as ProtocolSocket } from 'graphql-ws';
import type { Logger } from '../logger.js';
import type { Auth } from '../resolvers/context.js';

/**
 * A `ws` socket of /graphql (the WebSocketServer's `WebSocket` option makes every accepted socket
 * one of these): what graphql-ws and the service keep per socket are fields here, read by
 * listeners shared by all sockets, not closures made for each (issue 16: memory per idle
 * subscription).
 */
export class GraphqlWsSocket extends WebSocket {
  /** The upgraded HTTP connection the frames are written to (ws's handleUpgrade was given it). */
  stream: Duplex | undefined = undefined;
  /** Who authenticated this socket (onConnect); undefined until then. */
  auth: Auth | undefined = undefined;
  /** graphql-ws's handler of this socket's messages (makeServer's onMessage). */
  handler: ((data: string) => Promise<void>) | undefined = undefined;
  /** graphql-ws's end of this socket: its subscriptions returned, its hooks called. */
  closed: ((code?: number, reason?: string) => Promise<void>) | undefined = undefined;
  /** Closes a socket that sends no connection_init in time; cleared (and let go) on connection_init. */
  initWait: NodeJS.Timeout | undefined = undefined;
  /** A ping went out and its pong has not come back. */
  awaitingPong = false;
  /** Which of the keep-alive's ticks pings this socket (KEEP_ALIVE_SLICES of them per interval). */
  pingSlice = 0;
}

/** What graphql-ws's context carries of a socket (ctx.extra). */
export interface SocketExtra {
  socket: GraphqlWsSocket;
}

/** The socket as graphql-ws's server sees it; also its ctx.extra. Methods on the prototype, one field. */
class ProtocolTransport implements ProtocolSocket, SocketExtra {
  constructor(readonly socket: GraphqlWsSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> | void {
    const socket = this.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    return new Promise((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handler: (data: string) => Promise<void>): void {
    this.socket.handler = handler;
  }
}

/** The keep-alive pings its sockets in this many slices, one per tick, each socket once per interval. */
const KEEP_ALIVE_SLICES = 12;

export interface GraphqlWsServerOptions<P extends Record<string, unknown> | undefined> extends ServerOptions<P, SocketExtra> {
  /** How often every socket is pinged; one that has not answered the previous ping is terminated. @default 12000 */
  keepAliveMs?: number;
}

/**
 * graphql-ws's protocol server (makeServer, its documented way to run over a transport of one's
 * own) on a `ws` server whose sockets are GraphqlWsSocket. It does what graphql-ws/use/ws does
 * (subprotocol, init timeout, keep-alive, 1011 on a failed message) with per-server state
 * instead of per-socket closures and timers: one keep-alive timer pings all sockets, and the
 * init timeout is ours (graphql-ws's own keeps its timer, fired or not, for the socket's life).
 * The upgrade request is not kept: the context comes from connection_init's payload.
 */
export function serveGraphqlWs<P extends Record<string, unknown> | undefined>(wsServer: WebSocketServer<typeof GraphqlWsSocket>, options: GraphqlWsServerOptions<P>, log: Logger) {
  const { keepAliveMs = 12_000, connectionInitWaitTimeout = 3_000, onConnect, ...serverOptions } = options;
  const server = makeServer<P, SocketExtra>({
    ...serverOptions,
    connectionInitWaitTimeout: 0,
    onConnect(ctx: Context<P, SocketExtra>) {
      stopInitWait(ctx.extra.socket);
      return onConnect?.(ctx);
    },
  });

  // The listeners, shared by all sockets: ws calls them with the socket as `this`.
  function fail(socket: GraphqlWsSocket, error: unknown) {
    log.error(`graphql-ws: handling a message failed: ${error instanceof Error ? error.stack : String(error)}`);
    socket.close(CloseCode.InternalServerError, 'Internal server error');
  }
  function onMessage(this: WebSocket, data: RawData) {
    const socket = this as GraphqlWsSocket;
    // The promise of a subscribe message lasts as long as its subscription: no async wrapper
    // around it, and an unnamed arrow (a bound function, or one named by tsx's keepNames, gets a
    // dictionary of properties: 300 B).
    socket.handler?.(String(data)).catch((error: unknown) => fail(socket, error));
  }
  function onClose(this: WebSocket, code: number, reason: Buffer) {
    const socket = this as GraphqlWsSocket;
    stopInitWait(socket);
    socket.closed?.(code, String(reason)).catch((error: unknown) => log.error(`graphql-ws: closing a socket failed: ${String(error)}`));
  }
  function onError(this: WebSocket, error: Error) {
    // ws closes the socket itself (e.g. 1009 past maxPayload); this only says why.
    log.warn(`graphql-ws: socket error: ${error.message}`);
    this.close(CloseCode.InternalServerError, 'Internal server error');
  }
  function onPong(this: WebSocket) {
    (this as GraphqlWsSocket).awaitingPong = false;
  }

  let connected = 0;
  wsServer.on('connection', (socket: GraphqlWsSocket) => {
    socket.pingSlice = connected++ % KEEP_ALIVE_SLICES;
    socket.on('error', onError);
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('pong', onPong);
    if (connectionInitWaitTimeout > 0 && Number.isFinite(connectionInitWaitTimeout)) socket.initWait = setTimeout(closeUninitialised, connectionInitWaitTimeout, socket);
    const transport = new ProtocolTransport(socket);
    socket.closed = server.opened(transport, transport);
  });

  // One timer for every socket: a socket that did not answer the last ping (a keep-alive ago) is
  // dead. Each tick pings one slice of the sockets: pinging 5,000 at once held the event loop for
  // a burst of writes that a change's delivery then waited behind (issue 16).
  let tick = 0;
  const keepAlive = setInterval(() => {
    const slice = tick++ % KEEP_ALIVE_SLICES;
    for (const socket of wsServer.clients) {
      if (socket.pingSlice !== slice || socket.readyState !== WebSocket.OPEN) continue;
      if (socket.awaitingPong) {
        socket.terminate();
        continue;
      }
      socket.awaitingPong = true;
      socket.ping();
    }
  }, keepAliveMs / KEEP_ALIVE_SLICES);
  keepAlive.unref();

  return {
    /** Stops the keep-alive and closes every socket with 1001 Going away. */
    dispose(): void {
      clearInterval(keepAlive);
      for (const socket of wsServer.clients) socket.close(1001, 'Going away');
    },
  };
}

function stopInitWait(socket: GraphqlWsSocket): void {
  if (socket.initWait === undefined) return;
  clearTimeout(socket.initWait);
  socket.initWait = undefined;
}

function closeUninitialised(socket: GraphqlWsSocket): void {
  socket.initWait = undefined;
  socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
}
