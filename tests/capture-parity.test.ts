import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { startServerInMode } from './support/capture-modes.js';
import { superuserClient } from './support/postgres.js';
import { sqlAs } from './support/hostile.js';
import { rowApi } from './support/rows.js';
import { createTestProject, type TestProjectHandle, type TestServer } from './support/server.js';
import { subscribe, type Collected } from './support/subscriptions.js';

/**
 * Issue 13 point 2: capture from the WAL delivers the same events as capture by triggers. Two
 * servers, each on a database of its own (one captures by triggers, one from the WAL), get the
 * same writes through every path (the API with the admin token and with a key, raw `sql`, an
 * operator's psql in a non-UTC session); their subscribers' events are compared field by field.
 */

const MODES = ['triggers', 'logical'] as const;
type Mode = (typeof MODES)[number];

const ROW_CHANGES_WITH_ACTOR = /* GraphQL */ `
subscription ($p: ID!, $t: String!) {
  rowChanges(projectId: $p, table: $t) { table op row oldRow changedColumns actor { kind apiKeyId apiKeyName } }
}`;

interface Side {
  mode: Mode;
  t: TestServer;
  project: TestProjectHandle;
  /** An operator's psql on the side's database, in a session whose TimeZone is not UTC. */
  psql: pg.Client;
  api: ReturnType<typeof rowApi>;
  sql: ReturnType<typeof sqlAs>;
  /** The id of the project's key: it differs between the two servers. */
  keyId: string;
  databaseUrl: string;
}

const sides = {} as Record<Mode, Side>;

/** Incompressible text (random bytes as base64), so that Postgres keeps it out of line (TOAST) whole. */
const incompressible = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes);
const toasted = incompressible(200_000);
const overOneMegabyte = incompressible(1_500_000);

const KINDS_COLUMNS = [
  { name: 'label', type: 'TEXT' },
  { name: 'code', type: 'VARCHAR', maxLength: 40 },
  { name: 'n', type: 'INTEGER' },
  { name: 'big', type: 'BIGINT' },
  { name: 'amount', type: 'NUMERIC' },
  { name: 'flag', type: 'BOOLEAN' },
  { name: 'day', type: 'DATE' },
  { name: 'at', type: 'TIMESTAMPTZ' },
  { name: 'ref', type: 'UUID' },
  { name: 'doc', type: 'JSONB' },
  { name: 'num', type: 'SERIAL' },
  { name: 'body', type: 'TEXT' },
];

const DOCUMENT = {
  name: 'Zoë "the" \\ tester ✓ 😀',
  nested: { list: [1, 2.5, -0.001, true, null, 'x'], empty: {}, none: [] },
  precise: 0.1,
  large: 123456789012345678901234567890,
  negative: -9007199254740993,
};

