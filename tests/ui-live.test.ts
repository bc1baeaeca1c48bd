import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createDbServices, type DbServices } from '../src/dbservices/index.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { waitForSubscriberCount } from './support/subscriptions.js';
import { loginRoleClient } from './support/postgres.js';
import { baseUrlOf, launchBrowser, problemsOf, screenshot, screenshotFailure, signIn, startRelay, VIEWPORTS, type Relay, type TestBrowser } from './support/browser.js';

/**
 * The dashboard live: rows a bot writes through dbServices (in-process, as bot code runs) show
 * up in an open grid within 1 s of their commit, without a reload and without moving what the
 * person is doing; a dropped socket is shown and nothing written meanwhile is missed.
 */

let t: TestServer;
let b: TestBrowser;
let base: string;
const projects: TestProjectHandle[] = [];
const bots: DbServices[] = [];
const opened: BrowserContext[] = [];
const relays: Relay[] = [];

beforeAll(async () => {
  t = await startTestServer();
  base = baseUrlOf(t);
  b = await launchBrowser();
});
afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') await screenshotFailure(task.name, opened);
  for (const context of opened.splice(0)) await context.close();
  for (const relay of relays.splice(0)) await relay.close();
  // Every page's subscriptions are gone before the next test counts its own.
  await waitForSubscriberCount(t, 0);
});
afterAll(async () => {
  for (const bot of bots) await bot.close();
  await b?.close();
  for (const project of projects) await project.remove();
  await t?.stop();
});

/** Two rows to start from. */
const FIRST_AND_SECOND = [
  { name: 'first', amount: '1' },
  { name: 'second', amount: '2' },
];

/** A project with a `visits` table holding `rows`, and a bot (dbServices in-process) writing to it. */
async function setUp(rows: Record<string, unknown>[] = []) {
  const project = await createTestProject(t);
  projects.push(project);
  const bot = createDbServices({ projectId: project.id, databaseUrl: inject('databaseUrl'), env: {} });
  bots.push(bot);
  await bot.tables.ensure('visits', [
    { name: 'name', type: 'text', nullable: false },
    { name: 'amount', type: 'numeric' },
  ]);
  if (rows.length > 0) await bot.rows.insert('visits', rows);
  return { project, bot };
}

async function open(url: string, viewport: { width: number; height: number } = VIEWPORTS.desktop) {
  const { context, page } = await b.open(url, viewport);
  opened.push(context);
  return page;
}

/** Opens a grid and waits until it shows its first read and its subscriptions are registered. */
async function openGrid(page: Page, at: string, token: string, hash: string) {
  await signIn(page, at, token, `/${hash}`);
  await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor();
  // tableChanges for the project, rowChanges for the grid.
  await waitForSubscriberCount(t, 2);
}

/** The `visits` grid, opened through a relay the test can cut (as a network drop does). */
async function openGridThroughRelay(project: TestProjectHandle) {
  const relay = await startRelay(t);
  relays.push(relay);
  const at = baseUrlOf(relay);
  const page = await open(at);
  await openGrid(page, at, project.token, `#/p/${project.id}/t/visits`);
  return { relay, page };
}

/**
 * Records, in the page, when each grid row first appears (Date.now(), the same clock as the test).
 * Returns a reader of those times by row key.
 */
async function watchRows(page: Page) {
  await page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { seenRows: Record<string, number> }).seenRows = seen;
    const note = () => {
      const now = Date.now();
      for (const row of document.querySelectorAll('tr[data-row-key]')) {
        const key = row.getAttribute('data-row-key')!;
        seen[key] ??= now;
      }
    };
    note();
    new MutationObserver(note).observe(document.body, { childList: true, subtree: true });
  });
  return () => page.evaluate(() => (window as unknown as { seenRows: Record<string, number> }).seenRows);
}

const gridTexts = (page: Page, column: string) => page.locator(`table.grid tbody td[data-column="${column}"]`).allInnerTexts();

/** A row's live mark as the person sees it: its words, and its title (the whole sentence, as a screen reader reads it). */
type SeenMark = { text: string; title: string };

