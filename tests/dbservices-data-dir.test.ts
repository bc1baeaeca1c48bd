import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createServer, type PaigeServer } from '../src/server.js';
import { createDbServices, type DbServices } from '../src/dbservices/index.js';

/**
 * Issue 11, point 4: bot code finds the embedded Postgres of `npm start` with PAIGE_DATA_DIR alone.
 * The server (here as `npm start` builds it, without DATABASE_URL) keeps the cluster's URL in the
 * data dir while it runs; dbServices reads it. Without a running server, the error says to start it.
 */
const adminToken = `data-dir-admin-${randomBytes(12).toString('hex')}`;
let dataDir: string;
let server: PaigeServer | undefined;
const services: DbServices[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'paige-data-dir-'));
  const config = parseConfig({ PORT: '0', PAIGE_DATA_DIR: dataDir, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'silent' });
  server = await createServer(config, createLogger('silent'));
  await server.start();
}, 120_000);

afterAll(async () => {
  for (const db of services) await db.close();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const admin = async (query: string, variables: Record<string, unknown> = {}) => {
  const response = await fetch(server!.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const { data, errors } = (await response.json()) as { data: any; errors?: unknown[] };
  expect(errors).toBeUndefined();
  return data;
};

describe('dbServices with PAIGE_DATA_DIR and the embedded Postgres', () => {
  let projectId: string;
  let url: string;

  it('the running server keeps the embedded cluster URL in <data dir>/database-url, readable by its owner only', async () => {
    const file = join(dataDir, 'database-url');
    url = (await readFile(file, 'utf8')).trim();
    expect(url).toBe(server!.services.db.url);
    expect(url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/paige$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('a bot with PAIGE_PROJECT_ID and PAIGE_DATA_DIR only works in-process on the same data as the API', async () => {
    ({ createProject: { id: projectId } } = await admin(`mutation { createProject(name: "data-dir bot") { id } }`));
    const db = createDbServices({ env: { PAIGE_PROJECT_ID: projectId, PAIGE_DATA_DIR: dataDir } });
    services.push(db);
    expect(db.transport).toBe('in-process');
    await db.contacts.upsert({ phone: '+14155550199', name: 'Grace' });
    const { project } = await admin(`query ($id: ID!) { project(id: $id) { table(name: "contacts") { rows { nodes } } } }`, { id: projectId });
    expect(project.table.rows.nodes).toEqual([expect.objectContaining({ name: 'Grace', phone: '+14155550199' })]);
  });

  it('once the server stops the file is gone, and a bot is told to start paige-db first', async () => {
    await server!.stop();
    server = undefined;
    const file = join(dataDir, 'database-url');
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    const db = createDbServices({ projectId, dataDir, env: {} });
    services.push(db);
    await expect(db.contacts.get('+14155550199')).rejects.toMatchObject({
      name: 'DbServicesError',
      code: 'CONFIGURATION',
      message: `dbServices: ${file} does not exist: start paige-db first (npm start with PAIGE_DATA_DIR=${dataDir} and no DATABASE_URL); while it runs, it keeps the embedded Postgres's address there`,
      details: { setting: 'PAIGE_DATA_DIR' },
    });

    // A file left behind by a server that died: its port no longer answers.
    await writeFile(file, `${url}\n`, { mode: 0o600 });
    const target = `127.0.0.1:${new URL(url).port}/paige`;
    const stale = createDbServices({ projectId, dataDir, env: {} });
    services.push(stale);
    const error = await stale.contacts.get('+14155550199').then(() => new Error('no error'), (e: unknown) => e as Error);
    expect(error).toMatchObject({
      name: 'DbServicesError',
      code: 'UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`^dbServices: the database at ${target.replace(/\./g, '\\.')} cannot be reached \\(connect ECONNREFUSED .*\\); that address is from ${file.replace(/[.]/g, '\\.')}, written at paige-db's last start: is paige-db running\\?`)),
      details: { database: target },
    });
    expect(error.message).not.toContain(decodeURIComponent(new URL(url).password));
  });
});