/** The same writes, in the same order, on one side; each produces the events noted beside it. */
async function writeEverything({ t, project, psql, api, sql }: Side): Promise<void> {
  const p = project.id;
  const must = async (result: Promise<{ errors?: unknown[] }>) => expect((await result).errors).toBeUndefined();
  // API, admin token: extremes.
  await t.ok(`mutation ($p: ID!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: "kinds", rows: $rows) }`, {
    p,
    rows: [
      {
        label: 'max', code: 'ÀÉÎ-varchar', n: 2147483647, big: '9223372036854775807', amount: '123456789012345678901234567890.123456789',
        flag: true, day: '9999-12-31', at: '2024-02-29T23:59:59.123456+05:30', ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', doc: DOCUMENT,
      },
    ],
  }); // 1 INSERT
  // API, the project's key: the other extremes, and nulls.
  await must(api.insert('kinds', [
    { label: 'min', code: '', n: -2147483648, big: '-9223372036854775808', amount: '-0.000000000000000000000000000001', flag: false, day: '0001-01-01', at: '1970-01-01T00:00:00.000001Z', ref: null, doc: [] },
    { label: 'nulls' },
  ])); // 2 INSERT
  // Raw SQL through the API, with $n parameters.
  await sql.ok(`insert into kinds (label, n, big, amount, at, doc, body) values ($1, $2, $3, $4, $5, $6, $7)`, [
    'raw', 0, '1', '1e-20', '2000-01-01T00:00:00.5+14:00', { a: 'b' }, toasted,
  ]); // 1 INSERT
  // An operator's psql, in a session at +05:45: a local timestamptz with microseconds, a TOASTed value.
  await psql.query(`INSERT INTO kinds (label, at, amount, body) VALUES ('psql', '2024-06-30 23:59:59.999999', 'NaN', $1)`, [toasted]); // 1 INSERT
  await psql.query(`INSERT INTO kinds (label, body) VALUES ('huge', $1)`, [overOneMegabyte]); // 1 INSERT
  // Updates that leave the TOASTed values alone: pgoutput sends them as 'unchanged'.
  await must(api.update('kinds', { label: { _eq: 'raw' } }, { n: 41 })); // 1 UPDATE
  await psql.query(`UPDATE kinds SET n = 7, at = at + interval '1 microsecond' WHERE label IN ('psql', 'huge')`); // 2 UPDATE
  // An update that changes nothing a subscriber would see, and one that changes the TOASTed value.
  await sql.ok(`update kinds set label = label where label = 'max'`); // 1 UPDATE, no changed column
  await sql.ok(`update kinds set body = $1 where label = 'psql'`, [`${toasted}!`]); // 1 UPDATE
  await must(api.remove('kinds', { label: { _eq: 'nulls' } })); // 1 DELETE
  await psql.query(`DELETE FROM kinds WHERE label = 'huge'`); // 1 DELETE of a row over 1 MB
  await t.ok(`mutation ($p: ID!) { clearTable(projectId: $p, name: "kinds") }`, { p }, project.token); // 1 CLEAR
  await psql.query(`INSERT INTO kinds (label) VALUES ('after clear')`); // 1 INSERT
  await psql.query(`TRUNCATE kinds`); // 1 CLEAR
}
const KINDS_EVENTS = 16;

/** A table an operator made in the project's schema with psql, with types beyond the API's eleven. */
async function createOutsideTable({ psql, project }: Side): Promise<void> {
  const s = `"${project.schema}"`;
  await psql.query(`CREATE TYPE ${s}.mood AS ENUM ('sad', 'ok', 'happy')`);
  await psql.query(`CREATE TYPE ${s}.pair AS (x int, label text)`);
  await psql.query(`CREATE DOMAIN ${s}.positive_big AS bigint CHECK (VALUE > 0)`);
  await psql.query(`CREATE DOMAIN ${s}.short_text AS text`);
  await psql.query(`
    CREATE TABLE ${s}.outside (
      id int PRIMARY KEY, small smallint, ints int[], bigs bigint[], texts text[], grid int[][], stamps timestamptz[],
      plain timestamp, zoned timetz, clock time, span interval, raw bytea, real4 real, double8 float8, doubles float8[],
      place point, addr inet, mood ${s}.mood, moods ${s}.mood[], pair ${s}.pair, positive ${s}.positive_big, short ${s}.short_text,
      doc json, docs jsonb[], old_day date, range int4range, money_amount money, chars char(5), bits bit varying(8), name_value name,
      oid_value oid
    )`);
}