/**
 * Records, in the page, every live mark shown, by the `name` of its row: a mark lasts a moment,
 * so the test reads what was shown rather than racing to see it.
 */
async function watchMarks(page: Page) {
  await page.evaluate(() => {
    const seen: Record<string, { text: string; title: string }[]> = {};
    (window as unknown as { seenMarks: typeof seen }).seenMarks = seen;
    const note = () => {
      for (const label of document.querySelectorAll('.mark-label[data-mark-for]')) {
        const row = document.querySelector(`tr[data-row-key="${CSS.escape(label.getAttribute('data-mark-for')!)}"]`)!;
        const name = row.querySelector('td[data-column="name"]')!.textContent!;
        const mark = { text: label.textContent!, title: row.getAttribute('title')! };
        const marks = (seen[name] ??= []);
        if (!marks.some((m) => m.text === mark.text && m.title === mark.title)) marks.push(mark);
      }
    };
    note();
    new MutationObserver(note).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
  });
  return () => page.evaluate(() => (window as unknown as { seenMarks: Record<string, SeenMark[]> }).seenMarks);
}

const INSERT_ROWS = 'mutation ($p: ID!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: "visits", rows: $rows) }';
const UPDATE_ROWS = 'mutation ($p: ID!, $where: JSON!, $set: JSONObject!) { updateRows(projectId: $p, table: "visits", where: $where, set: $set) }';

