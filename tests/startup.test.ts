import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from './support/process.js';

describe('configuration', () => {
  it.each([
    ['PORT', 'abc', 'paige-db: invalid PORT: must be a whole number from 0 to 65535 (got "abc")'],
    ['LOG_LEVEL', 'loud', 'paige-db: invalid LOG_LEVEL: must be one of debug, info, warn, error, silent (got "loud")'],
    ['DATABASE_URL', 'mysql://db', 'paige-db: invalid DATABASE_URL: must start with postgres:// or postgresql://'],
    ['ADMIN_TOKEN', 'short', 'paige-db: invalid ADMIN_TOKEN: must be at least 16 characters'],
  ])('a bad %s prints one line naming it and exits 2', async (variable, value, line) => {
    const service = startServiceProcess({ [variable]: value, PAIGE_DATA_DIR: join(tmpdir(), 'paige-never-created') });
    expect(await service.exited).toBe(2);
    expect(service.stderr()).toBe(`${line}\n`);
  });
});

describe('npm start with the embedded Postgres', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'paige-start-'));
  });
  afterAll(async () => {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    service = startServiceProcess({ PORT: '0', PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    const [, url] = await service.waitFor(/paige-db ready at (\S+) in \d+ ms/, 60_000);
    return url!;
  };

  it('starts from nothing, generates and keeps the admin token, shuts down on SIGTERM, and finds its data again', { timeout: 120_000 }, async () => {
    const firstUrl = await start();
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    expect(service!.stdout()).toContain(`admin token: ${token}`);
    const created = await fetch(firstUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `mutation { createProject(name: "survivor") { id } }` }),
    });
    const { data } = (await created.json()) as { data: { createProject: { id: string } } };

    service!.child.kill('SIGTERM');
    expect(await service!.exited).toBe(0);
    expect(service!.stderr()).toContain('SIGTERM: shutting down');

    const secondUrl = await start();
    expect(service!.stdout()).toContain(`admin token: ${token}`);
    const listed = await fetch(secondUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ projects { id name } }` }),
    });
    expect(await listed.json()).toEqual({ data: { projects: [{ id: data.createProject.id, name: 'survivor' }] } });
    service!.child.kill('SIGINT');
    expect(await service!.exited).toBe(0);
  });
});
