import { beforeAll, describe, expect, it } from 'vitest';
import { asSuperuser, loginRoleClient, superuserClient } from './support/postgres.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { expectError, recordStatements } from './support/rows.js';
import { readTables } from '../src/db/catalog.js';

let t: TestServer;
let project: TestProjectHandle;
beforeAll(async () => {
  // Through a wire proxy, which shows the statements of the server's pool (recordStatements).
  t = await startTestServer({}, {}, { wireProxy: true });
  project = await createTestProject(t);
});

const COLUMN = `name type nullable default unique primaryKey maxLength`;
const TABLE = `name system primaryKey columns { ${COLUMN} }`;

const CREATE = /* GraphQL */ `mutation ($p: ID!, $input: CreateTableInput!) { createTable(projectId: $p, input: $input) { ${TABLE} } }`;
const READ = /* GraphQL */ `query ($p: ID!, $name: String!) { project(id: $p) { table(name: $name) { ${TABLE} } } }`;

const createTable = (input: Record<string, unknown>, token: string | null = project.token) => t.gql(CREATE, { p: project.id, input }, token);
const readTable = async (name: string) => (await t.ok(READ, { p: project.id, name }, project.token)).project.table;

/** Every relation (tables, sequences, indexes) Postgres holds in the project's schema. */
const relations = () =>
  asSuperuser(async (client) => {
    const { rows } = await client.query(`SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace ORDER BY relname`, [project.schema]);
    return rows.map((row) => row.relname as string);
  });

