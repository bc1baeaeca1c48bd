import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool } from '../../src/db/pool.js';
import { quoteIdent } from '../../src/db/identifiers.js';

/** Where the bench runs: the machine's Postgres in a database made for this run and dropped after. */
export interface BenchDatabase {
  url: string;
  name: string;
  /** A superuser pool on the bench database (exact types, UTC), for seeding and checks. */
  admin: pg.Pool;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `paige_bench_${randomBytes(4).toString('hex')}`;
  const maintenance = new pg.Client({ connectionString: serverUrl });
  await maintenance.connect();
  await maintenance.query(`CREATE DATABASE ${quoteIdent(name)}`);
  await maintenance.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const admin = createPool(url.toString(), { max: 8, applicationName: 'paige-bench' });
  return {
    url: url.toString(),
    name,
    admin,
    async drop() {
      await admin.end();
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        // Project roles are cluster-wide: drop the ones this run made (they own nothing any more).
        const { rows } = await client.query<{ rolname: string }>(
          `SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])`,
          [createdRoles],
        );
        let dropped = 0;
        for (const { rolname } of rows) {
          await client.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`).then(
            () => dropped++,
            (error: unknown) => console.error(`could not drop role ${rolname}: ${String(error)}`),
          );
        }
        console.log(`dropped database ${name} and ${dropped} of ${createdRoles.length} project roles`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Role names of projects this run created, dropped with the database. */
const createdRoles: string[] = [];
export const rememberRoles = (...names: string[]) => void createdRoles.push(...names);

/** A GraphQL client for one server: POST, throw on any error, return data. */
export function graphqlClient(url: string, token: string) {
  return async function gql<T = any>(query: string, variables: Record<string, unknown> = {}, as = token): Promise<T> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown[] };
    if (body.errors?.length || !body.data) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
    return body.data;
  };
}
export type Gql = ReturnType<typeof graphqlClient>;
