import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { projectNames } from '../../src/db/projects.js';
import { loginRolePassword, readPlatformSecret } from '../../src/db/platform-secret.js';
import { exactTypes } from '../../src/db/pool.js';
import { withDatabase } from './global-setup.js';
import { leftover } from './leftovers.js';

/** A session at `url` with the service's exact types. */
async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, types: exactTypes });
  await client.connect();
  return client;
}

/** A session that is ended after the test file (or earlier by `end()`). */
async function session(url: string): Promise<pg.Client> {
  const client = await connect(url);
  leftover(() => client.end());
  return client;
}

/** A superuser session on this run's database (or `url`), as an operator's psql, for looking at what Postgres really holds. */
export function superuserClient(url = inject('databaseUrl')): Promise<pg.Client> {
  return session(url);
}

/** Runs `work` with a superuser client, closing it after. */
export async function asSuperuser<T>(work: (client: pg.Client) => Promise<T>, url = inject('databaseUrl')): Promise<T> {
  const client = await connect(url);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A session of a project's own login role (what raw SQL from bot code runs as), on this run's database or `databaseUrl`. */
export async function loginRoleClient(projectId: string, databaseUrl = inject('databaseUrl')): Promise<pg.Client> {
  const names = projectNames(projectId);
  const password = loginRolePassword(await asSuperuser(readPlatformSecret, databaseUrl), names.login);
  const url = new URL(databaseUrl);
  url.username = names.login;
  url.password = password;
  return session(url.toString());
}

/** A new empty database on the test Postgres (not this run's), or on the server at `serverUrl`, dropped after the test file; its URL. */
export async function createEmptyDatabase(serverUrl = inject('serverUrl')): Promise<string> {
  const name = `paige_test_${randomBytes(4).toString('hex')}`;
  const admin = await session(serverUrl);
  await admin.query(`CREATE DATABASE ${name}`);
  leftover(async () => {
    // A logical replication slot keeps its database from being dropped, even WITH (FORCE).
    // A terminated walsender holds its slot until it has exited: try again until the slots are gone.
    for (let tries = 0; ; tries += 1) {
      await admin.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`, [name]);
      await admin.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, [name]);
      const left = await admin.query(`SELECT 1 FROM pg_replication_slots WHERE database = $1`, [name]);
      if (left.rowCount === 0 || tries >= 100) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  });
  return withDatabase(serverUrl, name);
}