/** Column name → SQL type as the catalog prints it. */
const catalogColumns = (table: string) =>
  asSuperuser(async (client) => {
    const { rows } = await client.query(
      `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = ($1 || '.' || quote_ident($2))::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [project.schema, table],
    );
    return Object.fromEntries(rows.map((row) => [row.attname, row.type]));
  });

const col = (name: string, fields: Record<string, unknown>) => ({
  name,
  nullable: true,
  default: null,
  unique: false,
  primaryKey: false,
  maxLength: null,
  ...fields,
});

describe('createTable', () => {
  it('creates all 11 types with defaults, unique, maxLength and an added id key, and reads them back', async () => {
    const nasty = `it's a "quote" and a \\ backslash`;
    const json = { nested: ['ünïcödé ✓', 1.5, null, { deep: true }], "quote'": '\\' };
    const result = await createTable({
      name: 'all_types',
      columns: [
        { name: 't_text', type: 'TEXT', nullable: false, default: nasty },
        { name: 't_varchar', type: 'VARCHAR', maxLength: 20, unique: true, default: 'abc' },
        { name: 't_integer', type: 'INTEGER', default: -5 },
        { name: 't_bigint', type: 'BIGINT', default: '-9223372036854775808' },
        { name: 't_numeric', type: 'NUMERIC', default: '12345678901234567890123456789012345678.123456' },
        { name: 't_boolean', type: 'BOOLEAN', default: false },
        { name: 't_date', type: 'DATE', default: { expression: 'current_date' } },
        { name: 't_date_literal', type: 'DATE', default: '2024-02-29' },
        { name: 't_timestamptz', type: 'TIMESTAMPTZ', nullable: false, default: { expression: 'now()' } },
        { name: 't_ts_literal', type: 'TIMESTAMPTZ', default: '2024-05-01T12:30:00.123456+02:00' },
        { name: 't_uuid', type: 'UUID', unique: true, default: { expression: 'gen_random_uuid()' } },
        { name: 't_uuid_literal', type: 'UUID', default: '123E4567-E89B-12D3-A456-426614174000' },
        { name: 't_jsonb', type: 'JSONB', default: json },
        // jsonb takes no expression, so this object is a literal
        { name: 't_jsonb_object', type: 'JSONB', default: { expression: 'now()' } },
        { name: 't_serial', type: 'SERIAL' },
        { name: 'order', type: 'TEXT' },
      ],
    });
    expect(result.errors).toBeUndefined();
    const expected = {
      name: 'all_types',
      system: false,
      primaryKey: ['id'],
      columns: [
        col('id', { type: 'BIGINT', nullable: false, primaryKey: true, unique: true }),
        col('t_text', { type: 'TEXT', nullable: false, default: nasty }),
        col('t_varchar', { type: 'VARCHAR', maxLength: 20, unique: true, default: 'abc' }),
        col('t_integer', { type: 'INTEGER', default: -5 }),
        col('t_bigint', { type: 'BIGINT', default: '-9223372036854775808' }),
        col('t_numeric', { type: 'NUMERIC', default: '12345678901234567890123456789012345678.123456' }),
        col('t_boolean', { type: 'BOOLEAN', default: false }),
        col('t_date', { type: 'DATE', default: { expression: 'current_date' } }),
        col('t_date_literal', { type: 'DATE', default: '2024-02-29' }),
        col('t_timestamptz', { type: 'TIMESTAMPTZ', nullable: false, default: { expression: 'now()' } }),
        col('t_ts_literal', { type: 'TIMESTAMPTZ', default: '2024-05-01T10:30:00.123456Z' }),
        col('t_uuid', { type: 'UUID', unique: true, default: { expression: 'gen_random_uuid()' } }),
        col('t_uuid_literal', { type: 'UUID', default: '123e4567-e89b-12d3-a456-426614174000' }),
        col('t_jsonb', { type: 'JSONB', default: json }),
        col('t_jsonb_object', { type: 'JSONB', default: { expression: 'now()' } }),
        col('t_serial', { type: 'SERIAL', nullable: false }),
        col('order', { type: 'TEXT' }),
      ],
    };
    expect(result.data.createTable).toEqual(expected);
    // A fresh request reads the same thing from the catalog.
    expect(await readTable('all_types')).toEqual(expected);

    expect(await catalogColumns('all_types')).toEqual({
      id: 'bigint', t_text: 'text', t_varchar: 'character varying(20)', t_integer: 'integer', t_bigint: 'bigint',
      t_numeric: 'numeric', t_boolean: 'boolean', t_date: 'date', t_date_literal: 'date',
      t_timestamptz: 'timestamp with time zone', t_ts_literal: 'timestamp with time zone', t_uuid: 'uuid',
      t_uuid_literal: 'uuid', t_jsonb: 'jsonb', t_jsonb_object: 'jsonb', t_serial: 'integer', order: 'text',
    });

    // The defaults Postgres applies are the ones reported.
    const row = await asSuperuser(async (client) => {
      await client.query(`SET TimeZone = 'UTC'`);
      const { rows } = await client.query(`INSERT INTO ${project.schema}.all_types DEFAULT VALUES RETURNING *`);
      return rows[0];
    });
    expect(row).toMatchObject({
      id: '1', t_text: nasty, t_varchar: 'abc', t_integer: -5, t_bigint: '-9223372036854775808',
      t_numeric: '12345678901234567890123456789012345678.123456', t_boolean: false, t_date_literal: '2024-02-29',
      t_ts_literal: '2024-05-01T10:30:00.123456Z', t_uuid_literal: '123e4567-e89b-12d3-a456-426614174000',
      t_jsonb: json, t_jsonb_object: { expression: 'now()' }, t_serial: 1, order: null,
    });
    expect(row.t_date).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(row.t_uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses the given primary key (in its order) and adds no id column', async () => {
    const result = await createTable({
      name: 'user',
      columns: [
        { name: 'select', type: 'TEXT' },
        { name: 'tenant', type: 'INTEGER' },
        { name: 'code', type: 'VARCHAR' },
      ],
      primaryKey: ['code', 'tenant'],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data.createTable).toEqual({
      name: 'user',
      system: false,
      primaryKey: ['code', 'tenant'],
      columns: [
        col('select', { type: 'TEXT' }),
        col('tenant', { type: 'INTEGER', nullable: false, primaryKey: true }),
        col('code', { type: 'VARCHAR', nullable: false, primaryKey: true }),
      ],
    });
  });

  it('reports the defaults of the system tables', async () => {
    const contacts = await readTable('contacts');
    expect(contacts.system).toBe(true);
    expect(contacts.columns.find((c: { name: string }) => c.name === 'created_at').default).toEqual({ expression: 'now()' });
    expect(contacts.columns.find((c: { name: string }) => c.name === 'id').default).toBeNull();
    const conversations = await readTable('conversations');
    expect(conversations.columns.find((c: { name: string }) => c.name === 'status').default).toBe('open');
  });

  it('refuses an existing name with CONFLICT, also when a sequence holds it', async () => {
    await createTable({ name: 'taken', columns: [] });
    expectError(await createTable({ name: 'taken', columns: [] }), 'CONFLICT', 'table "taken" already exists');
    // `taken_id_seq` is the added key's sequence: Postgres refuses it (42P07), mapped to CONFLICT.
    expectError(await createTable({ name: 'taken_id_seq', columns: [] }), 'CONFLICT', 'the name is taken: relation "taken_id_seq" already exists');
  });

  it('racing createTable calls of one name make one table and CONFLICTs, never a 500', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => createTable({ name: 'raced', columns: [{ name: 'a', type: 'TEXT' }] })));
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK').sort();
    expect(codes).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT', 'OK']);
    for (const result of results.filter((r) => r.errors)) {
      expect(['table "raced" already exists', 'the name is taken: relation "raced" already exists']).toContain(result.errors![0]!.message);
    }
    expect((await relations()).filter((name) => name === 'raced')).toHaveLength(1);
  });

  it('the owner role owns a created table; the login role (raw SQL) may write rows but not change it', async () => {
    await createTable({ name: 'raw_access', columns: [{ name: 'n', type: 'SERIAL' }, { name: 'label', type: 'TEXT' }] });
    const owner = await asSuperuser((client) =>
      client.query(`SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'raw_access'`, [project.schema]),
    );
    expect(owner.rows[0].tableowner).toBe(`p_${project.id}_owner`);
    const login = await loginRoleClient(project.id);
    const inserted = await login.query(`INSERT INTO raw_access (label) VALUES ('from raw sql') RETURNING id, n, label`);
    expect(inserted.rows).toEqual([{ id: '1', n: 1, label: 'from raw sql' }]);
    await expect(login.query(`ALTER TABLE raw_access ADD COLUMN sneaky text`)).rejects.toThrow(/must be owner of table raw_access/);
    await expect(login.query(`DROP TABLE raw_access`)).rejects.toThrow(/must be owner of table raw_access/);
  });

  it('does not let one project key create tables in another project', async () => {
    const other = await createTestProject(t);
    expectError(await createTable({ name: 'intruder', columns: [] }, other.token), 'NOT_FOUND', `project "${project.id}" not found`);
    expect(await relations()).not.toContain('intruder');
  });
});

