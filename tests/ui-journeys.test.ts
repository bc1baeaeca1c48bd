import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { baseUrlOf, launchBrowser, problemsOf, screenshot, signIn, VIEWPORTS, type TestBrowser } from './support/browser.js';

/**
 * The dashboard's journeys in a real Chromium against the real server: what a person signs in
 * with, creates, edits, filters, sorts, pages, clears and drops, as they see it on the screen.
 * The live journeys (a bot writing, a dropped socket) are in ui-live.test.ts.
 */

let t: TestServer;
let b: TestBrowser;
let base: string;
const projects: TestProjectHandle[] = [];

beforeAll(async () => {
  t = await startTestServer();
  base = baseUrlOf(t);
  b = await launchBrowser();
});
afterAll(async () => {
  await b?.close();
  for (const project of projects) await project.remove();
  await t?.stop();
});

async function project(): Promise<TestProjectHandle> {
  const created = await createTestProject(t);
  projects.push(created);
  return created;
}

/** Every page of a journey must end without a script error or a CSP violation. */
function expectNoProblems(page: Page) {
  expect(problemsOf(page)).toEqual([]);
}

const gridRows = (page: Page) => page.locator('table.grid tbody tr[data-row-key]');
/** The column of the grid cell that has the keyboard focus (null: none has). */
const focusedColumn = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('data-column') ?? null);
/** The text of one column's cells, top to bottom, as the grid shows them. */
const columnTexts = (page: Page, column: string) => page.locator(`table.grid tbody td[data-column="${column}"]`).allInnerTexts();