describe('live rows', () => {
  it('shows each of 50 rows a bot inserts at 10/s within 1 s of its commit, marked, without a reload', async () => {
    const { project, bot } = await setUp();
    const page = await open(base);
    // Newest first, so every new row lands in view.
    await openGrid(page, base, project.token, `#/p/${project.id}/t/visits?sort=id:DESC`);
    const seen = await watchRows(page);
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    const committed = new Map<string, number>();
    const start = Date.now();
    for (let i = 0; i < 50; i++) {
      // 10 a second, on a schedule (not after each arrival): the rate is the bot's, not the UI's.
      const due = start + i * 100;
      if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      // Taken before the insert is sent: its commit comes later, so the measured delay is an upper bound.
      const before = Date.now();
      const row = await bot.rows.insert('visits', { name: `bot ${i}`, amount: `${i}.10` });
      committed.set(JSON.stringify([row.id]), before);
      if (i === 3) await screenshot(page, 'grid-live-1280x800');
    }
    await page.getByText('Rows 1–50 of 50').waitFor();
    const appeared = await seen();
    const delays = [...committed].map(([key, at]) => ({ key, delay: appeared[key] === undefined ? Infinity : appeared[key]! - at }));
    const late = delays.filter((d) => d.delay > 1000);
    expect(late, `rows later than 1 s after their commit: ${JSON.stringify(late)}`).toEqual([]);
    console.log(`live rows: 50 inserts at 10/s; delay from before the insert to on screen: max ${Math.max(...delays.map((d) => d.delay))} ms, median ${delays.map((d) => d.delay).sort((x, y) => x - y)[25]} ms`);
    // The rows in view (the grid renders only those), newest first, values exact.
    const names = await gridTexts(page, 'name');
    expect(names.length).toBeGreaterThan(15);
    expect(names).toEqual(Array.from({ length: names.length }, (_, i) => `bot ${49 - i}`));
    expect(await gridTexts(page, 'amount')).toEqual(Array.from({ length: names.length }, (_, i) => `${49 - i}.10`));
    expect(navigations).toEqual([]);
    expect(problemsOf(page)).toEqual([]);
  }, 60_000);

  it('keeps the scroll position, the selection and an edit in progress while rows arrive, change and go', async () => {
    const { project, bot } = await setUp();
    await bot.rows.insert('visits', Array.from({ length: 200 }, (_, i) => ({ name: `row ${i + 1}`, amount: '1' })));
    const page = await open(base);
    await openGrid(page, base, project.token, `#/p/${project.id}/t/visits?sort=id:DESC`);
    await page.getByLabel('Rows per page').selectOption('500');
    await page.getByText('Rows 1–200 of 200').waitFor();
    await waitForSubscriberCount(t, 2);

    // Scroll to the middle, select a row there, start editing a cell of another.
    await page.locator('.grid-scroll').evaluate((element) => (element.scrollTop = 100 * 34));
    const selected = page.locator('tr[data-row-key="[\\"98\\"]"]');
    await selected.getByRole('checkbox').check();
    const edited = page.locator('tr[data-row-key="[\\"95\\"]"] td[data-column="name"]');
    await edited.dblclick();
    await page.getByLabel('Edit name').fill('half-typed');
    const topBefore = await page.locator('.grid-scroll').evaluate((element) => element.getBoundingClientRect().top);
    const positionOf = () => selected.evaluate((row, top) => Math.round(row.getBoundingClientRect().top - top), topBefore);
    const before = await positionOf();

    // Meanwhile: 5 rows inserted above, one row above updated, one below deleted, the edited row changed.
    await bot.rows.insert('visits', Array.from({ length: 5 }, (_, i) => ({ name: `new ${i}` })));
    await bot.rows.update('visits', { id: { _eq: '150' } }, { amount: '2' });
    await bot.rows.delete('visits', { id: { _eq: '10' } });
    await bot.rows.update('visits', { id: { _eq: '95' } }, { name: 'changed by the bot' });
    await page.getByText('Rows 1–204 of 204').waitFor();
    await page.getByText('Changed by someone else since you began; saving overwrites it.').waitFor();

    expect(await positionOf()).toBe(before);
    expect(await selected.getByRole('checkbox').isChecked()).toBe(true);
    expect(await page.getByLabel('Edit name').inputValue()).toBe('half-typed');
    await page.getByLabel('Edit name').press('Enter');
    await expect.poll(async () => (await bot.rows.find('visits', { where: { id: { _eq: '95' } } }))[0]!.name).toBe('half-typed');
    expect(problemsOf(page)).toEqual([]);
  }, 60_000);

  it('empties the grid when the table is cleared elsewhere', async () => {
    const { project, bot } = await setUp();
    await bot.rows.insert('visits', [{ name: 'a' }, { name: 'b' }]);
    const page = await open(base);
    await openGrid(page, base, project.token, `#/p/${project.id}/t/visits`);
    await page.getByText('Rows 1–2 of 2').waitFor();
    // As another dashboard would: clearTable, one CLEAR change.
    await t.ok('mutation ($p: ID!) { clearTable(projectId: $p, name: "visits") }', { p: project.id });
    await page.getByText('0 of 0 rows').waitFor();
    expect(await page.locator('tr[data-row-key]').count()).toBe(0);
  });
});