async function writeOutside({ psql }: Side): Promise<void> {
  await psql.query(`
    INSERT INTO outside VALUES (
      1, -32768, '{1,NULL,3}', '{9223372036854775807,-1}', '{"a b","c,d","e\\"f",NULL}', '{{1,2},{3,4}}',
      '{"2024-01-01 10:00:00.000001+00","1999-12-31 23:59:59+05:30"}',
      '2024-02-29 12:34:56.789012', '10:11:12.5+02:30', '23:59:59.999999', '1 year 2 mons 3 days 04:05:06.7', '\\x00ff10',
      1.5, 0.1, '{NaN,Infinity,-Infinity,-0,1e300}', '(1.5,-2)', '192.168.0.1/24', 'happy', '{sad,ok}', '(7,"seven, eight")', 9223372036854775807,
      'short', '{"b": 1, "a": [1, 2.50], "a": "dup"}', ARRAY['{"x": 1}'::jsonb, '[]'], '0044-03-15 BC', '[1,10)', 12.34, 'ab', B'1010', 'a name', 42
    )`); // 1 INSERT
  await psql.query(`INSERT INTO outside (id) VALUES (2)`); // 1 INSERT, every other column null
  await psql.query(`UPDATE outside SET ints = ints || 4, plain = plain + interval '1 day', mood = 'ok', pair.x = 8 WHERE id = 1`); // 1 UPDATE
  await psql.query(`UPDATE outside SET doubles = '{-0}', zoned = '00:00:00-14' WHERE id = 2`); // 1 UPDATE
  await psql.query(`DELETE FROM outside WHERE id = 1`); // 1 DELETE
}
const OUTSIDE_EVENTS = 5;

/** What a subscriber sees of each event, with the key's id (which differs between the two servers) named by its place. */
function seen(collected: Collected, side: Side, count: number) {
  return collected.payloads.slice(0, count).map((payload) => {
    expect(payload.errors, JSON.stringify(payload.errors)).toBeUndefined();
    const { actor, ...change } = payload.data.rowChanges;
    return { ...change, actor: actor && { ...actor, apiKeyId: actor.apiKeyId === null ? null : actor.apiKeyId === side.keyId ? 'the project key' : actor.apiKeyId } };
  });
}

beforeAll(async () => {
  for (const mode of MODES) {
    const { t, databaseUrl } = await startServerInMode(mode);
    const project = await createTestProject(t, 'parity');
    const psql = await superuserClient(databaseUrl);
    await psql.query(`SET TimeZone = 'Asia/Kathmandu'`);
    await psql.query(`SET search_path = "${project.schema}"`);
    const keyId = (await t.ok(`query ($p: ID!) { apiKeys(projectId: $p) { id } }`, { p: project.id })).apiKeys[0].id as string;
    const side: Side = { mode, t, project, psql, api: rowApi(t, project), sql: sqlAs(t, project), keyId, databaseUrl };
    await side.api.createTable({ name: 'kinds', columns: KINDS_COLUMNS });
    sides[mode] = side;
  }
});

