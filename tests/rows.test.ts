import { beforeAll, describe, expect, it } from 'vitest';
import { asSuperuser, createEmptyDatabase } from './support/postgres.js';
import { expectError, recordStatements, rowApi } from './support/rows.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';

let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;

const ALL_TYPES = {
  name: 'all_types',
  columns: [
    { name: 'c_text', type: 'TEXT' },
    { name: 'c_varchar', type: 'VARCHAR', maxLength: 10 },
    { name: 'c_integer', type: 'INTEGER' },
    { name: 'c_bigint', type: 'BIGINT' },
    { name: 'c_numeric', type: 'NUMERIC' },
    { name: 'c_boolean', type: 'BOOLEAN' },
    { name: 'c_date', type: 'DATE' },
    { name: 'c_timestamptz', type: 'TIMESTAMPTZ' },
    { name: 'c_uuid', type: 'UUID' },
    { name: 'c_jsonb', type: 'JSONB' },
    { name: 'c_serial', type: 'SERIAL' },
  ],
};

/**
 * This file's own database: the statement counts below see only this file's server, not a metadata
 * cache reading again because another test file changed its tables in the shared database.
 */
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createEmptyDatabase();
  // Through a wire proxy, which shows the statements of the server's pool (recordStatements).
  t = await startTestServer({ DATABASE_URL: databaseUrl }, {}, { wireProxy: true });
  project = await createTestProject(t);
  api = rowApi(t, project);
  await api.createTable(ALL_TYPES);
  await api.createTable({
    name: 'people',
    columns: [
      { name: 'email', type: 'TEXT', nullable: false, unique: true },
      { name: 'name', type: 'VARCHAR', maxLength: 20, nullable: false },
      { name: 'age', type: 'INTEGER' },
    ],
  });
});

/** What Postgres itself holds, printed as text by Postgres (not through the API's parsers). */
const storedText = (table: string, column: string, id: string) =>
  asSuperuser(async (client) => {
    const { rows } = await client.query(`SELECT "${column}"::text AS v FROM "${project.schema}"."${table}" WHERE id = $1`, [id]);
    return rows[0]?.v as string | null;
  }, databaseUrl);

const countRows = (table: string) =>
  asSuperuser(async (client) => Number((await client.query(`SELECT count(*) AS n FROM "${project.schema}"."${table}"`)).rows[0].n), databaseUrl);

describe('values round-trip exactly', () => {
  const jsonb = { ключ: ['😀', { 'a"b': 'c\\d', nested: { x: [1, 2.5, -0.001, true, null, 1e300, 9007199254740991] } }], emoji: '👩‍👩‍👧', empty: {}, list: [] };
  const text = `it's "quoted" \\ back\\slash \\\\ '' \n\t newline; DROP TABLE x; -- ünïcödé 𝄞`;
  const cases: { column: string; input: unknown; output: unknown; stored?: string }[] = [
    { column: 'c_text', input: text, output: text, stored: text },
    { column: 'c_varchar', input: '😀😀😀😀😀😀😀😀😀😀', output: '😀😀😀😀😀😀😀😀😀😀' },
    { column: 'c_integer', input: 2147483647, output: 2147483647 },
    { column: 'c_integer', input: -2147483648, output: -2147483648 },
    { column: 'c_bigint', input: '9223372036854775807', output: '9223372036854775807', stored: '9223372036854775807' },
    { column: 'c_bigint', input: '-9223372036854775807', output: '-9223372036854775807' },
    { column: 'c_bigint', input: '-9223372036854775808', output: '-9223372036854775808' },
    { column: 'c_bigint', input: 9007199254740991, output: '9007199254740991' },
    { column: 'c_numeric', input: '12345678901234567890123456789012.345678', output: '12345678901234567890123456789012.345678', stored: '12345678901234567890123456789012.345678' },
    { column: 'c_numeric', input: '-0.00000000000000000000000000000000000001', output: '-0.00000000000000000000000000000000000001' },
    { column: 'c_numeric', input: '1.50', output: '1.50' },
    { column: 'c_numeric', input: 0.1, output: '0.1' },
    { column: 'c_boolean', input: false, output: false },
    { column: 'c_date', input: '2024-02-29', output: '2024-02-29' },
    { column: 'c_date', input: '0001-01-01', output: '0001-01-01' },
    { column: 'c_timestamptz', input: '2024-05-01T12:30:00.123456+02:00', output: '2024-05-01T10:30:00.123456Z', stored: '2024-05-01 10:30:00.123456+00' },
    { column: 'c_timestamptz', input: '2024-05-01T12:30:00.000001-07:30', output: '2024-05-01T20:00:00.000001Z' },
    { column: 'c_timestamptz', input: '1999-12-31T23:59:59.999999Z', output: '1999-12-31T23:59:59.999999Z' },
    { column: 'c_timestamptz', input: '2024-01-01T05:45:00.5+05:45', output: '2024-01-01T00:00:00.5Z' },
    { column: 'c_uuid', input: '123E4567-E89B-12D3-A456-426614174000', output: '123e4567-e89b-12d3-a456-426614174000' },
    { column: 'c_jsonb', input: jsonb, output: jsonb },
    { column: 'c_jsonb', input: 'just a string "with quotes"', output: 'just a string "with quotes"' },
    { column: 'c_jsonb', input: [1, [2, [3]]], output: [1, [2, [3]]] },
    { column: 'c_serial', input: 2147483647, output: 2147483647 },
  ];

  it.each(cases)('$column: $input', async ({ column, input, output, stored }) => {
    const inserted = await api.insert('all_types', [{ [column]: input }]);
    expect(inserted.errors).toBeUndefined();
    const row = inserted.data.insertRows[0];
    expect(row[column]).toEqual(output);
    const read = await api.page('all_types', { where: { id: { _eq: row.id } } });
    expect(read.nodes).toEqual([row]);
    if (stored !== undefined) expect(await storedText('all_types', column, row.id)).toBe(stored);
  });

  it('a row that gives no column gets every default (identity id, serial), and nulls', async () => {
    const { data } = await api.insert('all_types', [{}, {}]);
    const [a, b] = data.insertRows;
    expect(BigInt(b.id) - BigInt(a.id)).toBe(1n);
    expect(typeof a.c_serial).toBe('number');
    expect(a.c_text).toBeNull();
    expect(Object.keys(a)).toEqual(['id', ...ALL_TYPES.columns.map((c) => c.name)]);
  });
});

