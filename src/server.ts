import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { resolveAdminToken } from './db/database.js';
import { closeAppServices, createContext, openAppServices, type AppServices } from './app-services.js';
import { createMaskError } from './schema/errors.js';
import { createWebUi } from './transports/web-ui.js';
import { schema } from './schema/index.js';
import type { Context } from './resolvers/context.js';
import { GroupFanOut } from './transports/group-fan-out.js';
import { attachGraphqlWs, type WebSocketInitialContext, type WebSocketOptions } from './transports/graphql-ws.js';
import { createRequestHandler } from './transports/http.js';
import { queryLimitPlugins } from './transports/query-limits.js';
import { useSseGroups } from './transports/sse-groups.js';
import { graphiqlOptions, renderGraphiQL } from './transports/graphiql.js';
import { yogaLogger } from './transports/yoga-logger.js';

export interface PaigeServer {
  services: AppServices;
  /** The admin bearer token: ADMIN_TOKEN, or the one kept in the data dir. */
  adminToken: string;
  /** `http://host:port/graphql` once started. */
  url: string;
  start(): Promise<void>;
  /** Stops everything; `onStep` is told what it is waiting for next (a shutdown that hangs can say where). */
  stop(onStep?: (step: string) => void): Promise<void>;
}

/** Opens the database, builds yoga and graphql-ws on one HTTP server. Nothing listens until `start()`. */
export async function createServer(
  config: Config,
  log: Logger = createLogger(config.logLevel),
  /** Tuning of the WebSocket transport (tests shorten the key recheck). */
  websocketOptions: WebSocketOptions = {},
): Promise<PaigeServer> {
  const { token: adminToken, source } = await resolveAdminToken(config);
  if (source === 'created') log.info('generated an admin token and kept it in the data dir');
  const services = await openAppServices(config, log, { adminToken, decideCapture: true });
  const maskError = createMaskError(log);
  const fanOut = new GroupFanOut(services.metrics);

  const yoga = createYoga<WebSocketInitialContext, Context>({
    schema,
    plugins: [...queryLimitPlugins(config), useSseGroups(fanOut)],
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: graphiqlOptions(config),
    renderGraphiQL,
    maskedErrors: { maskError: (error, message) => maskError(error, message) },
    logging: yogaLogger(log, maskError),
    // HTTP carries the token in a header; graphql-ws in connectionParams (see transports/graphql-ws.ts).
    context: async ({ request, connectionParams }) =>
      createContext(services, await services.authenticate(request ? request.headers.get('authorization') : connectionParams?.authorization), undefined, request?.signal),
  });

  const http = createHttpServer(
    createRequestHandler({ yoga, webUi: createWebUi(log), readiness: () => readiness(services), metrics: services.metrics, authenticate: services.authenticate }),
  );
  const websocket = attachGraphqlWs(
    http,
    { yoga, authenticate: services.authenticate, pg: services.db.pool, log, fanOut, maskError, eventContext: (auth) => createContext(services, auth) },
    websocketOptions,
  );

  let lagWatch: NodeJS.Timeout | undefined;
  const server: PaigeServer = {
    services,
    adminToken,
    url: '',
    async start() {
      services.changes.start();
      services.capture.leader?.start();
      lagWatch = watchCaptureLag(services);
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => resolve());
      });
      const { address, port } = http.address() as AddressInfo;
      server.url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/graphql`;
    },
    async stop(onStep = () => {}) {
      clearInterval(lagWatch);
      // Stop accepting, end every socket, then the services (subscriptions, pools, embedded Postgres).
      onStep('the WebSocket server');
      await websocket.close();
      onStep('the HTTP server');
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await closeAppServices(services, onStep);
    },
  };
  return server;
}

/** /readyz: ready when the database answers and is migrated; with how changes are captured. */
async function readiness(services: AppServices): Promise<{ ready: boolean } & Record<string, unknown>> {
  if (!(await services.db.ready())) return { ready: false };
  return { ready: true, ...(await services.capture.status.read().catch(() => ({}))) };
}

/** How often the capture slot's lag is checked. */
const LAG_CHECK_MS = 30_000;

/**
 * A slot that nobody consumes keeps WAL until the disk is full: past the configured lag, every
 * server process says so, naming the slot (it also shows in /readyz).
 */
function watchCaptureLag(services: AppServices): NodeJS.Timeout {
  const check = () =>
    void services.capture.status.read().then(({ slot }) => {
      if (slot && slot.lagBytes > services.config.captureLagWarnBytes) {
        services.log.warn(`capture: the replication slot ${slot.name} keeps ${formatMegabytes(slot.lagBytes)} MB of WAL (${slot.streaming ? 'a leader streams it but lags' : 'no process streams it'}); it is dropped by Postgres past max_slot_wal_keep_size`);
      }
    }, () => {});
  // At start too: a process restarted beside a stuck slot says so at once, not 30 s later.
  check();
  const timer = setInterval(check, LAG_CHECK_MS);
  timer.unref();
  return timer;
}

/** Whole megabytes, or two decimals below 10 MB (a small threshold would otherwise read "0 MB"). */
const formatMegabytes = (bytes: number) => {
  const mb = bytes / 1024 / 1024;
  return mb >= 10 ? String(Math.round(mb)) : mb.toFixed(2);
};