describe('the same writes, in both capture modes', () => {
  it('give the same events through every write path, for every API column type, TOASTed values and rows over 1 MB', { timeout: 60_000 }, async () => {
    const events = {} as Record<Mode, Record<string, any>[]>;
    for (const mode of MODES) {
      const side = sides[mode];
      const collected = await subscribe(side.t, side.project.token, ROW_CHANGES_WITH_ACTOR, { p: side.project.id, t: 'kinds' });
      await writeEverything(side);
      await collected.waitFor(KINDS_EVENTS, 20_000);
      events[mode] = seen(collected, side, KINDS_EVENTS + 1);
    }
    expect(events.triggers).toHaveLength(KINDS_EVENTS);
    expect(events.logical).toHaveLength(KINDS_EVENTS);
    events.logical.forEach((event, i) => expect(event, `event ${i + 1}`).toEqual(events.triggers[i]));
    // What both modes agree on is what the API promises (checked on a few fields, the rest being equal).
    const [max, min] = events.triggers;
    expect(max!.row).toMatchObject({ big: '9223372036854775807', amount: '123456789012345678901234567890.123456789', at: '2024-02-29T18:29:59.123456Z', day: '9999-12-31' });
    expect(max!.actor).toEqual({ kind: 'ADMIN', apiKeyId: null, apiKeyName: null });
    expect(min!.row).toMatchObject({ big: '-9223372036854775808', at: '1970-01-01T00:00:00.000001Z', doc: [] });
    expect(min!.actor).toEqual({ kind: 'API_KEY', apiKeyId: 'the project key', apiKeyName: 'test' });
    const byLabel = (label: string, op: string) => events.triggers.find((e) => e.op === op && (e.row ?? e.oldRow).label === label)!;
    expect(byLabel('psql', 'INSERT').row.at).toBe('2024-06-30T18:14:59.999999Z');
    expect(byLabel('psql', 'INSERT').actor).toBeNull();
    // The update that left the TOASTed body alone still carries it, old and new.
    const raw = byLabel('raw', 'UPDATE');
    expect([raw.row.body, raw.oldRow.body, raw.changedColumns]).toEqual([toasted, toasted, ['n']]);
    const huge = byLabel('huge', 'UPDATE');
    expect([huge.row.body.length, huge.oldRow.body.length, huge.changedColumns]).toEqual([overOneMegabyte.length, overOneMegabyte.length, ['n']]);
    expect(byLabel('huge', 'DELETE').oldRow.body).toBe(overOneMegabyte);
    expect(events.triggers.filter((e) => e.op === 'CLEAR')).toHaveLength(2);
  });

  it('give the same events for a table made outside the API, with types beyond the eleven', { timeout: 60_000 }, async () => {
    const events = {} as Record<Mode, Record<string, any>[]>;
    for (const mode of MODES) {
      const side = sides[mode];
      await createOutsideTable(side);
      const collected = await subscribe(side.t, side.project.token, ROW_CHANGES_WITH_ACTOR, { p: side.project.id, t: 'outside' });
      expect(collected.payloads[0]?.errors).toBeUndefined();
      await writeOutside(side);
      await collected.waitFor(OUTSIDE_EVENTS, 20_000);
      events[mode] = seen(collected, side, OUTSIDE_EVENTS + 1);
    }
    expect(events.triggers).toHaveLength(OUTSIDE_EVENTS);
    expect(events.logical).toHaveLength(OUTSIDE_EVENTS);
    events.logical.forEach((event, i) => expect(event, `event ${i + 1}`).toEqual(events.triggers[i]));
    // Both are to_jsonb's encoding of the typed value: arrays as JSON arrays, composites as objects, timestamps with a "T".
    expect(events.triggers[0]!.row).toMatchObject({
      ints: [1, null, 3], grid: [[1, 2], [3, 4]], texts: ['a b', 'c,d', 'e"f', null], moods: ['sad', 'ok'], pair: { x: 7, label: 'seven, eight' },
      plain: '2024-02-29T12:34:56.789012', stamps: ['2024-01-01T10:00:00.000001+00:00', '1999-12-31T18:29:59+00:00'], doc: { a: 'dup', b: 1 },
    });
  });
});

describe('a value whose type is gone by the time the WAL is decoded (capture from the WAL)', () => {
  it('keeps its text, and capture goes on', { timeout: 60_000 }, async () => {
    const { t, project, psql } = sides.logical;
    const s = `"${project.schema}"`;
    await psql.query(`CREATE TYPE ${s}.tag AS ENUM ('a', 'b')`);
    await psql.query(`CREATE TABLE ${s}.tagged (id int PRIMARY KEY, tags ${s}.tag[])`);
    const collected = await subscribe(t, project.token, ROW_CHANGES_WITH_ACTOR, { p: project.id, t: 'tagged' });
    // The capture leader's append waits behind this lock until the type is gone.
    const holder = await superuserClient(sides.logical.databaseUrl);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE paige.change_log IN EXCLUSIVE MODE');
    await psql.query(`INSERT INTO tagged VALUES (1, '{a,b}')`);
    await psql.query(`ALTER TABLE tagged ALTER COLUMN tags TYPE text[] USING tags::text[]`);
    await psql.query(`DROP TYPE ${s}.tag`);
    await holder.query('COMMIT');
    await psql.query(`INSERT INTO tagged VALUES (2, '{c}')`);
    const events = await collected.waitFor(2);
    expect(events.map((e) => e.data.rowChanges.row)).toEqual([
      { id: 1, tags: '{a,b}' },
      { id: 2, tags: ['c'] },
    ]);
  });
});
