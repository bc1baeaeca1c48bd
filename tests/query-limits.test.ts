import { beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
let closed: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  closed = await startTestServer({ GRAPHQL_INTROSPECTION: 'false' });
});

const post = (server: TestServer, body: string) =>
  fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` },
    body,
  });

/** A POST whose body goes out in 64 KiB chunks (Transfer-Encoding: chunked), as a streaming client sends it. */
function postChunked(server: TestServer, body: string): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` };
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    // The server may answer and close before the whole body is written.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    for (let i = 0; i < body.length; i += 65_536) req.write(body.slice(i, i + 65_536));
    req.end();
  });
}

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

  it('answers 413 to a chunked body over 1 MB (no Content-Length to check up front), and serves one under it', async () => {
    const big = await postChunked(t, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(3_000_000) } }));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).errors[0]).toEqual({ message: 'request body over 1000000 bytes', extensions: { code: 'BAD_USER_INPUT' } });
    const small = await postChunked(t, JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(500_000) } }));
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body)).toEqual({ data: { __typename: 'Query' } });
    const empty = await postChunked(t, '');
    expect(empty.status).toBeGreaterThanOrEqual(400);
    expect(empty.status).toBeLessThan(500);
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
