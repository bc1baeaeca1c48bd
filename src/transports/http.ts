import type { IncomingMessage, ServerResponse } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Metrics } from '../metrics.js';
import type { Authenticator } from '../resolvers/auth.js';
import type { Context } from '../resolvers/context.js';
import type { WebSocketInitialContext } from './graphql-ws.js';
import { QUERY_LIMITS } from './query-limits.js';

export interface HttpDeps {
  yoga: YogaServerInstance<WebSocketInitialContext, Context>;
  /** The dashboard at `/` and its assets (web-ui.ts): it answers the requests that are its own. */
  webUi: { handle(req: IncomingMessage, res: ServerResponse): boolean };
  /** /readyz: whether the database answers and every platform migration is applied, and what else to show. */
  readiness(): Promise<{ ready: boolean } & Record<string, unknown>>;
  metrics: Metrics;
  authenticate: Authenticator;
}

/**
 * The Node request handler: the dashboard, the operational endpoints, the request body bound,
 * then yoga for GraphQL over HTTP (and SSE, and GraphiQL for a browser's GET).
 */
export function createRequestHandler(deps: HttpDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (deps.webUi.handle(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      return void deps.readiness().then(({ ready, ...details }) => sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...details }));
    }
    if (path === '/metrics') return void sendMetrics(req, res, deps);
    if (Number(req.headers['content-length'] ?? 0) > QUERY_LIMITS.maxBodyBytes) return sendTooLarge(res);
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined) {
      // A chunked body has no length to check up front: read it here within the bound and hand
      // yoga a Fetch Request with those bytes (yoga.fetch, its documented entry point).
      void readBody(req, QUERY_LIMITS.maxBodyBytes).then(
        (body) => (body === undefined ? sendTooLarge(res, { connection: 'close' }) : forwardWithBody(req, res, body, deps.yoga)),
        () => res.destroy(),
      );
      return;
    }
    void deps.yoga.handle(req, res);
  };
}

/** The counters in Prometheus text format, for the admin token only: they describe every project's traffic. */
async function sendMetrics(req: IncomingMessage, res: ServerResponse, deps: HttpDeps): Promise<void> {
  const auth = await deps.authenticate(req.headers.authorization).catch(() => undefined);
  if (auth?.kind !== 'admin') return sendJson(res, auth ? 403 : 401, { error: 'GET /metrics needs the admin token (Authorization: Bearer <token>)' });
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(deps.metrics.render());
}

async function forwardWithBody(req: IncomingMessage, res: ServerResponse, body: Buffer, yoga: HttpDeps['yoga']): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'transfer-encoding') continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  const response = await yoga.fetch(url, { method: req.method ?? 'POST', headers, body: new Uint8Array(body) }, { req });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
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
