import pg from 'pg';
import { inject } from 'vitest';
import { projectNames } from '../../src/db/projects.js';
import { loginRolePassword, readPlatformSecret } from '../../src/db/platform-secret.js';
import { exactTypes } from '../../src/db/pool.js';

/** A superuser client on this run's database, for looking at what Postgres really holds. */
export async function superuserClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: inject('databaseUrl'), types: exactTypes });
  await client.connect();
  return client;
}

/** Runs `work` with a superuser client, closing it after. */
export async function asSuperuser<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await superuserClient();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A client logged in as a project's own login role (what raw SQL from bot code runs as). */
export async function loginRoleClient(projectId: string): Promise<pg.Client> {
  const names = projectNames(projectId);
  const password = loginRolePassword(await asSuperuser(readPlatformSecret), names.login);
  const url = new URL(inject('databaseUrl'));
  url.username = names.login;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString(), types: exactTypes });
  await client.connect();
  return client;
}
