import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, createWebUi } from '../src/transports/web-ui.js';
import { startTestServer, type TestServer } from './support/server.js';

/** The dashboard as the service serves it: `/` and hashed assets, beside an unchanged /graphql. */
describe('the dashboard served at /', () => {
  let t: TestServer;
  let base: string;
  beforeAll(async () => {
    t = await startTestServer();
    base = t.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => t?.stop());

  it('serves index.html at / with a strict Content-Security-Policy, naming only its own hashed assets', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const html = await response.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((url) => !url.startsWith('data:') && url !== '/graphql');
    expect(assets).toHaveLength(2);
    // No CDN: every asset is a path on this server.
    for (const asset of assets) expect(asset).toMatch(/^\/assets\/main-[A-Z0-9]+\.(js|css)$/);
  });

  it('serves each hashed asset with its content type and a year of immutable caching; an unknown one is 404', async () => {
    const html = await (await fetch(`${base}/`)).text();
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const css = /href="(\/assets\/[^"]+\.css)"/.exec(html)![1]!;
    const script = await fetch(`${base}${js}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await script.text()).length).toBeGreaterThan(1000);
    const style = await fetch(`${base}${css}`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const missing = await fetch(`${base}/assets/main-NOTTHERE.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    const escape = await fetch(`${base}/assets/..%2f..%2fpackage.json`);
    expect(escape.status).toBe(404);
  });

  it('leaves /graphql (GraphiQL for a browser, GraphQL for a client), /healthz and /readyz as they were', async () => {
    const graphiql = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(await graphiql.text()).toContain('GraphiQL');
    expect(graphiql.headers.get('content-security-policy')).toBeNull();
    const typename = await t.ok('{ __typename }');
    expect(typename).toEqual({ __typename: 'Query' });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('answers a POST to / with 405, not with the page', async () => {
    const response = await fetch(`${base}/`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('without a build', () => {
  let server: Server;
  let dir: string;
  const warnings: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paige-no-ui-'));
    const webUi = createWebUi({ warn: (message) => warnings.push(message) }, dir);
    server = createServer((req, res) => {
      if (!webUi.handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('says at / how to build it (503), and warns once at start; it does not crash', async () => {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.status).toBe(503);
    const page = await response.text();
    expect(page).toContain('The dashboard is not built');
    expect(page).toContain('npm run build');
    expect(warnings).toEqual([`the dashboard is not built (no ${join(dir, 'index.html')}): run npm run build; / says so meanwhile`]);
    expect((await fetch(`http://127.0.0.1:${port}/assets/main-X.js`)).status).toBe(404);
  });
});
