import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { createLogger } from '../../src/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A fresh database for this run, on the embedded cluster or TEST_DATABASE_URL's server. */
    databaseUrl: string;
    /** The same server's maintenance database, for tests that need another empty database. */
    serverUrl: string;
  }
}

interface RunDatabase {
  databaseUrl: string;
  serverUrl: string;
  teardown(): Promise<void>;
}

/**
 * vitest calls a global setup once per project (vitest.config.ts has two), in one process: the
 * run's database is made by the first call and dropped after the last teardown.
 */
const shared = globalThis as { paigeRunDatabase?: Promise<RunDatabase>; paigeRunUsers?: number };

/**
 * One Postgres for the whole run: the embedded package by default (what a new user has), or the
 * server at TEST_DATABASE_URL. Either way the run gets a database of its own, dropped at the end
 * with every role its projects left behind.
 */
export default async function setup(project: TestProject) {
  shared.paigeRunUsers = (shared.paigeRunUsers ?? 0) + 1;
  shared.paigeRunDatabase ??= startRunDatabase();
  const run = await shared.paigeRunDatabase;
  project.provide('databaseUrl', run.databaseUrl);
  project.provide('serverUrl', run.serverUrl);
  return async () => {
    shared.paigeRunUsers! -= 1;
    if (shared.paigeRunUsers === 0) await run.teardown();
  };
}

async function startRunDatabase(): Promise<RunDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    dataDir = await mkdtemp(join(tmpdir(), 'paige-test-'));
    embedded = await startEmbeddedPostgres(dataDir, createLogger('warn'));
    serverUrl = embedded.url;
  }
  const name = `paige_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  console.log(`tests use ${embedded ? 'an embedded Postgres' : 'TEST_DATABASE_URL'}, database ${name}`);
  const url = serverUrl;
  return {
    databaseUrl: withDatabase(url, name),
    serverUrl: url,
    async teardown() {
      await dropTestDatabase(url, name);
      await embedded?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Drops this run's database, then every project role that no longer owns anything anywhere. */
async function dropTestDatabase(serverUrl: string, name: string) {
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    // Project roles are cluster-wide; once their databases are gone they own nothing.
    const roles = await admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE rolname ~ '^p_[0-9a-f]{12}_(owner|login)$'
         AND NOT EXISTS (SELECT 1 FROM pg_shdepend d WHERE d.refobjid = pg_roles.oid AND d.dbid <> 0)`,
    );
    for (const { rolname } of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${rolname}"`).catch(() => {});
  } finally {
    await admin.end();
  }
}