describe('bad values: BAD_USER_INPUT naming column and row index, nothing written', () => {
  const bad: [string, unknown, RegExp][] = [
    ['c_integer', 2147483648, /expected an integer between -2147483648 and 2147483647/],
    ['c_integer', 1.5, /expected an integer/],
    ['c_integer', '1', /expected an integer \(a JSON number\), got "1"/],
    ['c_bigint', '9223372036854775808', /expected a bigint between/],
    ['c_bigint', 2 ** 60, /expected a bigint/],
    ['c_bigint', '12abc', /expected a bigint/],
    ['c_numeric', 'abc', /expected a numeric/],
    ['c_numeric', '1e', /expected a numeric/],
    ['c_boolean', 'true', /expected true or false/],
    ['c_date', '2023-02-29', /expected a valid calendar date/],
    ['c_date', '2024-1-1', /expected a valid calendar date/],
    ['c_timestamptz', '2024-05-01T12:00:00', /with an offset/],
    ['c_timestamptz', '2024-05-01T12:00:00.1234567Z', /at most 6 fractional digits/],
    ['c_timestamptz', '2024-05-01T24:00:00Z', /with an offset/],
    ['c_uuid', 'not-a-uuid', /expected a uuid/],
    ['c_text', 'nul\u0000byte', /NUL/],
    ['c_text', 42, /expected a string/],
    ['c_varchar', '12345678901', /at most 10 characters, got 11/],
    ['c_jsonb', { k: 'nul\u0000' }, /jsonb can store/],
  ];
  it.each(bad)('%s = %j', async (column, value, message) => {
    const before = await countRows('all_types');
    const result = await api.insert('all_types', [{ c_text: 'fine' }, { [column]: value }]);
    const error = expectError(result, 'BAD_USER_INPUT', message);
    expect(error.message.startsWith(`rows[1].${column}: `), error.message).toBe(true);
    expect(error.extensions).toMatchObject({ column, row: 1 });
    expect(await countRows('all_types')).toBe(before);
  });

  it('an unknown column is NOT_FOUND naming it and the table', async () => {
    const error = expectError(await api.insert('all_types', [{ c_text: 'a' }, { nope: 1 }]), 'NOT_FOUND', 'rows[1]: column "nope" not found in table "all_types"');
    expect(error.extensions).toMatchObject({ column: 'nope', row: 1 });
  });

  it('an unknown table is NOT_FOUND naming it', async () => {
    expectError(await api.insert('nope', [{ a: 1 }]), 'NOT_FOUND', 'table "nope" not found');
    expectError(await api.remove('nope', { a: { _eq: 1 } }), 'NOT_FOUND', 'table "nope" not found');
  });

  it("another project's key cannot tell this project's rows from missing ones (NOT_FOUND), nothing is written", async () => {
    const other = await createTestProject(t);
    const before = await countRows('people');
    const result = await t.gql(
      `mutation ($p: ID!) { insertRows(projectId: $p, table: "people", rows: [{ email: "x@x", name: "X" }]) }`,
      { p: project.id },
      other.token,
    );
    expectError(result, 'NOT_FOUND', `project "${project.id}" not found`);
    expectError(await t.gql(`mutation ($p: ID!) { deleteRows(projectId: $p, table: "people", where: { age: { _gt: 0 } }) }`, { p: project.id }, other.token), 'NOT_FOUND');
    expect(await countRows('people')).toBe(before);
  });

  it('a missing NOT NULL column and an explicit null are BAD_USER_INPUT with the row index', async () => {
    expectError(await api.insert('people', [{ email: 'a@x', name: 'A' }, { email: 'b@x' }]), 'BAD_USER_INPUT', /^rows\[1\]\.name: column "name" cannot be null and has no default/);
    expectError(await api.insert('people', [{ email: 'c@x', name: null }]), 'BAD_USER_INPUT', 'rows[0].name: column "name" cannot be null');
    expect(await countRows('people')).toBe(0);
  });

  it('0 rows and 1001 rows are refused', async () => {
    expectError(await api.insert('people', []), 'BAD_USER_INPUT', 'rows: expected between 1 and 1000 rows, got 0');
    const many = Array.from({ length: 1001 }, (_, i) => ({ email: `${i}@x`, name: 'n' }));
    expectError(await api.insert('people', many), 'BAD_USER_INPUT', 'rows: expected between 1 and 1000 rows, got 1001');
  });

  it('a unique violation is CONFLICT naming the column, and the whole batch is rolled back', async () => {
    await api.insert('people', [{ email: 'taken@x', name: 'T' }]);
    const before = await countRows('people');
    const error = expectError(await api.insert('people', [{ email: 'new@x', name: 'N' }, { email: 'taken@x', name: 'T2' }]), 'CONFLICT', /"email"/);
    expect(error.extensions).toMatchObject({ columns: ['email'] });
    expect(await countRows('people')).toBe(before);
  });

  it('a foreign key violation on a system table is CONFLICT naming the column', async () => {
    const error = expectError(await api.insert('conversations', [{ contact_id: '999999' }]), 'CONFLICT', /"contact_id"/);
    expect(error.extensions).toMatchObject({ columns: ['contact_id'] });
  });
});

