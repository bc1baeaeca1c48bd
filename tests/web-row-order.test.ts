import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowComparator } from '../web/src/grid/row-order.js';
import type { Column, OrderBy, Row } from '../web/src/api/documents.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';

/**
 * The live grid places a changed row among the rows of its page with the dashboard's own
 * comparator (web/src/grid/row-order.ts). It must order rows exactly as the server's ORDER BY
 * does (NULLS LAST ascending, FIRST descending, then the key), or a live row lands elsewhere than
 * the next read puts it. Checked against the real server on random values of each ordered type.
 */

let t: TestServer;
let p: TestProjectHandle;
let columns: Column[];

const COLUMNS = [
  { name: 'n', type: 'NUMERIC' },
  { name: 'b', type: 'BIGINT' },
  { name: 'i', type: 'INTEGER' },
  { name: 'ts', type: 'TIMESTAMPTZ' },
  { name: 'd', type: 'DATE' },
  { name: 's', type: 'TEXT' },
  { name: 'f', type: 'BOOLEAN' },
  { name: 'u', type: 'UUID' },
] as const;

beforeAll(async () => {
  t = await startTestServer();
  p = await createTestProject(t);
  await t.ok('mutation ($p: ID!, $input: CreateTableInput!) { createTable(projectId: $p, input: $input) { name } }', {
    p: p.id,
    input: { name: 'ordered', columns: COLUMNS.map((c) => ({ name: c.name, type: c.type })) },
  });
  const { project } = await t.ok('query ($p: ID!) { project(id: $p) { table(name: "ordered") { columns { name type nullable unique primaryKey default maxLength } } } }', { p: p.id });
  columns = project.table.columns;
});
afterAll(async () => {
  await p?.remove();
  await t?.stop();
});

const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
const decimal = fc
  .tuple(fc.constantFrom('', '-', '+'), digits(1, 22), fc.option(digits(0, 12)), fc.option(fc.integer({ min: -8, max: 8 })))
  .map(([sign, int, frac, exp]) => `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `e${exp}`}`);
const bigint = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const timestamp = fc
  .tuple(fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: 0, max: 999 }), fc.constantFrom('Z', '+05:30', '-08:00'))
  .map(([date, micros, offset]) => date.toISOString().replace('Z', `${String(micros).padStart(3, '0')}${offset}`));
// Code points on both sides of the UTF-16 surrogate range, where UTF-16 order and code point order differ.
const text = fc.string({ unit: fc.constantFrom('a', 'B', 'z', ' ', 'é', 'ß', '\u00ff', '\uE000', '\uFFFD', '😀', '𝔸', '0'), maxLength: 6 });
const row = fc.record({
  n: fc.option(decimal, { freq: 5 }),
  b: fc.option(bigint, { freq: 5 }),
  i: fc.option(fc.integer({ min: -2147483648, max: 2147483647 }), { freq: 5 }),
  ts: fc.option(timestamp, { freq: 5 }),
  d: fc.option(fc.date({ min: new Date('0100-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)), { freq: 5 }),
  s: fc.option(text, { freq: 5 }),
  f: fc.option(fc.boolean(), { freq: 5 }),
  u: fc.option(fc.uuid(), { freq: 5 }),
});

describe('the grid\'s row order', () => {
  it('sorts every ordered column type as the server orders it, both directions, nulls and ties included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 20, maxLength: 60 }), async (rows) => {
        await t.ok('mutation ($p: ID!) { clearTable(projectId: $p, name: "ordered") }', { p: p.id });
        await t.ok('mutation ($p: ID!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: "ordered", rows: $rows) }', { p: p.id, rows });
        for (const column of COLUMNS) {
          for (const direction of ['ASC', 'DESC'] as const) {
            const orderBy: OrderBy[] = [{ column: column.name, direction }];
            const { project } = await t.ok('query ($p: ID!, $o: [OrderBy!], $first: Int) { project(id: $p) { table(name: "ordered") { rows(orderBy: $o, first: $first) { nodes } } } }', { p: p.id, o: orderBy, first: 1000 });
            const served: Row[] = project.table.rows.nodes;
            const sorted = [...served].reverse().sort(rowComparator(columns, ['id'], orderBy));
            expect(sorted.map((r) => r.id), `${column.name} ${direction}`).toEqual(served.map((r) => r.id));
          }
        }
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
