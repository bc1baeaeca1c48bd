import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestServer } from './server.js';

/**
 * A real Chromium for the dashboard's journeys: Debian's `chromium` (apt-get install -y chromium;
 * .ci/run installs it), driven by playwright-core, which never downloads a browser. A missing
 * browser fails the test with how to install it; it is never skipped.
 */

/** Screenshots of the main screens, for a person to look at (gitignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

const HOW_TO_INSTALL = 'Install it with `apt-get install -y chromium` (`.ci/run` does), or set CHROMIUM_PATH to a Chromium binary.';

export function chromiumPath(): string {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH=${given} does not exist: the browser journeys need Chromium. ${HOW_TO_INSTALL}`);
    return given;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`chromium is not installed: the browser journeys need it. ${HOW_TO_INSTALL}`);
  }
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (its own storage) at a viewport, with a page on the dashboard. */
  open(baseUrl: string, viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // launch() runs the browser on a fresh temporary profile of its own, removed on close.
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async open(baseUrl, viewport = VIEWPORTS.desktop) {
      const context = await browser.newContext({ viewport, baseURL: baseUrl });
      contexts.push(context);
      // A step that cannot happen fails at that step, well before the test's own timeout.
      // expect.poll waits as long (vitest.config.ts).
      context.setDefaultTimeout(8_000);
      const page = await context.newPage();
      // A page error or a CSP violation is a failure of the journey, not a line in a log.
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console error: ${message.text()}`);
      });
      pageProblems.set(page, problems);
      return { context, page };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
    },
  };
}

const pageProblems = new WeakMap<Page, string[]>();
/** Page errors and console errors seen so far (CSP violations are console errors). */
export const problemsOf = (page: Page): string[] => pageProblems.get(page) ?? [];

/** The dashboard's origin for a test server (its url ends in /graphql). */
export const baseUrlOf = (t: TestServer | { url: string }) => t.url.replace(/\/graphql$/, '');

export async function signIn(page: Page, baseUrl: string, token: string, path = '/'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Screenshots of every page of the given contexts, named after a failed test, to see what it saw. */
export async function screenshotFailure(test: string, contexts: BrowserContext[]): Promise<void> {
  const name = test.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  let n = 0;
  for (const context of contexts) for (const page of context.pages()) await screenshot(page, `failed-${name}-${++n}`).catch(() => {});
}

/**
 * A TCP relay between the browser and the server, so a test can cut the browser's connections
 * (as a network drop does) while the server and the relay's port stay up for the reconnect.
 */
export interface Relay {
  url: string;
  /** Destroys every connection open through the relay now. */
  cutAll(): number;
  /** While down, a new connection is closed at once (the network is still out); up again lets them through. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startRelay(target: { url: string }): Promise<Relay> {
  const { hostname, port } = new URL(target.url);
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/graphql`,
    cutAll() {
      const count = sockets.size / 2;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      return count;
    },
    setDown(value) {
      down = value;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
