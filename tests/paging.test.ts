import { beforeAll, describe, expect, it } from 'vitest';
import { expectError, recordStatements, rowApi, type RowsPage } from './support/rows.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';

let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;

interface Item {
  id: string;
  k: number;
  g: string | null;
}
/** The 1,000 rows as inserted (ids assigned by the identity column). */
let items: Item[];

const G = [null, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];

beforeAll(async () => {
  // Through a wire proxy, which shows the statements of the server's pool (recordStatements).
  t = await startTestServer({}, {}, { wireProxy: true });
  project = await createTestProject(t);
  api = rowApi(t, project);
  await api.createTable({
    name: 'items',
    columns: [
      { name: 'k', type: 'INTEGER', nullable: false },
      { name: 'g', type: 'TEXT' },
    ],
  });
  // One call, one statement: 1,000 rows whose sort columns have 10 distinct values each (g: NULL and 'a'..'i').
  const rows = Array.from({ length: 1000 }, (_, i) => ({ k: (i * 7) % 10, g: G[(i * 3) % 10] }));
  const result = await api.insert('items', rows);
  expect(result.errors).toBeUndefined();
  items = result.data.insertRows;
  expect(items).toHaveLength(1000);
});

/** Follows endCursor until hasNextPage is false; returns every id seen, in order. */
async function pageThrough(args: Record<string, unknown>, first: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const page: RowsPage = await api.page('items', { ...args, first, after });
    pages += 1;
    ids.push(...page.nodes.map((row) => row.id as string));
    if (!page.pageInfo.hasNextPage) return { ids, pages };
    expect(page.nodes).toHaveLength(first);
    after = page.pageInfo.endCursor;
    expect(after).toBeTruthy();
    if (pages > 100) throw new Error('paging does not end');
  }
}

const byId = (a: Item, b: Item) => Number(BigInt(a.id) - BigInt(b.id));
/** Postgres' order: NULLS LAST ascending, NULLS FIRST descending. */
function compareG(a: string | null, b: string | null, direction: 'ASC' | 'DESC'): number {
  if (a === b) return 0;
  if (a === null) return direction === 'ASC' ? 1 : -1;
  if (b === null) return direction === 'ASC' ? -1 : 1;
  return (a < b ? -1 : 1) * (direction === 'ASC' ? 1 : -1);
}

describe('keyset paging through 1,000 rows whose sort column has 10 distinct values', () => {
  it('k ASC (row comparison): every row exactly once, in order', async () => {
    const { ids, pages } = await pageThrough({ orderBy: [{ column: 'k' }] }, 97);
    const expected = [...items].sort((a, b) => a.k - b.k || byId(a, b)).map((item) => item.id);
    expect(new Set(ids).size).toBe(1000);
    expect(ids).toEqual(expected);
    expect(pages).toBe(11);
  });

  it('k DESC (ties broken by id ASC): every row exactly once, in order', async () => {
    const { ids } = await pageThrough({ orderBy: [{ column: 'k', direction: 'DESC' }] }, 100);
    const expected = [...items].sort((a, b) => b.k - a.k || byId(a, b)).map((item) => item.id);
    expect(ids).toEqual(expected);
  });

  it('nullable g DESC then k ASC (NULLs first, cursor values that are NULL)', async () => {
    const { ids } = await pageThrough({ orderBy: [{ column: 'g', direction: 'DESC' }, { column: 'k' }] }, 33);
    const expected = [...items].sort((a, b) => compareG(a.g, b.g, 'DESC') || a.k - b.k || byId(a, b)).map((item) => item.id);
    expect(ids).toEqual(expected);
  });

  it('nullable g ASC with a filter (NULLs last)', async () => {
    const { ids } = await pageThrough({ where: { k: { _in: [1, 2, 3] } }, orderBy: [{ column: 'g' }] }, 41);
    const expected = [...items]
      .filter((item) => [1, 2, 3].includes(item.k))
      .sort((a, b) => compareG(a.g, b.g, 'ASC') || byId(a, b))
      .map((item) => item.id);
    expect(ids).toEqual(expected);
  });

  it('offset jumps to a page; first defaults to 100 and is at most 1000', async () => {
    const expected = [...items].sort((a, b) => a.k - b.k || byId(a, b)).map((item) => item.id);
    const page = await api.page('items', { orderBy: [{ column: 'k' }], offset: 500, first: 10 });
    expect(page.nodes.map((row) => row.id)).toEqual(expected.slice(500, 510));
    const next = await api.page('items', { orderBy: [{ column: 'k' }], after: page.pageInfo.endCursor, offset: 5, first: 5 });
    expect(next.nodes.map((row) => row.id)).toEqual(expected.slice(515, 520));
    expect((await api.page('items')).nodes).toHaveLength(100);
    expect((await api.page('items', { first: 1000 })).pageInfo.hasNextPage).toBe(false);
    expectError(await api.rows('items', { first: 1001 }), 'BAD_USER_INPUT', 'first: expected between 0 and 1000, got 1001');
    expectError(await api.rows('items', { first: -1 }), 'BAD_USER_INPUT', 'first: expected between 0 and 1000, got -1');
    expectError(await api.rows('items', { offset: -3 }), 'BAD_USER_INPUT', 'offset: expected 0 or more, got -3');
  });

  it('a cursor is refused for another order, and when it is not a cursor at all', async () => {
    const page = await api.page('items', { orderBy: [{ column: 'k' }], first: 3 });
    expectError(await api.rows('items', { orderBy: [{ column: 'g' }], after: page.pageInfo.endCursor }), 'BAD_USER_INPUT', /^after: the cursor was made for the order/);
    expectError(await api.rows('items', { after: 'garbage!' }), 'BAD_USER_INPUT', /^after: not a cursor of this API/);
    const forged = Buffer.from(JSON.stringify({ k: ['k:ASC', 'id:ASC'], v: ['x', '1'] })).toString('base64url');
    expectError(await api.rows('items', { orderBy: [{ column: 'k' }], after: forged }), 'BAD_USER_INPUT', /^after\.k: expected an integer/);
    expectError(await api.rows('items', { orderBy: [{ column: 'nope' }] }), 'NOT_FOUND', 'orderBy[0]: column "nope" not found in table "items"');
    expectError(await api.rows('items', { orderBy: [{ column: 'k' }, { column: 'k', direction: 'DESC' }] }), 'BAD_USER_INPUT', 'orderBy[1]: column "k" is listed twice');
  });

  it('a page after a cursor, with a filter, is one statement', async () => {
    const first = await api.page('items', { where: { k: { _gte: 5 }, g: { _isNull: false } }, orderBy: [{ column: 'g', direction: 'DESC' }], first: 2 });
    const statements = await recordStatements(t, () =>
      api.page('items', { where: { k: { _gte: 5 }, g: { _isNull: false } }, orderBy: [{ column: 'g', direction: 'DESC' }], first: 2, after: first.pageInfo.endCursor }),
    );
    const onTable = statements.filter((s) => s.includes('"items"'));
    expect(onTable).toHaveLength(1);
    // The page's rows are this keyset read; around it, the page's byte cap (src/db/sql/rows.sql.ts).
    expect(onTable[0]).toContain(
      ` FROM "${project.schema}"."items" WHERE (("k" >= $1::int4) AND ("g" IS NOT NULL)) AND ("g" < $2::text OR ("g" = $2::text AND ("id" > $3::int8))) ORDER BY "g" DESC, "id" ASC LIMIT $4)`,
    );
  });
});