const SNAKE = 'names are lowercase snake_case: a letter or "_" first, then lowercase letters, digits or "_"';

describe('names', () => {
  const badTableNames: [string, string][] = [
    ['Orders', SNAKE],
    ['order-items', SNAKE],
    ['1st', SNAKE],
    ['café', SNAKE],
    ['a b', SNAKE],
    ['x"; DROP TABLE contacts; --', SNAKE],
    ['', 'a name cannot be empty'],
    ['a'.repeat(64), 'a name has at most 63 bytes (this one has 64)'],
    ['pg_things', 'names cannot start with "pg_", which Postgres reserves'],
    ['_and', '"_and", "_or" and "_not" are reserved by the filter language'],
    ['_or', '"_and", "_or" and "_not" are reserved by the filter language'],
    ['_not', '"_and", "_or" and "_not" are reserved by the filter language'],
    ['contacts', `"contacts", "conversations", "messages" are the system tables' names`],
    ['messages', `"contacts", "conversations", "messages" are the system tables' names`],
  ];

  it('rejects each bad table name with BAD_USER_INPUT quoting it and stating the rule, and creates nothing', async () => {
    const before = await relations();
    for (const [name, rule] of badTableNames) {
      const error = expectError(await createTable({ name, columns: [{ name: 'a', type: 'TEXT' }] }), 'BAD_USER_INPUT');
      expect(error.message).toBe(`table name ${JSON.stringify(name)} is not allowed: ${rule}`);
      expect(error.extensions).toMatchObject({ field: 'input.name', name });
    }
    expect(await relations()).toEqual(before);
  });

  const badColumnNames: [string, string][] = [
    ['Name', SNAKE],
    ['first name', SNAKE],
    ['9lives', SNAKE],
    ['a'.repeat(64), 'a name has at most 63 bytes (this one has 64)'],
    ['pg_col', 'names cannot start with "pg_", which Postgres reserves'],
    ['_or', '"_and", "_or" and "_not" are reserved by the filter language'],
    ['xmin', '"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid" are Postgres system columns'],
  ];

  it('rejects each bad column name in createTable, addColumn and renameColumn', async () => {
    await createTable({ name: 'named', columns: [{ name: 'a', type: 'TEXT' }] });
    const before = await relations();
    for (const [name, rule] of badColumnNames) {
      const message = `column name ${JSON.stringify(name)} is not allowed: ${rule}`;
      expectError(await createTable({ name: 'never_created', columns: [{ name, type: 'TEXT' }] }), 'BAD_USER_INPUT', message);
      expectError(await t.gql(`mutation ($p: ID!, $c: ColumnInput!) { addColumn(projectId: $p, table: "named", column: $c) { name } }`, { p: project.id, c: { name, type: 'TEXT' } }), 'BAD_USER_INPUT', message);
      expectError(await t.gql(`mutation ($p: ID!, $n: String!) { renameColumn(projectId: $p, table: "named", name: "a", newName: $n) { name } }`, { p: project.id, n: name }), 'BAD_USER_INPUT', message);
    }
    expect(await relations()).toEqual(before);
    expect(await catalogColumns('named')).toEqual({ id: 'bigint', a: 'text' });
  });

  it('rejects a bad new name in renameTable', async () => {
    await createTable({ name: 'to_rename', columns: [] });
    const result = await t.gql(`mutation ($p: ID!) { renameTable(projectId: $p, name: "to_rename", newName: "ToRename") { name } }`, { p: project.id });
    expectError(result, 'BAD_USER_INPUT', `table name "ToRename" is not allowed: ${SNAKE}`);
    expect(await relations()).toContain('to_rename');
  });

  it('accepts keywords, a leading underscore and exactly 63 bytes, always quoted', async () => {
    const long = `t${'x'.repeat(62)}`;
    for (const name of ['select', '_private', long]) {
      const result = await createTable({ name, columns: [{ name: 'from', type: 'TEXT' }, { name: 'where', type: 'INTEGER' }] });
      expect(result.errors).toBeUndefined();
      expect(result.data.createTable.name).toBe(name);
    }
    expect(await relations()).toEqual(expect.arrayContaining(['select', '_private', long]));
    expect(await catalogColumns('select')).toEqual({ id: 'bigint', from: 'text', where: 'integer' });
  });
});

