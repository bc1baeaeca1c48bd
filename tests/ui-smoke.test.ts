import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestProject, startTestServer, type TestServer } from './support/server.js';
import { baseUrlOf, launchBrowser, problemsOf, screenshot, signIn, type TestBrowser } from './support/browser.js';

let t: TestServer;
let b: TestBrowser;
beforeAll(async () => {
  t = await startTestServer();
  b = await launchBrowser();
});
afterAll(async () => {
  await b?.close();
  await t?.stop();
});

it('smoke', async () => {
  const p = await createTestProject(t);
  await t.ok(`mutation ($p: ID!) { createTable(projectId: $p, input: { name: "bookings", columns: [{ name: "name", type: TEXT }, { name: "price", type: NUMERIC }, { name: "data", type: JSONB }] }) { name } }`, { p: p.id });
  await t.ok(`mutation ($p: ID!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: "bookings", rows: $rows) }`, { p: p.id, rows: [{ name: 'Ada', price: '12.50', data: { a: 1 } }, { name: 'Bob', price: '3', data: null }] });
  const { page } = await b.open(baseUrlOf(t));
  await signIn(page, baseUrlOf(t), t.adminToken);
  await screenshot(page, 'smoke-projects');
  await page.goto(`${baseUrlOf(t)}/#/p/${p.id}/t/bookings`);
  await page.getByText('Ada').waitFor();
  await screenshot(page, 'smoke-grid');
  console.log(problemsOf(page));
  expect(problemsOf(page)).toEqual([]);
});
