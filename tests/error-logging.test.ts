import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { superuserClient } from './support/postgres.js';
import { startServiceProcess, type ServiceProcess } from './support/process.js';
import { wsClient, type Payload } from './support/subscriptions.js';

/**
 * Issue 11, point 6: what the service writes to its log (stderr of `npm start`, the real process)
 * when a caller makes a mistake and when something unexpected fails. A duplicate value is the
 * caller's CONFLICT: at most a debug line, no stack. A fault of the server is one error line with
 * the stack, over HTTP and graphql-ws alike.
 */
const adminToken = `log-admin-${randomBytes(12).toString('hex')}`;
let dataDir: string;
let service: ServiceProcess;
let url: string;
let su: pg.Client;
let projectId: string;
const projectName = `log-${randomBytes(3).toString('hex')}`;

const http = async (query: string, variables: Record<string, unknown> = {}) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Payload;
};

/** One operation over graphql-ws: its single result. */
const overWebSocket = async (query: string, variables: Record<string, unknown>) => {
  const client = wsClient({ url }, adminToken);
  try {
    return await new Promise<Payload>((resolve, reject) => {
      let result: Payload | undefined;
      client.subscribe({ query, variables }, { next: (payload) => (result = payload as Payload), error: reject, complete: () => resolve(result!) });
    });
  } finally {
    await client.dispose();
  }
};

const INSERT = /* GraphQL */ `mutation ($p: ID!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: "guests", rows: $rows) }`;
/** The log lines (first lines of entries) written at a level. */
const linesAt = (log: string, level: string) => log.split('\n').filter((line) => new RegExp(`^\\S+Z ${level}\\b`).test(line));

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'paige-log-'));
  service = startServiceProcess({ PORT: '0', DATABASE_URL: inject('databaseUrl'), ADMIN_TOKEN: adminToken, PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'debug' });
  [, url] = (await service.waitFor(/paige-db ready at (\S+) in \d+ ms/, 60_000)) as [string, string];
  su = await superuserClient();
  const { data } = await http(`mutation ($name: String!) { createProject(name: $name) { id } }`, { name: projectName });
  projectId = data.createProject.id;
  const created = await http(
    `mutation ($p: ID!) { createTable(projectId: $p, input: { name: "guests", columns: [{ name: "email", type: TEXT, unique: true }, { name: "note", type: TEXT }] }) { name } }`,
    { p: projectId },
  );
  expect(created.errors).toBeUndefined();
  expect((await http(INSERT, { p: projectId, rows: [{ email: 'ada@example.com' }] })).errors).toBeUndefined();
  // A fault no caller can cause: Postgres failing a write with an internal error class (XX001, data_corrupted).
  await su.query(/* SQL */ `
    CREATE FUNCTION "p_${projectId}".explode() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.note = 'explode' THEN RAISE EXCEPTION 'disk on fire' USING ERRCODE = 'XX001'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER explode BEFORE INSERT ON "p_${projectId}".guests FOR EACH ROW EXECUTE FUNCTION "p_${projectId}".explode()`);
}, 90_000);

afterAll(async () => {
  if (projectId) await http(`mutation ($id: ID!, $name: String!) { deleteProject(id: $id, confirmName: $name) }`, { id: projectId, name: projectName }).catch(() => {});
  await su?.end();
  if (service && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('the server log', () => {
  it("a caller's mistakes (CONFLICT over HTTP and WebSocket, NOT_FOUND, BAD_USER_INPUT) are debug lines without a stack", async () => {
    expect((await http(INSERT, { p: projectId, rows: [{ nope: 1 }] })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await http(INSERT, { p: 'ffffffffffff', rows: [{ email: 'x' }] })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const sql = `mutation ($p: ID!) { sql(projectId: $p, text: "selec 1") { rowCount } }`;
    expect((await http(sql, { p: projectId })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const duplicate = { p: projectId, rows: [{ email: 'ada@example.com' }] };
    const conflict = 'a row with the same "email" already exists in table "guests"';
    for (const result of [await http(INSERT, duplicate), await overWebSocket(INSERT, duplicate)]) {
      expect(result.errors).toEqual([expect.objectContaining({ message: conflict, extensions: { code: 'CONFLICT', table: 'guests', columns: ['email'] } })]);
    }
    // stderr is one ordered stream: once the last conflict's line is in, so is all the above wrote.
    await service.waitFor(/CONFLICT \(insertRows\)[^]*CONFLICT \(insertRows\)/, 10_000);
    const log = service.stderr();
    expect(linesAt(log, 'debug').filter((line) => line.includes(conflict))).toEqual([
      expect.stringMatching(/ debug CONFLICT \(insertRows\): a row with the same "email" already exists in table "guests"$/),
      expect.stringMatching(/ debug CONFLICT \(insertRows\): a row with the same "email" already exists in table "guests"$/),
    ]);
    expect(linesAt(log, 'error')).toEqual([]);
    expect(linesAt(log, 'warn')).toEqual([]);
    expect(log).not.toContain('duplicate key value');
    expect(log).not.toContain('ERR');
    expect(log).not.toMatch(/^\s+at /m);
  });

  it('an unexpected error is one error line with its stack, and the caller sees only INTERNAL_SERVER_ERROR', async () => {
    const exploding = { p: projectId, rows: [{ email: 'boom@example.com', note: 'explode' }] };
    const masked = [expect.objectContaining({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } })];
    expect((await http(INSERT, exploding)).errors).toEqual(masked);
    await service.waitFor(/error unexpected error \(insertRows\) error: disk on fire\n/, 10_000);
    expect((await overWebSocket(INSERT, exploding)).errors).toEqual(masked);
    await service.waitFor(/error unexpected error \(insertRows\) error: disk on fire\n[^]*error unexpected error \(insertRows\) error: disk on fire\n/, 10_000);

    const log = service.stderr();
    const errors = linesAt(log, 'error');
    expect(errors).toEqual([expect.stringMatching(/ error unexpected error \(insertRows\) error: disk on fire$/), expect.stringMatching(/ error unexpected error \(insertRows\) error: disk on fire$/)]);
    // With the stack and the SQLSTATE, once per failure.
    expect(log.match(/ error: disk on fire\n\s+at /g)).toHaveLength(2);
    expect(log.match(/code: 'XX001'/g)).toHaveLength(2);
  });
});