describe('createTable input checks', () => {
  const range4 = 'expected an integer between -2147483648 and 2147483647';
  const range8 = 'expected a bigint between -9223372036854775808 and 9223372036854775807 (a string of digits, or a safe integer)';
  const numeric = 'expected a numeric as a decimal string (e.g. "12.50") or a finite number';
  const timestamp = 'expected an ISO 8601 timestamp with an offset and at most 6 fractional digits (e.g. "2024-05-01T12:30:00.123456+02:00")';
  const plain = 'strings cannot contain a NUL character or a lone UTF-16 surrogate';
  /** [type, column input, message after `column "c": `] — checked exactly like row values. */
  const invalidDefaults: [string, Record<string, unknown>, string][] = [
    ['INTEGER', { default: 3.5 }, `the default is not valid: ${range4}, got 3.5`],
    ['INTEGER', { default: 2147483648 }, `the default is not valid: ${range4}, got 2147483648`],
    ['INTEGER', { default: '5' }, 'the default is not valid: expected an integer (a JSON number), got "5"'],
    ['BIGINT', { default: '9223372036854775808' }, `the default is not valid: ${range8}, got "9223372036854775808"`],
    ['BIGINT', { default: 2 ** 60 }, `the default is not valid: ${range8}, got 1152921504606847000`],
    ['NUMERIC', { default: '12,5' }, `the default is not valid: ${numeric}, got "12,5"`],
    ['NUMERIC', { default: 'NaN' }, `the default is not valid: ${numeric}, got "NaN"`],
    ['BOOLEAN', { default: 'true' }, 'the default is not valid: expected true or false, got "true"'],
    ['DATE', { default: '2023-02-29' }, 'the default is not valid: expected a valid calendar date "YYYY-MM-DD", got "2023-02-29"'],
    // 'today', 'now': Postgres would evaluate them once, at CREATE TABLE
    ['DATE', { default: 'today' }, 'the default is not valid: expected a valid calendar date "YYYY-MM-DD", got "today"'],
    ['TIMESTAMPTZ', { default: 'now' }, `the default is not valid: ${timestamp}, got "now"`],
    ['TIMESTAMPTZ', { default: '2024-05-01 12:00:00' }, `the default is not valid: ${timestamp}, got "2024-05-01 12:00:00"`],
    ['TIMESTAMPTZ', { default: '2024-05-01T12:00:00.1234567Z' }, `the default is not valid: ${timestamp}, got "2024-05-01T12:00:00.1234567Z"`],
    ['UUID', { default: 'not-a-uuid' }, 'the default is not valid: expected a uuid such as "0b6f2c1e-8d3a-4c4e-9f51-2a7d1c9e0f00", got "not-a-uuid"'],
    ['TEXT', { default: 'a\u0000b' }, `the default is not valid: ${plain}`],
    ['TEXT', { default: 'x\uD800y' }, `the default is not valid: ${plain}`],
    ['TEXT', { default: 12 }, 'the default is not valid: expected a string, got 12'],
    ['JSONB', { default: { s: '\u0000' } }, `the default is not valid: expected JSON that jsonb can store (${plain})`],
    ['VARCHAR', { maxLength: 3, default: 'abcd' }, 'the default is not valid: expected at most 3 characters, got 4'],
    ['SERIAL', { default: 1 }, 'the default 1 is not valid: a serial column takes its values from its sequence and has no default'],
    ['TIMESTAMPTZ', { default: { expression: 'current_date' } }, 'the default {"expression":"current_date"} is not valid: current_date is for date columns, not timestamptz'],
    ['TEXT', { default: { expression: 'now()' } }, 'the default {"expression":"now()"} is not valid: now() is for timestamptz columns, not text'],
    ['DATE', { default: { expression: 'clock_timestamp()' } }, 'the default {"expression":"clock_timestamp()"} is not valid: the only expressions are now(), current_date, gen_random_uuid()'],
  ];

  it('rejects every invalid default with BAD_USER_INPUT naming the column, and creates nothing', async () => {
    const before = await relations();
    for (const [type, extra, message] of invalidDefaults) {
      const error = expectError(await createTable({ name: 'bad_default', columns: [{ name: 'c', type, ...extra }] }), 'BAD_USER_INPUT', `column "c": ${message}`);
      expect(error.extensions).toMatchObject({ column: 'c' });
    }
    expect(await relations()).toEqual(before);
  });

  it('rejects bad column sets and keys with BAD_USER_INPUT naming the column', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ columns: [{ name: 'a', type: 'TEXT' }, { name: 'a', type: 'INTEGER' }] }, 'column "a" is given more than once'],
      [{ columns: [{ name: 'a', type: 'TEXT' }], primaryKey: ['b'] }, 'primaryKey names column "b", which is not among the columns of table "bad_shape"'],
      [{ columns: [{ name: 'a', type: 'TEXT' }], primaryKey: ['a', 'a'] }, 'primaryKey names column "a" more than once'],
      [{ columns: [{ name: 'a', type: 'TEXT' }], primaryKey: [] }, 'primaryKey must name at least one column; leave it out to get an added "id" column'],
      [{ columns: [{ name: 'id', type: 'TEXT' }] }, 'column "id" needs primaryKey: without one, an "id" bigint identity column is added as the key (name your key in primaryKey, or rename the column)'],
      [{ columns: [{ name: 'a', type: 'TEXT', maxLength: 5 }] }, 'column "a": maxLength applies to varchar columns only, not text'],
      [{ columns: [{ name: 'a', type: 'VARCHAR', maxLength: 0 }] }, 'column "a": maxLength must be from 1 to 10485760, got 0'],
      [{ columns: [{ name: 'a', type: 'VARCHAR', maxLength: 10485761 }] }, 'column "a": maxLength must be from 1 to 10485760, got 10485761'],
    ];
    const before = await relations();
    for (const [input, message] of cases) {
      expectError(await createTable({ name: 'bad_shape', ...input }), 'BAD_USER_INPUT', message);
    }
    expect(await relations()).toEqual(before);
  });

  it('an unknown column type is refused by GraphQL itself, not by a 500', async () => {
    const result = await createTable({ name: 'bad_type', columns: [{ name: 'a', type: 'MONEY' }] });
    expect(result.errors?.[0]?.message).toMatch(/Value "MONEY" does not exist in "ColumnType" enum/);
    expect(await relations()).not.toContain('bad_type');
  });
});