describe('who wrote a live row', () => {
  it('is shown on the row for a moment, in words: a bot in-process, an API key by name, the admin, a program outside the API', async () => {
    const { project, bot } = await setUp();
    const { createApiKey } = await t.ok('mutation ($p: ID!) { createApiKey(projectId: $p, name: "booking bot") { token } }', { p: project.id });
    await bot.rows.insert('visits', { name: 'already there', amount: '1' });
    const page = await open(base);
    await openGrid(page, base, project.token, `#/p/${project.id}/t/visits?sort=id:DESC`);
    const marks = await watchMarks(page);
    const columnsAt = () => page.locator('table.grid thead th').evaluateAll((cells) => cells.map((cell) => Math.round(cell.getBoundingClientRect().left)));
    const columnsBefore = await columnsAt();

    await bot.rows.insert('visits', { name: 'from the bot', amount: '2' });
    await page.locator('.mark-label').first().waitFor();
    // A mark takes no room: the columns stay where they were while it shows.
    expect(await columnsAt()).toEqual(columnsBefore);
    await t.ok(INSERT_ROWS, { p: project.id, rows: [{ name: 'from the key', amount: '3' }] }, createApiKey.token);
    await t.ok(INSERT_ROWS, { p: project.id, rows: [{ name: 'from the admin', amount: '4' }] });
    const psql = await loginRoleClient(project.id);
    await psql.query(`INSERT INTO visits (name, amount) VALUES ('from psql', 5)`);
    // Ended now: removing the project at the end of the file would end it from the server's side.
    await psql.end();
    await t.ok(UPDATE_ROWS, { p: project.id, where: { name: { _eq: 'already there' } }, set: { amount: '1.5' } }, createApiKey.token);
    await page.getByText('Rows 1–5 of 5').waitFor();
    await expect.poll(async () => (await marks())['already there']?.length ?? 0).toBe(1);
    await screenshot(page, 'grid-live-marks-1280x800');

    expect(await marks()).toEqual({
      'from the bot': [{ text: 'new · bot (in-process)', title: 'Inserted just now by bot (in-process)' }],
      'from the key': [{ text: 'new · API key booking bot', title: 'Inserted just now by API key booking bot' }],
      'from the admin': [{ text: 'new · admin', title: 'Inserted just now by admin' }],
      'from psql': [{ text: 'new · outside the API', title: 'Inserted just now outside the API (psql or another program)' }],
      'already there': [{ text: 'changed · API key booking bot', title: 'Changed just now by API key booking bot' }],
    });
    // A screen reader reads the sentence with the row (the words shown are hidden from it, not repeated).
    const row = page.getByRole('row', { name: /Changed just now by API key booking bot/ });
    expect(await row.locator('td[data-column="name"]').innerText()).toBe('already there');
    // For a moment only.
    await page.locator('.mark-label').first().waitFor({ state: 'detached' });
    await expect.poll(() => page.locator('.mark-label').count()).toBe(0);
    expect(problemsOf(page)).toEqual([]);
  }, 60_000);
});

describe('the live status', () => {
  it('says Connecting until the server accepts the socket, then Live; a row written meanwhile is not missed', async () => {
    const { project, bot } = await setUp(FIRST_AND_SECOND);
    const page = await open(base);
    // The server's acceptance of the socket (connection_ack) is held back until released: the
    // browser sends no subscription before it, as on a slow or half-open connection.
    let releaseAck: (() => void) | undefined;
    let ackArrived!: () => void;
    const ackHeld = new Promise<void>((resolve) => (ackArrived = resolve));
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      const server = socket.connectToServer();
      server.onMessage((message) => {
        if (releaseAck === undefined && JSON.parse(String(message)).type === 'connection_ack') {
          releaseAck = () => socket.send(message);
          return ackArrived();
        }
        socket.send(message);
      });
    });
    await signIn(page, base, project.token, `/#/p/${project.id}/t/visits`);
    await page.getByText('Rows 1–2 of 2').waitFor();
    await ackHeld;
    const status = page.getByRole('status').filter({ hasText: /^(Connecting…|Live)$/ });
    expect(await status.innerText()).toBe('Connecting…');
    expect(await status.getAttribute('title')).toMatch(/waiting for the server to accept the live connection/);
    // Written after the page was read, before any subscription reached the server.
    await bot.rows.insert('visits', { name: 'meanwhile', amount: '3' });

    releaseAck!();
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor();
    await page.getByText('Rows 1–3 of 3').waitFor();
    expect(await gridTexts(page, 'name')).toEqual(['first', 'second', 'meanwhile']);
    expect(problemsOf(page)).toEqual([]);
  }, 60_000);
});

