import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, maskError as yogaMaskError, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { resolveAdminToken } from './db/database.js';
import { closeAppServices, openAppServices } from './app-services.js';
import { mapPgError } from './db/pg-errors.js';
import { authenticate } from './resolvers/auth.js';
import { attachGraphqlWs, type WebSocketInitialContext, type WebSocketOptions } from './transports/websocket.js';
import { QUERY_LIMITS, queryLimitPlugins } from './query-limits.js';
import { useGroupedSubscriptions } from './transports/grouped-subscriptions.js';
import { createWebUi } from './transports/web-ui.js';
import type { AppServices, Context } from './resolvers/context.js';
import { schema } from './schema/index.js';

export interface PaigeServer {
  services: AppServices;
  /** `http://host:port/graphql` once started. */
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds yoga's error masking: Postgres errors a user caused become domain errors; the rest are logged and masked. */
function maskErrors(log: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    const mapped = mapPgError(original);
    if (mapped) {
      // Not the user's fault and not a bug, but an operator wants to know the database went away.
      if (mapped.code === 'UNAVAILABLE') log.warn(`database unreachable: ${String(original)}`);
      const located = error instanceof GraphQLError ? error : undefined;
      return new GraphQLError(mapped.message, { nodes: located?.nodes, path: located?.path, extensions: mapped.extensions });
    }
    const masked = yogaMaskError(error, message, isDev);
    if (masked !== error) log.error('unexpected error', original ?? error);
    return masked;
  };
}

/** Opens the database, builds yoga and graphql-ws on one HTTP server. Nothing listens until `start()`. */
export async function createServer(
  config: Config,
  log: Logger = createLogger(config.logLevel),
  /** Tuning of the WebSocket transport (tests shorten the key recheck). */
  websocketOptions: Omit<WebSocketOptions, 'maskError'> = {},
): Promise<PaigeServer> {
  const { token: adminToken, source } = await resolveAdminToken(config);
  if (source === 'created') log.info('generated an admin token and kept it in the data dir');
  const services: AppServices = await openAppServices(config, log, adminToken);
  const { db } = services;

  const maskError = maskErrors(log);
  const yoga: YogaServerInstance<WebSocketInitialContext, Context> = createYoga<WebSocketInitialContext, Context>({
    schema,
    plugins: [...queryLimitPlugins(config), useGroupedSubscriptions()],
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'paige-db' },
    maskedErrors: { maskError },
    logging: config.logLevel === 'silent' ? false : config.logLevel,
    // HTTP carries the token in a header; graphql-ws in connectionParams (see transports/websocket.ts).
    context: async ({ request, connectionParams }) => ({
      ...services,
      auth: await authenticate(services, request ? request.headers.get('authorization') : connectionParams?.authorization),
    }),
  });

  const webUi = createWebUi(log);
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    if (webUi.handle(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      void db.ready().then((ready) => sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' }));
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > QUERY_LIMITS.maxBodyBytes) return sendTooLarge(res);
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined) {
      // A chunked body has no length to check up front: read it here within the bound and hand
      // yoga the bytes (@whatwg-node/server takes a Node request's `body` in place of its stream).
      void readBody(req, QUERY_LIMITS.maxBodyBytes).then((body) => {
        if (body === undefined) return sendTooLarge(res, { connection: 'close' });
        void yoga.handle(Object.assign(req, { body }), res);
      }, () => res.destroy());
      return;
    }
    void yoga.handle(req, res);
  });

  const websocket = attachGraphqlWs(http, yoga, services, { ...websocketOptions, maskError });

  const server: PaigeServer = {
    services,
    url: '',
    async start() {
      // Listening (and positioned at the log's head) before the first socket can subscribe.
      await services.changes.start();
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => resolve());
      });
      const { address, port } = http.address() as AddressInfo;
      server.url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/graphql`;
    },
    async stop() {
      // Stop accepting, end every socket, then the pools and the embedded Postgres.
      await websocket.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await services.changes.stop();
      await closeAppServices(services);
    },
  };
  return server;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function sendTooLarge(res: ServerResponse, headers?: Record<string, string>) {
  sendJson(res, 413, { errors: [{ message: `request body over ${QUERY_LIMITS.maxBodyBytes} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] }, headers);
}

/** The whole body, or undefined as soon as it passes `limit` bytes (the rest is left unread). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData).off('end', onEnd).pause();
      resolve(undefined);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData).on('end', onEnd).once('error', reject);
  });
}