const MUTATIONS = {
  renameTable: `mutation ($p: ID!, $t: String!) { renameTable(projectId: $p, name: $t, newName: "renamed_system") { name } }`,
  dropTable: `mutation ($p: ID!, $t: String!) { dropTable(projectId: $p, name: $t) }`,
  clearTable: `mutation ($p: ID!, $t: String!) { clearTable(projectId: $p, name: $t) }`,
  addColumn: `mutation ($p: ID!, $t: String!) { addColumn(projectId: $p, table: $t, column: { name: "extra", type: TEXT }) { name } }`,
  renameColumn: `mutation ($p: ID!, $t: String!) { renameColumn(projectId: $p, table: $t, name: "id", newName: "renamed_id") { name } }`,
  dropColumn: `mutation ($p: ID!, $t: String!) { dropColumn(projectId: $p, table: $t, name: "created_at") }`,
};

describe('system tables', () => {
  it('refuses every structural change and clearTable with SYSTEM_TABLE, leaving them as they were', async () => {
    const before = await Promise.all(['contacts', 'conversations', 'messages'].map(catalogColumns));
    await asSuperuser((client) => client.query(`INSERT INTO ${project.schema}.contacts (phone) VALUES ('+4915112345678')`));
    for (const table of ['contacts', 'conversations', 'messages']) {
      for (const [mutation, text] of Object.entries(MUTATIONS)) {
        const error = expectError(await t.gql(text, { p: project.id, t: table }, project.token), 'SYSTEM_TABLE');
        expect(error.extensions?.table, mutation).toBe(table);
        const expected =
          mutation === 'clearTable'
            ? `table "${table}" is a system table: clearTable is for custom tables only (delete its rows with deleteRows)`
            : `table "${table}" is a system table: its structure cannot be ${{ renameTable: 'renamed', dropTable: 'dropped' }[mutation as string] ?? 'altered'}`;
        expect(error.message, mutation).toBe(expected);
      }
    }
    expect(await Promise.all(['contacts', 'conversations', 'messages'].map(catalogColumns))).toEqual(before);
    const { rows } = await asSuperuser((client) => client.query(`SELECT count(*)::int AS n FROM ${project.schema}.contacts`));
    expect(rows[0].n).toBe(1);
  });

  it('the admin token gets SYSTEM_TABLE too', async () => {
    expectError(await t.gql(MUTATIONS.dropTable, { p: project.id, t: 'messages' }), 'SYSTEM_TABLE');
  });
});

