import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphiqlOptions } from '../src/transports/graphiql.js';
import { TOKEN_PLACEHOLDER } from '../src/resolvers/auth.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Issue 11, point 3: GraphiQL works without internet. Every asset the page references (scripts,
 * styles, fonts, icons, workers) is inside it or served by this server, and the first screen
 * shows where the token goes.
 */
let t: TestServer;
let page: string;
beforeAll(async () => {
  t = await startTestServer();
  const response = await fetch(t.url, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  page = await response.text();
});
afterAll(async () => {
  await t?.stop();
});

/** The bodies of the page's <script> and <style> elements, and the page without them, as a browser splits it. */
function split(html: string) {
  const bodies = (tag: string) => [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>([^]*?)</${tag}>`, 'gi'))].map((m) => m[1]!);
  const markup = html.replace(/<(script|style)\b[^>]*>[^]*?<\/\1>/gi, (element) => element.replace(/>[^]*<\//, '></'));
  return { scripts: bodies('script'), styles: bodies('style'), markup };
}

/** Every URL the page makes the browser load: element attributes, CSS url() and @import, worker scripts. */
function referencedUrls(html: string): string[] {
  const { scripts, styles, markup } = split(html);
  const urls: string[] = [];
  for (const tag of markup.matchAll(/<[a-z][^>]*>/gi)) {
    for (const attribute of tag[0].matchAll(/\s(?:src|href|srcset|poster|data|action|background)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
      urls.push(attribute[1] ?? attribute[2] ?? attribute[3]!);
    }
  }
  const css = [...styles, ...[...markup.matchAll(/\sstyle\s*=\s*"([^"]*)"/gi)].map((m) => m[1]!)].join('\n');
  for (const m of css.matchAll(/url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)/gi)) urls.push(m[1] ?? m[2] ?? m[3]!);
  for (const m of css.matchAll(/@import\s+(?:url\()?\s*["']?([^"')\s;]+)/gi)) urls.push(m[1]!);
  // Scripts (the page's, and the Monaco workers' sources it carries) load code with these. Only
  // literal URLs can be read here; computed ones (`${url}`) are seen in a browser (see the README).
  for (const code of scripts) {
    for (const m of code.matchAll(/(?:importScripts|import)\(\s*["'`]([^"'`$]+)["'`]/g)) urls.push(m[1]!);
    for (const m of code.matchAll(/new\s+(?:Shared)?Worker\(\s*["'`]([^"'`$]+)["'`]/g)) urls.push(m[1]!);
  }
  return urls;
}

describe('GraphiQL', () => {
  it('the page is GraphiQL itself, not a loader waiting on a CDN', () => {
    expect(page).toContain('<title>paige-db</title>');
    expect(page).toContain('YogaGraphiQL.renderYogaGraphiQL(');
    expect(page).not.toContain('__TITLE__');
    expect(page.length).toBeGreaterThan(1_000_000);
  });

  it('every URL the page and its scripts load is data:, blob: or served by this server', async () => {
    const urls = referencedUrls(page);
    const origin = new URL(t.url).origin;
    const elsewhere = urls.filter((url) => !/^(data|blob):/.test(url) && new URL(url, t.url).origin !== origin);
    expect(elsewhere).toEqual([]);
    // The favicon and the fonts in the stylesheet at least.
    expect(urls.filter((url) => url.startsWith('data:font/')).length).toBeGreaterThan(0);
    expect(urls.some((url) => url.startsWith('data:image/'))).toBe(true);
    for (const url of urls.filter((u) => !/^(data|blob):/.test(u))) {
      const response = await fetch(new URL(url, t.url));
      expect(response.status, url).toBe(200);
    }
    // The Monaco workers start from blob: URLs the page builds from sources it carries.
    expect(page).toMatch(/getWorkerUrl: function \(moduleId, label\) \{\s*return workers\[label\];/);
  });

  it('opens with the headers editor showing where the token goes, and says where the admin token is', () => {
    const options = JSON.parse(/YogaGraphiQL\.renderYogaGraphiQL\(\s*window\.document\.querySelector\('#root'\),\s*(\{.*\}),\s*\);/.exec(page)![1]!);
    // shouldPersistHeaders false: a pasted admin token is not left in the browser's localStorage.
    expect(options).toMatchObject({ title: 'paige-db', defaultEditorToolsVisibility: 'headers', shouldPersistHeaders: false });
    expect(JSON.parse(options.headers)).toEqual({ authorization: `Bearer ${TOKEN_PLACEHOLDER}` });
    expect(options.defaultHeaders).toBe(options.headers);
    // The test server runs with ADMIN_TOKEN; without it the admin token is in the data dir.
    expect(options.defaultQuery).toContain('# with the ADMIN_TOKEN this server runs with,\n# or with a project API key (createApiKey).');
    const fromDataDir = graphiqlOptions({ adminToken: undefined }).defaultQuery!;
    expect(fromDataDir).toContain('# with the admin token (npm start prints it,\n# and keeps it in .paige-data/admin-token, or\n# in the data dir PAIGE_DATA_DIR names),');
    for (const query of [options.defaultQuery, fromDataDir]) {
      expect(query).toContain(`#   ${TOKEN_PLACEHOLDER}\n`);
      expect(query).toMatch(/\n\nquery Projects \{\n {2}projects \{/);
      // Every line fits the query editor of a 1280-pixel-wide window (~45 characters), but the placeholder's.
      for (const line of query.split('\n').filter((l: string) => !l.includes(TOKEN_PLACEHOLDER))) expect(line.length, line).toBeLessThanOrEqual(45);
    }
  });

  it('the placeholder is refused with what to do; once a token is pasted, introspection and queries answer', async () => {
    const introspection = `{ __schema { queryType { name } } }`;
    const placeholder = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN_PLACEHOLDER}` },
      body: JSON.stringify({ query: introspection }),
    });
    expect(placeholder.status).toBe(401);
    expect(await placeholder.json()).toEqual({
      errors: [{
        message: `no token yet: in the headers, replace ${TOKEN_PLACEHOLDER} with the admin token (npm start prints it) or a project API key`,
        extensions: { code: 'UNAUTHENTICATED' },
      }],
    });
    expect(await t.ok(introspection)).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});
