import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrations } from '../src/db/migrations/index.js';
import { createEmptyDatabase } from './support/postgres.js';
import { startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});

describe('endpoints', () => {
  it('/healthz and /readyz answer 200', async () => {
    const base = t.url.replace(/\/graphql$/, '');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const readiness = await ready.json();
    // How changes are captured: from the WAL (with the slot's lag) where the server allows it, else by triggers.
    if (t.server.services.capture.mode === 'logical') {
      expect(readiness).toEqual({ status: 'ready', capture: 'logical', slot: { name: expect.stringMatching(/^paige_capture_\d+$/), lagBytes: expect.any(Number), streaming: expect.any(Boolean) } });
    } else expect(readiness).toEqual({ status: 'ready', capture: 'triggers' });
  });

  it('serves GraphiQL to a browser GET on /graphql', async () => {
    const response = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('graphiql');
  });
});

describe('platform migrations', () => {
  it('two servers migrating one empty database at once both come up, and it is migrated once', async () => {
    // Dropped after the servers have stopped (leftovers go last first).
    const url = await createEmptyDatabase();
    const [one, two] = await Promise.all([startTestServer({ DATABASE_URL: url }), startTestServer({ DATABASE_URL: url })]);
    for (const server of [one, two]) {
      const ready = await fetch(server.url.replace(/\/graphql$/, '/readyz'));
      expect(ready.status).toBe(200);
      expect(await server.ok(`{ projects { id } }`)).toEqual({ projects: [] });
    }
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const { rows } = await db.query(`SELECT version, name FROM paige.schema_migrations ORDER BY version`);
    // Every migration recorded, each once (a second run would have failed on the primary key).
    expect(rows).toEqual(migrations.map(({ version, name }) => ({ version, name })));
    expect(rows[0]).toEqual({ version: 1, name: 'platform' });
    // /readyz is not ready while a known migration is missing from the record.
    await db.query(`DELETE FROM paige.schema_migrations WHERE version = $1`, [migrations.at(-1)!.version]);
    await db.end();
    const notReady = await fetch(one.url.replace(/\/graphql$/, '/readyz'));
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not ready' });
  });
});