describe('writes', () => {
  it('rows of system tables can be written and read', async () => {
    const { data } = await api.insert('contacts', [{ phone: '+15550001', name: 'Ann', profile: { vip: true } }]);
    expect(data.insertRows[0]).toMatchObject({ phone: '+15550001', name: 'Ann', profile: { vip: true } });
    const { data: updated } = await api.update('contacts', { phone: { _eq: '+15550001' } }, { name: 'Anne' });
    expect(updated.updateRows).toHaveLength(1);
    expect(updated.updateRows[0].name).toBe('Anne');
  });

  it('updateRows sets the given columns on matching rows and returns them; values are validated', async () => {
    await api.insert('people', [
      { email: 'u1@x', name: 'U1', age: 10 },
      { email: 'u2@x', name: 'U2', age: 20 },
      { email: 'u3@x', name: 'U3', age: 30 },
    ]);
    const { data } = await api.update('people', { email: { _in: ['u1@x', 'u2@x'] } }, { age: 99 });
    expect(data.updateRows.map((r: { email: string; age: number }) => [r.email, r.age]).sort()).toEqual([
      ['u1@x', 99],
      ['u2@x', 99],
    ]);
    expectError(await api.update('people', { email: { _eq: 'u3@x' } }, { age: 'old' }), 'BAD_USER_INPUT', /^set\.age: expected an integer/);
    expectError(await api.update('people', { email: { _eq: 'u3@x' } }, { nope: 1 }), 'NOT_FOUND', 'set: column "nope" not found in table "people"');
    expectError(await api.update('people', { email: { _eq: 'u3@x' } }, {}), 'BAD_USER_INPUT', 'set: give at least one column to change');
    expectError(await api.update('people', { email: { _eq: 'u3@x' } }, { email: 'u1@x' }), 'CONFLICT', /"email"/);
    expectError(await api.update('people', { email: { _eq: 'u3@x' } }, { name: null }), 'BAD_USER_INPUT', 'set.name: column "name" cannot be null');
  });

  it('deleteRows removes matching rows and returns them; an empty where is refused', async () => {
    await api.insert('people', [{ email: 'd1@x', name: 'D1' }, { email: 'd2@x', name: 'D2' }]);
    const { data } = await api.remove('people', { email: { _like: 'd_@x' } });
    expect(data.deleteRows.map((r: { email: string }) => r.email).sort()).toEqual(['d1@x', 'd2@x']);
    const before = await countRows('people');
    for (const where of [{}, { _and: [] }, { _and: [{}, { _and: [] }] }]) {
      expectError(await api.remove('people', where), 'BAD_USER_INPUT', 'where: an empty filter would delete every row; use clearTable to remove them all');
    }
    expect(await countRows('people')).toBe(before);
  });

  it('upsertRows inserts new rows and updates the given columns of existing ones, in one statement', async () => {
    await api.insert('people', [{ email: 'up1@x', name: 'Old', age: 1 }]);
    let statements: string[] = [];
    const result = await (async () => {
      let response: Awaited<ReturnType<typeof api.upsert>> | undefined;
      statements = await recordStatements(t, async () => {
        response = await api.upsert('people', [{ email: 'up1@x', name: 'New' }, { email: 'up2@x', name: 'Fresh' }], ['email']);
      });
      return response!;
    })();
    expect(result.errors).toBeUndefined();
    expect(result.data.upsertRows.map((r: Record<string, unknown>) => [r.email, r.name, r.age])).toEqual([
      ['up1@x', 'New', 1],
      ['up2@x', 'Fresh', null],
    ]);
    expect(statements.filter((s) => s.includes('"people"'))).toHaveLength(1);
    expectError(await api.upsert('people', [{ email: 'up3@x', name: 'A' }, { email: 'up4@x', name: 'B', age: 3 }], ['email']), 'BAD_USER_INPUT', /^rows\[0\]\.age: every row of one upsert must give the same columns/);
    expectError(await api.upsert('people', [{ name: 'A' }], ['email']), 'BAD_USER_INPUT', /rows\[0\]\.email/);
    expectError(await api.upsert('people', [{ email: 'up5@x', name: 'A' }], ['name']), 'BAD_USER_INPUT', /onConflict/);
    expectError(await api.upsert('people', [{ email: 'up5@x', name: 'A' }], ['nope']), 'NOT_FOUND', 'onConflict[0]: column "nope" not found in table "people"');
    expectError(await api.upsert('people', [{ email: 'up6@x', name: 'A' }, { email: 'up6@x', name: 'B' }], ['email']), 'BAD_USER_INPUT', /same onConflict key/);
  });
});

