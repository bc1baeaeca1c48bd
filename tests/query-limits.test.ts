import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
let closed: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  closed = await startTestServer({ GRAPHQL_INTROSPECTION: 'false' });
});
afterAll(async () => {
  await t?.stop();
  await closed?.stop();
});

const post = (server: TestServer, body: string) =>
  fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` },
    body,
  });

describe('query limits (graphql-armor)', () => {
  it('refuses a query nested deeper than 10', async () => {
    // Conversation.messages → Message.conversation → … nests without end.
    const nest = (levels: number): string =>
      levels === 0 ? 'id' : `id messages { id conversation { ${nest(levels - 1)} } }`;
    const query = (levels: number) => `{ conversations(projectId: "000000000000") { ${nest(levels)} } }`;
    expect((await t.gql(query(4))).errors?.[0]?.extensions?.code).toBe('NOT_FOUND'); // depth 9: allowed, runs
    const result = await t.gql(query(5));
    expect(result.errors?.[0]?.message).toMatch(/Query depth limit of 10 exceeded/);
  });

  it('refuses more than 15 aliases', async () => {
    const query = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: projects { id }`).join(' ')} }`;
    expect((await t.gql(query)).errors?.[0]?.message).toBe('Syntax Error: Aliases limit of 15 exceeded, found 16.');
  });

  it('refuses more than 2,000 tokens', async () => {
    const query = `{ projects { ${Array.from({ length: 2_100 }, () => 'id').join(' ')} } }`;
    expect((await t.gql(query)).errors?.[0]?.message).toMatch(/Token limit of 2000 exceeded/);
  });

  it('refuses batched requests', async () => {
    const response = await post(t, JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  it('answers 413 to a body over 1 MB', async () => {
    const response = await post(t, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1_100_000) } }));
    expect(response.status).toBe(413);
  });
});

describe('introspection', () => {
  it('is on by default and off with GRAPHQL_INTROSPECTION=false', async () => {
    const query = `{ __schema { queryType { name } } }`;
    expect(await t.ok(query)).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const result = await closed.gql(query);
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]?.message).toMatch(/introspection/i);
    // Ordinary operations are unaffected.
    expect(await closed.ok(`{ projects { id } }`)).toHaveProperty('projects');
  });
});
