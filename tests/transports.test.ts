import { beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { startTestServer, type TestServer } from './support/server.js';
import { wsClient } from './support/subscriptions.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});

/** Runs one operation over graphql-ws; resolves with the result or the close/error reason. */
function runOnce(client: Client, query: string): Promise<{ data?: unknown; errors?: { message: string; extensions?: { code?: string } }[]; closed?: number }> {
  return new Promise((resolve) => {
    client.subscribe(
      { query },
      {
        next: (result) => resolve(result as never),
        // graphql-ws reports operation errors as an array, a closed socket as a CloseEvent.
        error: (error) => resolve(Array.isArray(error) ? { errors: error } : { closed: (error as { code?: number }).code }),
        complete: () => {},
      },
    );
  });
}

describe('graphql-ws on /graphql', () => {
  it('runs operations with the token from connectionParams', async () => {
    const result = await runOnce(wsClient(t, t.adminToken), `{ projects { id } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toHaveProperty('projects');
  });

  it('closes with 4403 Forbidden without a valid token', async () => {
    for (const token of [null, 'pdb_wrong_token']) {
      expect(await runOnce(wsClient(t, token), `{ projects { id } }`)).toEqual({ closed: 4403 });
    }
  });

  it('applies the same query limits as HTTP', async () => {
    const deep = `{ projects { tables { columns { name } } projects: __typename } }`;
    const aliases = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: projects { id }`).join(' ')} }`;
    const client = wsClient(t, t.adminToken);
    for (const query of [aliases]) {
      const overWs = await runOnce(client, query);
      const overHttp = await t.gql(query);
      expect(overHttp.errors?.[0]?.message).toMatch(/aliases/i);
      expect(overWs.errors?.[0]?.message).toBe(overHttp.errors?.[0]?.message);
    }
    expect((await runOnce(client, deep)).errors).toBeUndefined();
  });
});
