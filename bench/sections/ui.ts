import type { Page } from 'playwright-core';
import { launchBrowser, VIEWPORTS } from '../../tests/support/browser.js';
import type { Child } from '../lib/processes.js';
import type { Report } from '../lib/report.js';
import { booking, INSERT_ROWS, type BenchProject } from '../lib/seed.js';
import type { Gql } from '../lib/setup.js';
import { percentile, sleep } from '../lib/stats.js';

/**
 * The dashboard in Debian's Chromium (as the browser journeys run it) against the seeded
 * `bookings` (100,000 rows; 10,000 with BENCH_QUICK): how long until the first rows of a page are on screen, for the first
 * page and for a deep one (keyset: as fast as the first), and how smooth the grid stays (frame
 * times of requestAnimationFrame) while 50 rows a second arrive live.
 */

/** Records in the page when the first grid row is in the DOM, in ms since navigation start. */
const FIRST_ROW_PROBE = () => {
  const w = window as unknown as { firstRowAt?: number };
  new MutationObserver((_, observer) => {
    if (!document.querySelector('tr[data-row-key]')) return;
    // The frame after the rows are in the DOM is the one that paints them.
    requestAnimationFrame(() => (w.firstRowAt ??= performance.now()));
    observer.disconnect();
  }).observe(document, { childList: true, subtree: true });
};

async function firstPaint(page: Page, url: string): Promise<number> {
  await page.goto(url);
  try {
    await page.waitForFunction(() => (window as unknown as { firstRowAt?: number }).firstRowAt !== undefined, undefined, { timeout: 30_000 });
  } catch (error) {
    throw new Error(`no grid row on screen at ${url}: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: error });
  }
  return page.evaluate(() => (window as unknown as { firstRowAt: number }).firstRowAt);
}

export async function uiBench(report: Report, ours: Child, gql: Gql, project: BenchProject, seeded: number, rounds: number, frameSeconds: number): Promise<void> {
  const base = `http://127.0.0.1:${ours.port}`;
  const browser = await launchBrowser();
  try {
    const { context } = await browser.open(base, VIEWPORTS.desktop);
    // Signed in as a project key, as a person would be (the token in this tab's sessionStorage).
    await context.addInitScript((token: string) => sessionStorage.setItem('paige-db.token', token), project.token);
    await context.addInitScript(FIRST_ROW_PROBE);
    const table = `${base}/#/p/${project.id}/t/bookings`;
    const { project: deep } = await gql<{ project: { table: { rows: { pageInfo: { endCursor: string } } } } }>(
      `query ($p: ID!, $offset: Int!) { project(id: $p) { table(name: "bookings") { rows(offset: $offset, first: 1) { pageInfo { endCursor } } } } }`,
      { p: project.id, offset: seeded - 101 },
      project.token,
    );
    const deepUrl = `${table}?after=${encodeURIComponent(deep.table.rows.pageInfo.endCursor)}`;

    const first: number[] = [];
    const deepPage: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const page = await context.newPage();
      first.push(await firstPaint(page, table));
      await page.close();
      const other = await context.newPage();
      deepPage.push(await firstPaint(other, deepUrl));
      await other.close();
    }
    const median = (values: number[]) => percentile(values, 50);
    report.atMost('UI', `first rows on screen, ${seeded.toLocaleString('en')}-row table, cold page`, 'ms', median(first), 1000, null, `median of ${rounds}; navigation start to the frame after the rows`);
    report.atMost('UI', `first rows on screen, page after row ${(seeded - 100).toLocaleString('en')}`, 'ms', median(deepPage), 1000, null, `median of ${rounds}; keyset cursor in the URL`);
    report.detail(`UI first paint: ${first.map((v) => v.toFixed(0)).join(', ')} ms; deep page: ${deepPage.map((v) => v.toFixed(0)).join(', ')} ms`);

    // Frame times while 50 rows a second arrive: newest first, so every row lands in view.
    const page = await context.newPage();
    await page.goto(`${table}?sort=id:DESC`);
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor({ timeout: 30_000 });
    // As text: tsx would wrap a named function in a helper the page does not have.
    await page.evaluate(`(() => {
      const frames = (window.frames_ = []);
      let last = performance.now();
      const tick = (now) => { frames.push(now - last); last = now; requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    })()`);
    // The same page idle first: what the machine allows the renderer at all right now.
    await sleep(2000);
    const idle = await page.evaluate<number[]>('window.frames_.splice(0).slice(1)');
    const inserts = frameSeconds * 50;
    const start = performance.now();
    let written = 0;
    // On a schedule, not one after another: a slow insert must not lower the rate the grid sees.
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < inserts; i++) {
      const wait = start + i * 20 - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(gql(INSERT_ROWS, { p: project.id, t: 'bookings', rows: [booking(200_000 + i)] }, project.token).then(() => written++));
    }
    await Promise.all(pending);
    const achieved = written / ((performance.now() - start) / 1000);
    await sleep(500);
    const frames = await page.evaluate<number[]>('window.frames_.slice(1)');
    const shown = await page.locator('tr[data-row-key]').first().getAttribute('data-row-key');
    report.atMost('UI', 'frame time p95 under 50 live inserts/s', 'ms', percentile(frames, 95), 50, null, `${frames.length} frames over ${frameSeconds} s; ${achieved.toFixed(0)} inserts/s committed`);
    report.info('UI', 'frame time p50 under 50 live inserts/s', 'ms', percentile(frames, 50));
    report.info('UI', 'frame time p95, same page idle (2 s before)', 'ms', percentile(idle, 95), null, `${idle.length} frames`);
    report.info('UI', 'longest frame under 50 live inserts/s', 'ms', Math.max(...frames));
    report.detail(`UI frames over 50 ms: ${frames.filter((f) => f > 50).length} of ${frames.length}; newest row on screen at the end: ${shown}`);
  } finally {
    await browser.close();
  }
}