describe('statements', () => {
  it('a flat list is one statement on the table; totalCount adds one count statement only when asked for', async () => {
    // Warm: the key, the project and the tables come from the process's metadata cache
    // (tests/metadata-cache.test.ts shows when it is bypassed and what drops it).
    await api.page('people', { first: 1 });
    const flat = await recordStatements(t, () => api.page('people', { where: { age: { _gte: 0 } }, first: 5 }));
    const onTable = flat.filter((s) => s.includes(`"${project.schema}"."people"`));
    expect(onTable).toHaveLength(1);
    // The page's keyset read, inside the page's byte cap (src/db/sql/rows.sql.ts).
    expect(onTable[0]).toMatch(/^SELECT .* FROM "[^"]+"\."people" WHERE .* ORDER BY "id" ASC LIMIT \$\d+\) i\) w WHERE /);
    expect(flat).toHaveLength(1);
    expect(flat.filter((s) => /paige\.api_keys|paige\.projects|FROM pg_class/.test(s))).toHaveLength(0);

    const { ROWS_COUNTED } = await import('./support/rows.js');
    let total = -1;
    const counted = await recordStatements(t, async () => {
      total = (await t.ok(ROWS_COUNTED, { p: project.id, t: 'people', where: { age: { _gte: 0 } }, first: 1 }, project.token)).project.table.rows.totalCount;
    });
    expect(counted.filter((s) => s.includes(`"${project.schema}"."people"`))).toHaveLength(2);
    expect(counted.some((s) => s.startsWith('SELECT count(*)'))).toBe(true);
    expect(total).toBe(await asSuperuser(async (c) => Number((await c.query(`SELECT count(*) AS n FROM "${project.schema}".people WHERE age >= 0`)).rows[0].n), databaseUrl));
  });
});