describe('changing custom tables', () => {
  it('renameTable moves the table (keeping its rows) and the catalog shows only the new name', async () => {
    await createTable({ name: 'bookings', columns: [{ name: 'guest', type: 'TEXT' }] });
    await asSuperuser((client) => client.query(`INSERT INTO ${project.schema}.bookings (guest) VALUES ('ann'), ('bob')`));
    const { renameTable } = await t.ok(
      `mutation ($p: ID!) { renameTable(projectId: $p, name: "bookings", newName: "order") { ${TABLE} } }`,
      { p: project.id },
      project.token,
    );
    expect(renameTable).toEqual({ name: 'order', system: false, primaryKey: ['id'], columns: [
      col('id', { type: 'BIGINT', nullable: false, primaryKey: true, unique: true }),
      col('guest', { type: 'TEXT' }),
    ] });
    const names = await relations();
    expect(names).toContain('order');
    expect(names).not.toContain('bookings');
    expect(await readTable('bookings')).toBeNull();
    const { rows } = await asSuperuser((client) => client.query(`SELECT guest FROM ${project.schema}."order" ORDER BY id`));
    expect(rows.map((r) => r.guest)).toEqual(['ann', 'bob']);
  });

  it('renameTable to a taken name is CONFLICT; of a missing table NOT_FOUND', async () => {
    await createTable({ name: 'left_side', columns: [] });
    await createTable({ name: 'right_side', columns: [] });
    expectError(
      await t.gql(`mutation ($p: ID!) { renameTable(projectId: $p, name: "left_side", newName: "right_side") { name } }`, { p: project.id }),
      'CONFLICT',
      'table "right_side" already exists',
    );
    expectError(
      await t.gql(`mutation ($p: ID!) { renameTable(projectId: $p, name: "no_such_table", newName: "whatever") { name } }`, { p: project.id }),
      'NOT_FOUND',
      'table "no_such_table" not found',
    );
  });

  it('dropTable removes the table, its sequence and indexes; a second drop is NOT_FOUND', async () => {
    await createTable({ name: 'doomed', columns: [{ name: 'code', type: 'TEXT', unique: true }] });
    expect(await relations()).toEqual(expect.arrayContaining(['doomed', 'doomed_id_seq', 'doomed_pkey', 'doomed_code_key']));
    expect((await t.ok(`mutation ($p: ID!) { dropTable(projectId: $p, name: "doomed") }`, { p: project.id }, project.token)).dropTable).toBe(true);
    expect((await relations()).filter((name) => name.startsWith('doomed'))).toEqual([]);
    expectError(await t.gql(`mutation ($p: ID!) { dropTable(projectId: $p, name: "doomed") }`, { p: project.id }), 'NOT_FOUND', 'table "doomed" not found');
  });

  it('clearTable returns the number of rows removed and empties the table', async () => {
    await createTable({ name: 'to_clear', columns: [{ name: 'n', type: 'INTEGER' }] });
    await asSuperuser((client) => client.query(`INSERT INTO ${project.schema}.to_clear (n) SELECT g FROM generate_series(1, 1234) g`));
    const clear = `mutation ($p: ID!) { clearTable(projectId: $p, name: "to_clear") }`;
    expect((await t.ok(clear, { p: project.id }, project.token)).clearTable).toBe(1234);
    const { rows } = await asSuperuser((client) => client.query(`SELECT count(*)::int AS n FROM ${project.schema}.to_clear`));
    expect(rows[0].n).toBe(0);
    expect((await t.ok(clear, { p: project.id }, project.token)).clearTable).toBe(0);
    // The identity continues: ids are never handed out twice.
    const next = await asSuperuser((client) => client.query(`INSERT INTO ${project.schema}.to_clear (n) VALUES (1) RETURNING id`));
    expect(next.rows[0].id).toBe('1235');
  });

  it('addColumn adds a column with its default to existing rows and returns it from the catalog', async () => {
    await createTable({ name: 'growing', columns: [{ name: 'a', type: 'TEXT' }] });
    await asSuperuser((client) => client.query(`INSERT INTO ${project.schema}.growing (a) VALUES ('x'), ('y')`));
    const add = `mutation ($p: ID!, $c: ColumnInput!) { addColumn(projectId: $p, table: "growing", column: $c) { ${COLUMN} } }`;
    const { addColumn } = await t.ok(add, { p: project.id, c: { name: 'score', type: 'NUMERIC', nullable: false, default: '0.50' } }, project.token);
    expect(addColumn).toEqual(col('score', { type: 'NUMERIC', nullable: false, default: '0.50' }));
    const serial = await t.ok(add, { p: project.id, c: { name: 'seq', type: 'SERIAL' } }, project.token);
    expect(serial.addColumn).toEqual(col('seq', { type: 'SERIAL', nullable: false }));
    const label = await t.ok(add, { p: project.id, c: { name: 'label', type: 'VARCHAR', maxLength: 8, unique: true } }, project.token);
    expect(label.addColumn).toEqual(col('label', { type: 'VARCHAR', maxLength: 8, unique: true }));
    expect(await catalogColumns('growing')).toEqual({ id: 'bigint', a: 'text', score: 'numeric', seq: 'integer', label: 'character varying(8)' });
    const { rows } = await asSuperuser((client) => client.query(`SELECT score, seq FROM ${project.schema}.growing ORDER BY id`));
    expect(rows).toEqual([{ score: '0.50', seq: 1 }, { score: '0.50', seq: 2 }]);

    expectError(await t.gql(add, { p: project.id, c: { name: 'a', type: 'TEXT' } }), 'CONFLICT', 'column "a" already exists in table "growing"');
    expectError(
      await t.gql(add, { p: project.id, c: { name: 'required', type: 'TEXT', nullable: false } }),
      'BAD_USER_INPUT',
      'column "required" cannot be added as non-nullable without a default: table "growing" already has rows (give a default, or make it nullable)',
    );
    expectError(await t.gql(add, { p: project.id, c: { name: 'flag', type: 'BOOLEAN', default: 1 } }), 'BAD_USER_INPUT', 'column "flag": the default is not valid: expected true or false, got 1');
    expect(Object.keys(await catalogColumns('growing'))).toEqual(['id', 'a', 'score', 'seq', 'label']);
  });

  it('DDL on a table another transaction holds gives up after the lock timeout with CONFLICT', async () => {
    await createTable({ name: 'busy', columns: [{ name: 'a', type: 'TEXT' }] });
    const holder = await superuserClient();
    try {
      await holder.query(`BEGIN; LOCK TABLE ${project.schema}.busy IN ACCESS SHARE MODE`);
      const started = Date.now();
      const result = await t.gql(`mutation ($p: ID!) { dropColumn(projectId: $p, table: "busy", name: "a") }`, { p: project.id });
      expectError(result, 'CONFLICT', 'the table is in use by another transaction; try again when it has finished');
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_500);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await catalogColumns('busy')).toEqual({ id: 'bigint', a: 'text' });
  });

  it('renameColumn and dropColumn change the catalog; key columns cannot be dropped', async () => {
    await createTable({ name: 'reshaped', columns: [{ name: 'old_name', type: 'DATE', default: '2024-01-31' }, { name: 'gone', type: 'TEXT' }] });
    const { renameColumn } = await t.ok(
      `mutation ($p: ID!) { renameColumn(projectId: $p, table: "reshaped", name: "old_name", newName: "user") { ${COLUMN} } }`,
      { p: project.id },
      project.token,
    );
    expect(renameColumn).toEqual(col('user', { type: 'DATE', default: '2024-01-31' }));
    expect((await t.ok(`mutation ($p: ID!) { dropColumn(projectId: $p, table: "reshaped", name: "gone") }`, { p: project.id }, project.token)).dropColumn).toBe(true);
    expect(await catalogColumns('reshaped')).toEqual({ id: 'bigint', user: 'date' });

    expectError(
      await t.gql(`mutation ($p: ID!) { renameColumn(projectId: $p, table: "reshaped", name: "user", newName: "id") { name } }`, { p: project.id }),
      'CONFLICT',
      'column "id" already exists in table "reshaped"',
    );
    expectError(
      await t.gql(`mutation ($p: ID!) { dropColumn(projectId: $p, table: "reshaped", name: "gone") }`, { p: project.id }),
      'NOT_FOUND',
      'column "gone" not found in table "reshaped"',
    );
    expectError(
      await t.gql(`mutation ($p: ID!) { dropColumn(projectId: $p, table: "reshaped", name: "id") }`, { p: project.id }),
      'BAD_USER_INPUT',
      'column "id" is part of the primary key of table "reshaped" and cannot be dropped',
    );
    expect(await catalogColumns('reshaped')).toEqual({ id: 'bigint', user: 'date' });
  });
});

