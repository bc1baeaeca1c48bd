import { readFileSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';

/**
 * The data browser (web/, bundled by `npm run build` into dist/web): `/` is its index.html and
 * `/assets/<name>-<hash>.<ext>` its files. Everything it needs is served from here (no CDN, works
 * offline) under a Content-Security-Policy that allows only this origin: no inline script or
 * style, no eval, no frames. `/graphql`, `/healthz` and `/readyz` are not this module's.
 */

/** Where `npm run build` puts the bundle. */
export const WEB_UI_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

// connect-src 'self' covers ws: and wss: to the same host (CSP Level 3, as Chromium implements it).
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** Shown at `/` when the bundle is missing: the service still runs and says how to build it. */
const MISSING_BUILD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>paige-db: the dashboard is not built</title></head>
<body><h1>The dashboard is not built</h1>
<p>Run <code>npm run build</code> (also run by <code>npm install</code> and <code>npm ci</code>) and reload this page.
The GraphQL API is at <a href="/graphql">/graphql</a>.</p></body></html>
`;

interface Asset {
  body: Buffer;
  contentType: string;
}

export interface WebUi {
  /** Answers the request when it is the dashboard's (GET or HEAD of `/` or `/assets/…`); false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Whether a build was found at start. */
  readonly built: boolean;
}

/**
 * Reads the bundle once at start: index.html and every hashed asset are kept in memory (a few
 * hundred KB), so a request never touches the disk and no request path ever becomes a file path.
 */
export function createWebUi(log: Pick<Logger, 'warn'>, dir: string = WEB_UI_DIR): WebUi {
  let index: Buffer | undefined;
  const assets = new Map<string, Asset>();
  try {
    index = readFileSync(join(dir, 'index.html'));
    const assetDir = join(dir, 'assets');
    for (const name of readdirSync(assetDir)) {
      const file = join(assetDir, name);
      if (!statSync(file).isFile()) continue;
      assets.set(`/assets/${name}`, { body: readFileSync(file), contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream' });
    }
  } catch {
    index = undefined;
    log.warn(`the dashboard is not built (no ${join(dir, 'index.html')}): run npm run build; / says so meanwhile`);
  }

  return {
    built: index !== undefined,
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path !== '/' && path !== '/index.html' && !path.startsWith('/assets/')) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
        return true;
      }
      const send = (status: number, body: Buffer | string, headers: Record<string, string>) => {
        res.writeHead(status, { ...SECURITY_HEADERS, 'content-length': String(Buffer.byteLength(body)), ...headers });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (path.startsWith('/assets/')) {
        const asset = assets.get(path);
        if (!asset) return (send(404, 'not found\n', { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }), true);
        // Names carry a hash of their content: a new build has new names, so these never go stale.
        send(200, asset.body, { 'content-type': asset.contentType, 'cache-control': 'public, max-age=31536000, immutable' });
        return true;
      }
      // index.html names the current assets: always revalidated.
      if (!index) send(503, MISSING_BUILD_PAGE, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      else send(200, index, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      return true;
    },
  };
}