describe('a dropped connection', () => {
  it('is shown, and on reconnect resumes from the last change: nothing written meanwhile is missed', async () => {
    const { project, bot } = await setUp(FIRST_AND_SECOND);
    const { relay, page } = await openGridThroughRelay(project);
    // One change seen live, so the grid holds a cursor to resume from.
    await bot.rows.insert('visits', { name: 'third', amount: '3' });
    await page.getByText('Rows 1–3 of 3').waitFor();

    relay.setDown(true);
    expect(relay.cutAll()).toBeGreaterThan(0);
    await page.getByText('Connection lost: reconnecting…').waitFor();
    await page.getByRole('status').filter({ hasText: /^Reconnecting…$/ }).waitFor();
    await screenshot(page, 'connection-lost-1280x800');
    // Written while the browser cannot hear: inserts, an update, a delete.
    await bot.rows.insert('visits', [{ name: 'while away 1', amount: '4' }, { name: 'while away 2', amount: '5' }]);
    await bot.rows.update('visits', { name: { _eq: 'first' } }, { amount: '10.5' });
    await bot.rows.delete('visits', { name: { _eq: 'second' } });
    relay.setDown(false);

    await page.getByText('Connection lost: reconnecting…').waitFor({ state: 'detached', timeout: 15_000 });
    await page.getByText('Rows 1–4 of 4').waitFor();
    const expected = await bot.rows.find('visits', { orderBy: [{ column: 'id' }] });
    expect(await gridTexts(page, 'name')).toEqual(expected.map((row) => row.name));
    expect(await gridTexts(page, 'amount')).toEqual(expected.map((row) => row.amount));
    expect(expected.map((row) => `${row.name}:${row.amount}`)).toEqual(['first:10.5', 'third:3', 'while away 1:4', 'while away 2:5']);
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor();
  }, 60_000);

  it('resumes from the page\'s own snapshot when no change came before the drop', async () => {
    const { project, bot } = await setUp(FIRST_AND_SECOND);
    const { relay, page } = await openGridThroughRelay(project);
    await page.getByText('Rows 1–2 of 2').waitFor();
    const marks = await watchMarks(page);

    relay.setDown(true);
    expect(relay.cutAll()).toBeGreaterThan(0);
    await page.getByRole('status').filter({ hasText: /^Reconnecting…$/ }).waitFor();
    await bot.rows.insert('visits', { name: 'while away', amount: '3' });
    await bot.rows.update('visits', { name: { _eq: 'first' } }, { amount: '10.5' });
    relay.setDown(false);

    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor({ timeout: 15_000 });
    await page.getByText('Rows 1–3 of 3').waitFor();
    await expect.poll(() => gridTexts(page, 'amount')).toEqual(['10.5', '2', '3']);
    // Replayed as the changes they were (marked with their writer), not read again as a page.
    expect(await marks()).toEqual({
      'while away': [{ text: 'new · bot (in-process)', title: 'Inserted just now by bot (in-process)' }],
      first: [{ text: 'changed · bot (in-process)', title: 'Changed just now by bot (in-process)' }],
    });
  }, 60_000);
});