/** How many statements the server sends on its own pool while `work` runs (see recordStatements). */
const countStatements = async (work: () => Promise<unknown>) => (await recordStatements(t, work)).length;

describe('statement count', () => {
  it('projects { tables { columns } } costs a fixed number of statements however many tables and projects', async () => {
    const second = await createTestProject(t);
    const query = `{ projects { id tables { name columns { name type default } } } }`;
    let tablesSeen = 0;
    const run = () =>
      countStatements(async () => {
        const data = await t.ok(query);
        // Only these two projects: other test files create and delete theirs meanwhile.
        const ours = data.projects.filter((p: { id: string }) => p.id === project.id || p.id === second.id);
        tablesSeen = ours.reduce((sum: number, p: { tables: unknown[] }) => sum + p.tables.length, 0);
      });
    // The counter sees statements at all: the project list alone is one.
    expect(await countStatements(() => t.ok(`{ projects { id } }`))).toBe(1);
    const small = await run();
    const smallTables = tablesSeen;
    for (let i = 0; i < 12; i += 1) {
      for (const p of [project, second]) {
        await t.ok(CREATE, { p: p.id, input: { name: `bulk_${i}`, columns: [{ name: 'a', type: 'TEXT' }, { name: 'b', type: 'JSONB' }] } });
      }
    }
    const large = await run();
    expect(tablesSeen).toBeGreaterThanOrEqual(smallTables + 24);
    // One statement for the projects, one catalog statement for the tables of all of them.
    expect(small).toBe(2);
    expect(large).toBe(2);
  });
});

describe('listing while another session drops a table', () => {
  it('a table dropped after the listing took its snapshot is listed as it was, not an error for the whole list', async () => {
    const owner = await createTestProject(t);
    await t.ok(CREATE, { p: owner.id, input: { name: 'doomed', columns: [{ name: 'n', type: 'SERIAL' }] } });
    // The listing's statement sees the catalog as of its snapshot; the drop commits after that
    // snapshot was taken (a REPEATABLE READ transaction pins it), as a concurrent dropTable does.
    const lister = await superuserClient();
    try {
      await lister.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await lister.query('SELECT 1');
      await asSuperuser((client) => client.query(`DROP TABLE ${owner.schema}.doomed`));
      const tables = await readTables(lister, [owner.schema]);
      expect(tables.find((table) => table.name === 'doomed')?.columns.map((c) => [c.name, c.type])).toEqual([['id', 'bigint'], ['n', 'serial']]);
    } finally {
      await lister.query('ROLLBACK');
      await lister.end();
    }
  });
});
