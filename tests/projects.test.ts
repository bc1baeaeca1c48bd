import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { inject } from 'vitest';
import { createTestProject, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

describe('projects', () => {
  it('createProject provisions a schema with the three system tables', async () => {
    const project = await createTestProject(t);
    const client = new pg.Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [project.schema],
      );
      expect(rows.map((r) => r.table_name)).toEqual(['contacts', 'conversations', 'messages']);
    } finally {
      await client.end();
      await project.remove();
    }
  });
});