describe('a person\'s own writes', () => {
  it('show at once even when no live change comes (a proxy that holds the grid\'s subscription)', async () => {
    const { project, bot } = await setUp(FIRST_AND_SECOND);
    const page = await open(base);
    // The socket works, but the grid's rowChanges never reaches the server: the state of every
    // grid in the moments before the server registers its subscription, held for the whole test.
    const held: string[] = [];
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      const server = socket.connectToServer();
      socket.onMessage((message) => {
        if (String(message).includes('rowChanges')) held.push(String(message));
        else server.send(message);
      });
    });
    await signIn(page, base, project.token, `/#/p/${project.id}/t/visits`);
    await page.getByText('Rows 1–2 of 2').waitFor();
    await waitForSubscriberCount(t, 1);
    await expect.poll(() => held.length).toBe(1);

    // Insert through the dialog.
    await page.getByRole('button', { name: 'Insert row' }).click();
    await page.getByRole('dialog').locator('#insert-name').fill('typed here');
    await page.getByRole('dialog').locator('#insert-amount').fill('3.5');
    await page.getByRole('dialog').getByRole('button', { name: 'Insert row' }).click();
    await page.getByText('Rows 1–3 of 3').waitFor();
    expect(await gridTexts(page, 'amount')).toEqual(['1', '2', '3.5']);
    // Edit a cell.
    await page.locator('td[data-column="name"]').first().dblclick();
    await page.getByLabel('Edit name').fill('edited here');
    await page.getByLabel('Edit name').press('Enter');
    await expect.poll(() => gridTexts(page, 'name')).toEqual(['edited here', 'second', 'typed here']);
    // Delete a row.
    await page.getByLabel('Select row 2', { exact: true }).check();
    await page.getByRole('button', { name: 'Delete 1 row' }).click();
    await page.getByRole('dialog').getByLabel(/Type delete to confirm/).fill('delete');
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Rows 1–2 of 2').waitFor();
    expect(await gridTexts(page, 'name')).toEqual(['edited here', 'typed here']);
    // Clear the table.
    await page.getByRole('button', { name: 'Clear table' }).click();
    await page.getByRole('dialog').getByLabel('Type visits to confirm').fill('visits');
    await page.getByRole('dialog').getByRole('button', { name: 'Clear table' }).click();
    await page.getByText('0 of 0 rows').waitFor();
    expect(await page.locator('tr[data-row-key]').count()).toBe(0);
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('the inbox', () => {
  it('shows a contact\'s conversation with its messages in order, updating as a bot records them', async () => {
    const { project, bot } = await setUp();
    await bot.contacts.upsert({ phone: '+14155550123', name: 'Ada Lovelace' });
    await bot.messages.record({ phone: '+14155550123', direction: 'inbound', body: 'Hello, can I book a haircut?' });
    const page = await open(base);
    await signIn(page, base, project.token, `/#/p/${project.id}/inbox`);
    await page.getByRole('button', { name: /Ada Lovelace/ }).waitFor();
    await waitForSubscriberCount(t, 3);
    await bot.messages.record({ phone: '+14155550123', direction: 'outbound', body: 'Sure! Which day?' });
    await bot.messages.record({ phone: '+14155550123', direction: 'inbound', body: 'Monday 2 June' });
    await bot.messages.record({ phone: '+14155550199', direction: 'inbound', body: 'Hi from someone new' });
    const messages = page.getByRole('list', { name: 'Messages with Ada Lovelace' }).locator('.message-body');
    await expect.poll(() => messages.allInnerTexts()).toEqual(['Hello, can I book a haircut?', 'Sure! Which day?', 'Monday 2 June']);
    await page.getByRole('button', { name: /\+14155550199/ }).waitFor();
    await page.getByRole('button', { name: /Ada Lovelace/ }).click();
    await screenshot(page, 'inbox-1280x800');
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('at 390×844', () => {
  it('shows the main screens readably on a phone', async () => {
    const { project, bot } = await setUp();
    await bot.rows.insert('visits', Array.from({ length: 30 }, (_, i) => ({ name: `visit ${i + 1}`, amount: `${i}.25` })));
    await bot.messages.record({ phone: '+14155550123', direction: 'inbound', body: 'Hello from a phone' });
    const page = await open(base, VIEWPORTS.phone);
    await page.goto(`${base}/`);
    await screenshot(page, 'sign-in-390x844');
    await signIn(page, base, t.adminToken);
    await page.getByRole('link', { name: project.name }).waitFor();
    await screenshot(page, 'projects-390x844');
    await page.goto(`${base}/#/p/${project.id}/t/visits`);
    await page.getByText('Rows 1–30 of 30').waitFor();
    await screenshot(page, 'grid-390x844');
    // A row a bot changes, marked at the right edge of the narrow view.
    await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor();
    await bot.rows.update('visits', { name: { _eq: 'visit 2' } }, { amount: '7.5' });
    await page.locator('.mark-label').waitFor();
    await screenshot(page, 'grid-live-390x844');
    await page.getByRole('button', { name: 'Insert row' }).click();
    await page.getByRole('dialog').waitFor();
    await screenshot(page, 'insert-row-390x844');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'New table' }).click();
    await screenshot(page, 'create-table-390x844');
    await page.getByRole('button', { name: 'Close' }).click();
    await page.goto(`${base}/#/p/${project.id}/inbox`);
    await page.getByText('Hello from a phone').waitFor();
    await screenshot(page, 'inbox-390x844');
    await page.goto(`${base}/#/p/${project.id}/keys`);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await screenshot(page, 'api-keys-390x844');
    // Nothing wider than the screen but the grid, which scrolls inside itself.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(problemsOf(page)).toEqual([]);
  });
});
