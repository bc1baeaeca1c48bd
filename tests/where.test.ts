import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { readTable } from '../src/db/catalog.js';
import { type TableInfo } from '../src/domain/tables.js';
import { matchesWhere, parseWhere } from '../src/domain/where.js';
import { asSuperuser } from './support/postgres.js';
import { expectError, rowApi } from './support/rows.js';
import { seededRandom } from './support/random.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';

let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;
let table: TableInfo;
/** Every row of `f` as the API returns it. */
let all: Record<string, unknown>[];

const U = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;
const ROWS = [
  { id: 1, name: 'alpha', score: '1.5', n: 10, big: '9223372036854775807', ok: true, day: '2024-01-01', at: '2024-01-01T00:00:00.000001Z', u: U(1), data: { a: 1 }, code: 'AB' },
  { id: 2, name: 'Beta', score: '-2', n: 20, big: '-9223372036854775808', ok: false, day: '2024-02-29', at: '2024-01-01T01:00:00+01:00', u: U(2), data: [1, 2], code: 'ab' },
  { id: 3, name: 'gamma%', score: '1.50', n: null, big: '0', ok: true, day: '2023-12-31', at: '2024-06-01T12:00:00.5+02:00', u: U(3), data: { a: 1, b: [true] }, code: 'x_y' },
  { id: 4, name: null, score: null, n: 30, big: null, ok: null, day: null, at: null, u: null, data: null, code: null },
  { id: 5, name: 'delta_\\', score: '100000000000000000000000000000.000001', n: -5, big: '42', ok: false, day: '0001-01-01', at: '1999-12-31T23:59:59.999999-01:00', u: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', data: 'str', code: 'Z' },
  { id: 6, name: 'Élan', score: '0', n: 0, big: '-1', ok: true, day: '2024-01-02', at: '2024-01-01T00:00:00.000002Z', u: U(6), data: { b: [true], a: 1 }, code: 'é' },
  { id: 7, name: 'ábc😀', score: '1e3', n: 2147483647, big: '9007199254740993', ok: null, day: '9999-12-31', at: '2024-01-01T00:00:00Z', u: U(7), data: [], code: '' },
  { id: 8, name: 'ab😀', score: '-0.000001', n: 5, big: '-42', ok: true, day: '2024-01-01', at: '2024-01-01T05:30:00.000001+05:30', u: U(8), data: { a: 2 }, code: 'AB' },
];

beforeAll(async () => {
  t = await startTestServer();
  project = await createTestProject(t);
  api = rowApi(t, project);
  await api.createTable({
    name: 'f',
    primaryKey: ['id'],
    columns: [
      { name: 'id', type: 'INTEGER', nullable: false },
      { name: 'name', type: 'TEXT' },
      { name: 'score', type: 'NUMERIC' },
      { name: 'n', type: 'INTEGER' },
      { name: 'big', type: 'BIGINT' },
      { name: 'ok', type: 'BOOLEAN' },
      { name: 'day', type: 'DATE' },
      { name: 'at', type: 'TIMESTAMPTZ' },
      { name: 'u', type: 'UUID' },
      { name: 'data', type: 'JSONB' },
      { name: 'code', type: 'VARCHAR', maxLength: 5 },
    ],
  });
  const inserted = await api.insert('f', ROWS);
  expect(inserted.errors).toBeUndefined();
  table = (await asSuperuser((client) => readTable(client as unknown as pg.Pool, project.schema, 'f')))!;
  all = (await api.page('f', { first: 1000 })).nodes;
  expect(all).toHaveLength(ROWS.length);
});

/** The ids the API returns for a filter, and checks the in-memory evaluator picks the same rows. */
async function ids(where: unknown): Promise<number[]> {
  const result = await api.rows('f', { where, first: 1000 });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const sqlIds = result.data.project.table.rows.nodes.map((row: { id: number }) => row.id);
  const node = parseWhere(table, where);
  const memoryIds = all.filter((row) => matchesWhere(node, row)).map((row) => row.id);
  expect(memoryIds, `in-memory vs SQL for ${JSON.stringify(where)}`).toEqual(sqlIds);
  return sqlIds;
}

describe('every operator, checked against expected ids (and the in-memory evaluator)', () => {
  const cases: [string, unknown, number[]][] = [
    ['_eq text', { name: { _eq: 'alpha' } }, [1]],
    ['_neq text (NULL never matches)', { name: { _neq: 'alpha' } }, [2, 3, 5, 6, 7, 8]],
    ['_gt text by code point', { name: { _gt: 'b' } }, [3, 5, 6, 7]],
    ['_lte text', { name: { _lte: 'ab😀' } }, [2, 8]],
    ['_eq numeric ignores scale', { score: { _eq: '1.5000' } }, [1, 3]],
    ['_gte numeric', { score: { _gte: '1.5' } }, [1, 3, 5, 7]],
    ['_lt numeric given as a number', { score: { _lt: 0 } }, [2, 8]],
    ['_gt numeric with 36 digits', { score: { _gt: '100000000000000000000000000000.0000005' } }, [5]],
    ['_lte integer', { n: { _lte: 10 } }, [1, 5, 6, 8]],
    ['_gt bigint beyond 2^53', { big: { _gt: '9007199254740992' } }, [1, 7]],
    ['_lt bigint', { big: { _lt: '-1' } }, [2, 8]],
    ['_eq bigint as a number', { big: { _eq: 42 } }, [5]],
    ['_eq boolean', { ok: { _eq: false } }, [2, 5]],
    ['_neq boolean', { ok: { _neq: true } }, [2, 5]],
    ['_gte date', { day: { _gte: '2024-01-01' } }, [1, 2, 6, 7, 8]],
    ['_lt date', { day: { _lt: '2024-01-01' } }, [3, 5]],
    ['_gt timestamptz (microseconds, any offset)', { at: { _gt: '2024-01-01T00:00:00Z' } }, [1, 3, 6, 8]],
    ['_eq timestamptz in another offset', { at: { _eq: '2023-12-31T19:00:00-05:00' } }, [2, 7]],
    ['_eq timestamptz, one microsecond apart', { at: { _eq: '2024-01-01T00:00:00.000001Z' } }, [1, 8]],
    ['_lte timestamptz', { at: { _lte: '2000-01-01T00:59:59.999999Z' } }, [5]],
    ['_eq uuid in any case', { u: { _eq: U(3).toUpperCase() } }, [3]],
    ['_gt uuid', { u: { _gt: U(6) } }, [5, 7, 8]],
    ['_eq jsonb ignores key order', { data: { _eq: { b: [true], a: 1 } } }, [3, 6]],
    ['_neq jsonb', { data: { _neq: { a: 1 } } }, [2, 3, 5, 6, 7, 8]],
    ['_eq jsonb string', { data: { _eq: 'str' } }, [5]],
    ['_in integer', { n: { _in: [10, 30, 99] } }, [1, 4]],
    ['_nin integer (NULL never matches)', { n: { _nin: [10, 30] } }, [2, 5, 6, 7, 8]],
    ['_in empty matches nothing', { n: { _in: [] } }, []],
    ['_nin empty matches everything, NULL too', { n: { _nin: [] } }, [1, 2, 3, 4, 5, 6, 7, 8]],
    ['_in jsonb', { data: { _in: [[1, 2], { a: 2 }] } }, [2, 8]],
    ['_in uuid', { u: { _in: [U(1), 'ffffffff-ffff-ffff-ffff-ffffffffffff'] } }, [1, 5]],
    ['_in timestamptz', { at: { _in: ['2024-01-01T00:00:00Z'] } }, [2, 7]],
    ['_like', { name: { _like: '%a%' } }, [1, 2, 3, 5, 6, 8]],
    ['_like _ is one character (code point)', { name: { _like: 'ab_' } }, [8]],
    ['_like with escaped % and _', { name: { _like: 'gamma\\%' } }, [3]],
    ['_like with escaped backslash', { name: { _like: 'delta\\_\\\\' } }, [5]],
    ['_like on varchar', { code: { _like: 'x\\_y' } }, [3]],
    ['_ilike', { name: { _ilike: 'BETA' } }, [2]],
    ['_ilike ASCII on varchar', { code: { _ilike: 'ab' } }, [1, 2, 8]],
    ['_isNull true', { name: { _isNull: true } }, [4]],
    ['_isNull false', { n: { _isNull: false } }, [1, 2, 4, 5, 6, 7, 8]],
    ['two operators on one column', { n: { _gte: 0, _lt: 20 } }, [1, 6, 8]],
    ['two columns', { ok: { _eq: true }, n: { _gt: 0 } }, [1, 8]],
    ['_and', { _and: [{ ok: { _eq: true } }, { day: { _eq: '2024-01-01' } }] }, [1, 8]],
    ['_or', { _or: [{ n: { _eq: 20 } }, { name: { _eq: 'alpha' } }] }, [1, 2]],
    ['_or empty matches nothing', { _or: [] }, []],
    ['_not (NOT of unknown stays unknown)', { _not: { n: { _gt: 5 } } }, [5, 6, 8]],
    ['_not _isNull', { _not: { name: { _isNull: true } } }, [1, 2, 3, 5, 6, 7, 8]],
    ['_not _nin', { _not: { n: { _nin: [10] } } }, [1]],
    ['nested', { _or: [{ _and: [{ ok: { _eq: true } }, { _not: { score: { _gt: 1 } } }] }, { big: { _isNull: true } }] }, [4, 6, 8]],
  ];
  it.each(cases)('%s', async (_label, where, expected) => {
    expect(await ids(where)).toEqual(expected);
  });

  it('_ilike beyond ASCII agrees with the in-memory evaluator', async () => {
    // Case folding of É depends on the database's LC_CTYPE; whatever Postgres says, memory must agree.
    const found = await ids({ name: { _ilike: 'élan' } });
    expect(found.length).toBeLessThanOrEqual(1);
  });
});

describe('SQL and in-memory agree on random filters', () => {
  it('300 random filters over every column and operator', async () => {
    const { next, pick } = seededRandom(20241126);
    const valuesOf = (column: string) => ROWS.map((row) => (row as Record<string, unknown>)[column]).filter((v) => v !== null);
    const columns = ['name', 'score', 'n', 'big', 'ok', 'day', 'at', 'u', 'data', 'code'];
    const condition = (): Record<string, unknown> => {
      const column = pick(columns);
      const text = column === 'name' || column === 'code';
      const ops = ['_eq', '_neq', '_in', '_nin', '_isNull', ...(column === 'data' ? [] : ['_gt', '_gte', '_lt', '_lte']), ...(text ? ['_like', '_ilike'] : [])];
      const op = pick(ops);
      const value =
        op === '_isNull' ? next() < 0.5
        : op === '_in' || op === '_nin' ? Array.from({ length: Math.floor(next() * 3) }, () => pick(valuesOf(column)))
        : op === '_like' || op === '_ilike' ? pick(['%a%', '_%', '%😀', 'A%', '%\\%', '___', ''])
        : pick(valuesOf(column));
      return { [column]: { [op]: value } };
    };
    const filter = (depth: number): Record<string, unknown> => {
      const roll = next();
      if (depth >= 3 || roll < 0.4) return condition();
      if (roll < 0.6) return { _not: filter(depth + 1) };
      const children = Array.from({ length: 1 + Math.floor(next() * 3) }, () => filter(depth + 1));
      return roll < 0.8 ? { _and: children } : { _or: children };
    };
    for (let i = 0; i < 300; i++) await ids(filter(0));
  });
});

describe('invalid filters are refused before any SQL runs', () => {
  const bad: [string, unknown, string, string | RegExp][] = [
    ['unknown column', { nope: { _eq: 1 } }, 'NOT_FOUND', 'where: column "nope" not found in table "f"'],
    ['unknown column deep inside', { _or: [{ n: { _eq: 1 } }, { _not: { nope: { _eq: 1 } } }] }, 'NOT_FOUND', 'where._or[1]._not: column "nope" not found in table "f"'],
    ['wrong value type', { n: { _eq: 'ten' } }, 'BAD_USER_INPUT', 'where.n._eq: expected an integer (a JSON number), got "ten"'],
    ['wrong value in a list', { day: { _in: ['2024-01-01', '2024-13-01'] } }, 'BAD_USER_INPUT', /^where\.day\._in\[1\]: expected a valid calendar date/],
    ['null operand', { n: { _eq: null } }, 'BAD_USER_INPUT', 'where.n._eq: a filter value cannot be null; use _isNull'],
    ['unknown operator', { n: { _between: [1, 2] } }, 'BAD_USER_INPUT', /^where\.n\._between: unknown operator "_between"/],
    ['_like on a number', { n: { _like: '1%' } }, 'BAD_USER_INPUT', 'where.n._like: _like applies to text and varchar columns; "n" is integer'],
    ['_gt on jsonb', { data: { _gt: 1 } }, 'BAD_USER_INPUT', /jsonb column "data" can only be compared with _eq/],
    ['trailing escape in LIKE', { name: { _like: 'abc\\' } }, 'BAD_USER_INPUT', /cannot end with a lone backslash/],
    ['not an object', [1, 2], 'BAD_USER_INPUT', /^where: expected an object/],
    ['_and not a list', { _and: { n: { _eq: 1 } } }, 'BAD_USER_INPUT', 'where._and: expected a list of filters'],
    ['too deep', JSON.parse('{"_not":'.repeat(20) + '{"n":{"_eq":1}}' + '}'.repeat(20)), 'BAD_USER_INPUT', /nested more than 16 levels deep/],
    ['too many conditions', { _or: Array.from({ length: 501 }, (_, i) => ({ n: { _eq: i } })) }, 'BAD_USER_INPUT', /more than 500 conditions/],
  ];
  it.each(bad)('%s', async (_label, where, code, message) => {
    const error = expectError(await api.rows('f', { where }), code, message);
    if (code === 'BAD_USER_INPUT' && typeof message === 'string' && message.startsWith('where.n')) expect(error.extensions?.column).toBe('n');
  });
});
