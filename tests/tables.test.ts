import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { asSuperuser } from './support/postgres.js';
import { createTestProject, startTestServer, type GraphQLResponse, type TestProjectHandle, type TestServer } from './support/server.js';

let t: TestServer;
let project: TestProjectHandle;
beforeAll(async () => {
  t = await startTestServer();
  project = await createTestProject(t);
});
afterAll(async () => {
  await project?.remove();
  await t?.stop();
});

const COLUMN = `name type nullable default unique primaryKey maxLength`;
const TABLE = `name system primaryKey columns { ${COLUMN} }`;

const CREATE = /* GraphQL */ `mutation ($p: ID!, $input: CreateTableInput!) { createTable(projectId: $p, input: $input) { ${TABLE} } }`;
const READ = /* GraphQL */ `query ($p: ID!, $name: String!) { project(id: $p) { table(name: $name) { ${TABLE} } } }`;

const createTable = (input: Record<string, unknown>, token: string | null = project.token) => t.gql(CREATE, { p: project.id, input }, token);
const readTable = async (name: string) => (await t.ok(READ, { p: project.id, name }, project.token)).project.table;

function expectError(result: GraphQLResponse, code: string, message?: string | RegExp) {
  expect(result.errors, JSON.stringify(result.data)).toHaveLength(1);
  const [error] = result.errors!;
  expect(error!.extensions?.code, error!.message).toBe(code);
  if (typeof message === 'string') expect(error!.message).toBe(message);
  else if (message) expect(error!.message).toMatch(message);
  return error!;
}

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

  it('does not let one project key create tables in another project', async () => {
    const other = await createTestProject(t);
    try {
      expectError(await createTable({ name: 'intruder', columns: [] }, other.token), 'NOT_FOUND', `project "${project.id}" not found`);
      expect(await relations()).not.toContain('intruder');
    } finally {
      await other.remove();
    }
  });
});