describe('signing in', () => {
  it('refuses a wrong token with the API\'s message, and keeps a good one in sessionStorage only', async () => {
    const { page } = await b.open(base);
    await page.goto(`${base}/`);
    await screenshot(page, 'sign-in-1280x800');
    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toContain('Not signed in: invalid or revoked token');

    await page.getByLabel('Token').fill(t.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    expect(page.url()).not.toContain(t.adminToken);
    expect(await page.evaluate(() => sessionStorage.getItem('paige-db.token'))).toBe(t.adminToken);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);

    // Signing out forgets it.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('paige-db.token'))).toBeNull();
    expectNoProblems(page);
  });

  it('shows a project key only its own project; the admin creates one', async () => {
    const p = await project();
    const other = await project();
    const { page } = await b.open(base);
    await signIn(page, base, p.token);
    await page.getByRole('link', { name: p.name }).waitFor();
    expect(await page.getByRole('link', { name: other.name }).count()).toBe(0);
    // A project key may not create projects: the API's refusal is shown.
    await page.getByLabel('New project (admin token)').fill('not allowed');
    await page.getByRole('button', { name: 'Create project' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/admin/i);

    const admin = await b.open(base);
    await signIn(admin.page, base, t.adminToken);
    await admin.page.getByRole('link', { name: other.name }).waitFor();
    await screenshot(admin.page, 'projects-1280x800');
    await admin.page.getByLabel('New project (admin token)').fill('Dental bot UI');
    await admin.page.getByRole('button', { name: 'Create project' }).click();
    await admin.page.getByRole('heading', { name: 'Dental bot UI' }).waitFor();
    const { projects: all } = await t.ok('{ projects { id name } }');
    const created = all.find((x: { name: string }) => x.name === 'Dental bot UI');
    expect(created).toBeDefined();
    projects.push({ ...p, id: created.id, name: created.name, remove: async () => void (await t.gql('mutation ($id: ID!, $n: String!) { deleteProject(id: $id, confirmName: $n) }', { id: created.id, n: created.name })) });
    await screenshot(admin.page, 'project-1280x800');
    expectNoProblems(page);
    expectNoProblems(admin.page);
  });
});

describe('API keys', () => {
  const API_KEYS = 'query ($p: ID!) { apiKeys(projectId: $p) { id name createdAt lastUsedAt } }';
  const keyRows = (page: Page) => page.getByRole('table', { name: 'API keys' }).locator('tbody tr');
  /** A time as this browser's locale writes it (what the list shows). */
  const local = (page: Page, at: string) => page.evaluate((iso) => new Date(iso).toLocaleString(), at);

  it('creates a key whose token is shown once, with a copy button; the token works', async () => {
    const p = await project();
    const { context, page } = await b.open(base);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await signIn(page, base, t.adminToken, `/#/p/${p.id}/keys`);
    await page.getByLabel('Key name').fill('booking bot');
    await page.getByRole('button', { name: 'Create key' }).click();
    const token = await page.getByTestId('new-token').innerText();
    expect(token.length).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await screenshot(page, 'api-keys-1280x800');
    expect((await t.gql('{ projects { id } }', {}, token)).data.projects).toEqual([{ id: p.id }]);
    // Once dismissed, the token is not shown again.
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('new-token').waitFor({ state: 'detached' });
    expect(await page.getByText(token).count()).toBe(0);
    expectNoProblems(page);
  });

  it('lists the project\'s keys with name, creation and last use; a created key joins the list, a revoked one leaves it', async () => {
    const p = await project();
    // The project's own key, used once: its last use is recorded (after the request, not during it).
    await t.ok('{ projects { id } }', {}, p.token);
    await expect.poll(async () => (await t.ok(API_KEYS, { p: p.id })).apiKeys[0].lastUsedAt).not.toBeNull();
    const [used] = (await t.ok(API_KEYS, { p: p.id })).apiKeys;
    const { page } = await b.open(base);
    await signIn(page, base, t.adminToken, `/#/p/${p.id}/keys`);
    await expect.poll(() => keyRows(page).allInnerTexts()).toEqual([`test\t${await local(page, used.createdAt)}\t${await local(page, used.lastUsedAt)}\tRevoke`]);
    expect(await keyRows(page).locator('time').evaluateAll((times) => times.map((time) => time.getAttribute('datetime')))).toEqual([used.createdAt, used.lastUsedAt]);

    // A new key is listed after the existing one (oldest first), never used.
    await page.getByLabel('Key name').fill('booking bot');
    await page.getByRole('button', { name: 'Create key' }).click();
    const token = await page.getByTestId('new-token').innerText();
    const created = (await t.ok(API_KEYS, { p: p.id })).apiKeys.find((key: { name: string }) => key.name === 'booking bot');
    await expect.poll(() => keyRows(page).allInnerTexts()).toEqual([
      `test\t${await local(page, used.createdAt)}\t${await local(page, used.lastUsedAt)}\tRevoke`,
      `booking bot\t${await local(page, created.createdAt)}\tnever\tRevoke`,
    ]);

    // Revoking asks first, naming the key: cancelled, nothing happens.
    await page.getByRole('button', { name: 'Revoke key booking bot' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke API key "booking bot"' });
    await dialog.getByText('Every program using the key "booking bot" loses access to this project at once').waitFor();
    await screenshot(page, 'revoke-key-1280x800');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await t.gql('{ projects { id } }', {}, token)).data.projects).toEqual([{ id: p.id }]);
    // Confirmed only by the key's own name.
    await page.getByRole('button', { name: 'Revoke key booking bot' }).click();
    await dialog.getByLabel('Type booking bot to confirm').fill('booking');
    expect(await dialog.getByRole('button', { name: 'Revoke key' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Type booking bot to confirm').fill('booking bot');
    // Revoking it removes it from the list (and the token shown for it); its token stops working.
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('row', { name: /booking bot/ }).waitFor({ state: 'detached' });
    await page.getByTestId('new-token').waitFor({ state: 'detached' });
    await expect.poll(() => keyRows(page).locator('td:first-child').allInnerTexts()).toEqual(['test']);
    expect((await t.ok(API_KEYS, { p: p.id })).apiKeys.map((key: { name: string }) => key.name)).toEqual(['test']);
    const refused = await t.gql('{ projects { id } }', {}, token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Read again (a reload), the list is the server's.
    await page.reload();
    await expect.poll(() => keyRows(page).locator('td:first-child').allInnerTexts()).toEqual(['test']);
    expectNoProblems(page);
  });
});

/** Opens the create-table dialog and fills column `index` (1-based). */
async function fillColumn(page: Page, index: number, spec: { name: string; type: string; nullable?: boolean; unique?: boolean; defaultValue?: string; defaultExpression?: string; maxLength?: string }) {
  const dialog = page.getByRole('dialog');
  if (index > 1) await dialog.getByRole('button', { name: 'Add column', exact: true }).click();
  const group = dialog.getByRole('group', { name: `Column ${index}`, exact: true });
  await group.getByLabel('Name').fill(spec.name);
  await group.getByLabel('Type').selectOption(spec.type);
  if (spec.maxLength) await group.getByLabel('Max length').fill(spec.maxLength);
  if (spec.nullable === false) await group.getByLabel('nullable').uncheck();
  if (spec.unique) await group.getByLabel('unique').check();
  if (spec.defaultValue !== undefined) {
    await group.getByLabel('Default', { exact: true }).selectOption('value');
    await group.getByLabel('Default value').fill(spec.defaultValue);
  }
  if (spec.defaultExpression) await group.getByLabel('Default', { exact: true }).selectOption(spec.defaultExpression);
}

describe('a table from creation to drop', () => {
  it('creates a table with every column type, inserts, edits, filters, sorts, pages, deletes, clears and drops', async () => {
    const p = await project();
    const { page } = await b.open(base);
    await signIn(page, base, p.token, `/#/p/${p.id}`);

    // System tables are marked and protected.
    await page.getByRole('link', { name: /contacts/ }).click();
    await page.getByRole('heading', { name: /contacts/ }).waitFor();
    for (const action of ['Add column', 'Rename table', 'Clear table', 'Drop table']) expect(await page.getByRole('button', { name: action }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Column .* actions/ }).count()).toBe(0);
    expect(await page.locator('.sidebar .badge', { hasText: 'system' }).count()).toBe(3);

    // Create: the 11 types, with nullable, unique and defaults.
    await page.getByRole('button', { name: 'New table' }).click();
    await page.getByLabel('Table name').fill('everything');
    await screenshot(page, 'create-table-1280x800');
    const specs = [
      { name: 'c_text', type: 'TEXT', nullable: false },
      { name: 'c_varchar', type: 'VARCHAR', maxLength: '5', unique: true },
      { name: 'c_integer', type: 'INTEGER', defaultValue: '7' },
      { name: 'c_bigint', type: 'BIGINT' },
      { name: 'c_numeric', type: 'NUMERIC' },
      { name: 'c_boolean', type: 'BOOLEAN' },
      { name: 'c_date', type: 'DATE' },
      { name: 'c_timestamptz', type: 'TIMESTAMPTZ', defaultExpression: 'now()' },
      { name: 'c_uuid', type: 'UUID', defaultExpression: 'gen_random_uuid()' },
      { name: 'c_jsonb', type: 'JSONB' },
      { name: 'c_serial', type: 'SERIAL' },
    ];
    for (const [i, spec] of specs.entries()) await fillColumn(page, i + 1, spec);
    await page.getByRole('dialog').getByRole('button', { name: 'Create table' }).click();
    await page.getByRole('heading', { name: 'everything' }).waitFor();
    const { project: created } = await t.ok('query ($p: ID!) { project(id: $p) { table(name: "everything") { columns { name type nullable unique default maxLength } } } }', { p: p.id });
    expect(created.table.columns.map((c: { name: string; type: string }) => `${c.name}:${c.type}`)).toEqual(['id:BIGINT', ...specs.map((s) => `${s.name}:${s.type}`)]);
    const column = (name: string) => created.table.columns.find((c: { name: string }) => c.name === name);
    expect(column('c_text').nullable).toBe(false);
    expect(column('c_varchar')).toMatchObject({ unique: true, maxLength: 5 });
    expect(column('c_integer').default).toBe(7);
    expect(column('c_timestamptz').default).toEqual({ expression: 'now()' });
    // The sidebar counts the new table's rows.
    await page.locator('.sidebar a', { hasText: 'everything' }).locator('.count', { hasText: '0' }).waitFor();

    // Insert with typed inputs: a refused value shows the API's message next to its field, nothing is written.
    await page.getByRole('button', { name: 'Insert row' }).click();
    const form = page.getByRole('dialog');
    await form.locator('#insert-c_text').fill('Ada');
    await form.locator('#insert-c_varchar').fill('abc');
    await form.locator('#insert-c_bigint').fill('9007199254740993');
    await form.locator('#insert-c_numeric').fill('12345678901234567890.123456789');
    await form.locator('#insert-c_boolean').selectOption('true');
    await form.locator('#insert-c_date').fill('2025-06-02');
    await form.locator('#insert-c_timestamptz-mode').selectOption('value');
    await form.locator('#insert-c_timestamptz').fill('2025-06-02T09:30:00.123456+02:00');
    await form.locator('#insert-c_jsonb').fill('{"flow": "booking", ');
    await form.getByRole('button', { name: 'Insert row' }).click();
    await expect.poll(() => form.locator('#insert-c_jsonb-error').innerText()).toContain('not valid JSON');
    await form.locator('#insert-c_jsonb').fill('{"flow": "booking", "n": 1}');
    await form.locator('#insert-c_integer-mode').selectOption('value');
    await form.locator('#insert-c_integer').fill('3000000000');
    await form.getByRole('button', { name: 'Insert row' }).click();
    await expect.poll(() => form.locator('#insert-c_integer-error').innerText()).toContain('expected an integer between -2147483648 and 2147483647, got 3000000000');
    await screenshot(page, 'insert-row-error-1280x800');
    expect((await t.ok('query ($p: ID!) { project(id: $p) { table(name: "everything") { rows { totalCount } } } }', { p: p.id })).project.table.rows.totalCount).toBe(0);
    await form.locator('#insert-c_integer').fill('42');
    await form.getByRole('button', { name: 'Insert row' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    // The row shows up, numbers exact as typed.
    await gridRows(page).first().waitFor();
    expect(await columnTexts(page, 'c_bigint')).toEqual(['9007199254740993']);
    expect(await columnTexts(page, 'c_numeric')).toEqual(['12345678901234567890.123456789']);
    expect(await columnTexts(page, 'c_timestamptz')).toEqual(['2025-06-02T07:30:00.123456Z']);
    expect(await columnTexts(page, 'c_jsonb')).toEqual(['{"n":1,"flow":"booking"}']);
    expect(await columnTexts(page, 'c_serial')).toEqual(['1']);

    // Edit a cell inline: a refused value keeps the editor open with the API's error; a good one saves.
    await page.locator('td[data-column="c_varchar"]').first().dblclick();
    const editor = page.getByLabel('Edit c_varchar');
    await editor.fill('far too long');
    await editor.press('Enter');
    await expect.poll(() => page.locator('.cell-editor .error-text').innerText()).toContain('expected at most 5 characters, got 12');
    await screenshot(page, 'cell-error-1280x800');
    await editor.fill('short');
    await editor.press('Enter');
    await expect.poll(() => columnTexts(page, 'c_varchar')).toEqual(['short']);
    // Keyboard: Enter on the focused cell edits it, Escape leaves it unchanged.
    await page.locator('td[data-column="c_text"]').first().click();
    await page.keyboard.press('Enter');
    await page.getByLabel('Edit c_text').fill('changed?');
    await page.keyboard.press('Escape');
    // The focus is back on the cell at once, not polled for: the next key goes wherever it is
    // when Escape has been handled (a frame later, a Space went to the page and selected nothing).
    expect(await focusedColumn(page)).toBe('c_text');
    await page.getByLabel('Edit c_text').waitFor({ state: 'detached' });
    expect(await columnTexts(page, 'c_text')).toEqual(['Ada']);
    // Arrows move between cells; Enter edits the focused one; Space selects its row.
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => focusedColumn(page)).toBe('c_varchar');
    await page.keyboard.press('Enter');
    await page.getByLabel('Edit c_varchar').waitFor();
    await page.keyboard.press('Escape');
    expect(await focusedColumn(page)).toBe('c_varchar');
    await page.keyboard.press('Space');
    await expect.poll(() => page.getByLabel('Select row 1', { exact: true }).isChecked()).toBe(true);
    await page.keyboard.press('Space');
    await expect.poll(() => page.getByLabel('Select row 1', { exact: true }).isChecked()).toBe(false);

    // 119 more rows through the API, for filtering, sorting and paging.
    const rows = Array.from({ length: 119 }, (_, i) => ({ c_text: `row ${String(i + 2).padStart(3, '0')}`, c_integer: (i * 37) % 100, c_bigint: String(1000 + i), c_numeric: `${i}.5`, c_boolean: i % 2 === 0 }));
    await t.ok('mutation ($p: ID!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: "everything", rows: $rows) }', { p: p.id, rows });
    await page.getByText('Rows 1–120 of 120').waitFor();

    // Page by keyset: 50 a page.
    await page.getByLabel('Rows per page').selectOption('50');
    await page.getByText('Rows 1–50 of 120').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Rows 51–100 of 120').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Rows 101–120 of 120').waitFor();
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('Rows 51–100 of 120').waitFor();
    await page.getByRole('button', { name: 'First' }).click();
    await page.getByText('Rows 1–50 of 120').waitFor();

    // Sort by any column: c_integer descending, then ascending.
    await page.getByRole('button', { name: /^c_integer/ }).click();
    await page.getByRole('columnheader', { name: /c_integer/ }).and(page.locator('[aria-sort="ascending"]')).waitFor();
    await page.getByRole('button', { name: /^c_integer/ }).click();
    await page.locator('th[aria-sort="descending"]', { hasText: 'c_integer' }).waitFor();
    await expect.poll(async () => (await columnTexts(page, 'c_integer')).slice(0, 3)).toEqual(['99', '98', '97']);
    const descending = (await columnTexts(page, 'c_integer')).map(Number);
    expect(descending).toEqual([...descending].sort((x, y) => y - x));

    // Filter: c_boolean = true AND NOT (c_integer < 50), built in the filter builder.
    await page.getByRole('button', { name: 'Filter' }).click();
    const builder = page.getByRole('form', { name: 'Filter rows' });
    await builder.getByRole('button', { name: 'Add condition' }).click();
    const first = builder.locator('.filter-condition').nth(0);
    await first.getByLabel('Column').selectOption('c_boolean');
    // Exactly the operators the API accepts for a boolean: no like, no ilike.
    await expect.poll(() => first.getByLabel('Operator').locator('option').allInnerTexts()).toEqual(['=', '≠', '>', '≥', '<', '≤', 'in', 'not in', 'is null']);
    await first.getByLabel('Value').selectOption('true');
    await builder.getByRole('button', { name: 'Add group' }).click();
    const inner = builder.locator('.filter-group .filter-group');
    await inner.getByLabel('not').check();
    await inner.getByRole('button', { name: 'Add condition' }).click();
    const second = inner.locator('.filter-condition');
    await second.getByLabel('Column').selectOption('c_integer');
    await second.getByLabel('Operator').selectOption('_lt');
    await second.getByLabel('Value').fill('50');
    // jsonb: no ordering operators; text: like and ilike.
    // The outer group's button comes after the inner group's.
    await builder.getByRole('button', { name: 'Add condition' }).last().click();
    const third = builder.locator(':scope > fieldset > .filter-condition').nth(1);
    await third.getByLabel('Column').selectOption('c_jsonb');
    await expect.poll(() => third.getByLabel('Operator').locator('option').allInnerTexts()).toEqual(['=', '≠', 'in', 'not in', 'is null']);
    await third.getByLabel('Column').selectOption('c_text');
    await expect.poll(() => third.getByLabel('Operator').locator('option').allInnerTexts()).toEqual(['=', '≠', '>', '≥', '<', '≤', 'in', 'not in', 'like', 'ilike', 'is null']);
    await third.getByLabel('Operator').selectOption('_like');
    await third.getByLabel('Value').fill('row%');
    await builder.getByRole('button', { name: 'Apply filter' }).click();
    const expected = rows.filter((r) => r.c_boolean && !(r.c_integer < 50)).length;
    await page.getByText(`Rows 1–${expected} of ${expected}`).waitFor();
    expect((await columnTexts(page, 'c_boolean')).every((v) => v === 'true')).toBe(true);
    expect((await columnTexts(page, 'c_integer')).every((v) => Number(v) >= 50)).toBe(true);
    await screenshot(page, 'filter-1280x800');
    await builder.getByRole('button', { name: 'Clear filter' }).click();
    await page.getByText('Rows 1–50 of 120').waitFor();

    // Delete rows: select two, confirm.
    await page.getByRole('button', { name: /^c_integer/ }).click(); // back to the key order
    // The pager said "Rows 1–50 of 120" sorted too: wait for the rows themselves.
    await expect.poll(async () => (await columnTexts(page, 'c_text')).slice(0, 2)).toEqual(['Ada', 'row 002']);
    await page.getByText('Rows 1–50 of 120').waitFor();
    await page.getByLabel('Select row 1', { exact: true }).check();
    await page.getByLabel('Select row 2', { exact: true }).check();
    await page.getByRole('button', { name: 'Delete 2 rows' }).click();
    await page.getByRole('dialog').getByLabel(/Type delete to confirm/).fill('delete');
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Rows 1–50 of 118').waitFor();
    expect((await columnTexts(page, 'c_text')).slice(0, 1)).toEqual(['row 003']);

    // Columns: add, rename, drop.
    await page.getByRole('button', { name: 'Add column' }).click();
    const addDialog = page.getByRole('dialog');
    await addDialog.getByLabel('Name').fill('note');
    await addDialog.getByRole('button', { name: 'Add column' }).click();
    await page.getByRole('button', { name: /^note/ }).waitFor();
    await page.getByRole('button', { name: 'Column note actions' }).click();
    await page.getByRole('button', { name: 'Rename column' }).click();
    await page.getByLabel('New column name').fill('remark');
    await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('button', { name: /^remark/ }).waitFor();
    await page.getByRole('button', { name: 'Column remark actions' }).click();
    await page.getByRole('button', { name: 'Drop column' }).click();
    const dropColumn = page.getByRole('dialog');
    expect(await dropColumn.getByRole('button', { name: 'Drop column' }).isDisabled()).toBe(true);
    await dropColumn.getByLabel('Type remark to confirm').fill('remark');
    await dropColumn.getByRole('button', { name: 'Drop column' }).click();
    await page.getByRole('button', { name: /^remark/ }).waitFor({ state: 'detached' });

    // Rename the table; clear it (a confirmation naming it); drop it.
    await page.getByRole('button', { name: 'Rename table' }).click();
    await page.getByLabel('New table name').fill('renamed');
    await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'renamed' }).waitFor();
    await page.getByRole('button', { name: 'Clear table' }).click();
    const clear = page.getByRole('dialog');
    await clear.getByText('Every row of "renamed" is removed').waitFor();
    await clear.getByLabel('Type renamed to confirm').fill('renamed');
    await clear.getByRole('button', { name: 'Clear table' }).click();
    await page.getByText('0 of 0 rows').waitFor();
    await expect.poll(() => gridRows(page).count()).toBe(0);
    await page.getByRole('button', { name: 'Drop table' }).click();
    await page.getByRole('dialog').getByLabel('Type renamed to confirm').fill('renamed');
    await page.getByRole('dialog').getByRole('button', { name: 'Drop table' }).click();
    await page.getByText('Choose a table, or create one.').waitFor();
    await expect.poll(() => page.locator('.sidebar a', { hasText: 'renamed' }).count()).toBe(0);
    const { project: after } = await t.ok('query ($p: ID!) { project(id: $p) { tables(includeSystem: false) { name } } }', { p: p.id });
    expect(after.tables).toEqual([]);
    expectNoProblems(page);
  }, 120_000);
});
