import { beforeAll, describe, expect, it } from 'vitest';
import { asSuperuser } from './support/postgres.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';

let t: TestServer;
let a: TestProjectHandle;
let b: TestProjectHandle;
beforeAll(async () => {
  t = await startTestServer();
  a = await createTestProject(t);
  b = await createTestProject(t);
});

const projectsQuery = `{ projects { id name } }`;

describe('authentication', () => {
  it('answers 401 UNAUTHENTICATED without a token', async () => {
    const result = await t.gql(projectsQuery, {}, null);
    expect(result.status).toBe(401);
    expect(result.errors?.[0]).toMatchObject({ message: 'missing Authorization: Bearer <token>', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('answers 401 for an unknown token and for a header that is not Bearer', async () => {
    const unknown = await t.gql(projectsQuery, {}, 'pdb_nope_nope');
    expect(unknown.status).toBe(401);
    expect(unknown.errors?.[0]).toMatchObject({ message: 'invalid or revoked token', extensions: { code: 'UNAUTHENTICATED' } });
    const response = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${t.adminToken}` },
      body: JSON.stringify({ query: projectsQuery }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: { message: string }[] };
    expect(body.errors[0]!.message).toBe('the Authorization header must be "Bearer <token>"');
  });

  it('lets the admin token see every project', async () => {
    const { projects } = await t.ok(projectsQuery);
    expect(projects.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining([a.id, b.id]));
  });
});

describe('project keys', () => {
  it('are stored only as a hash', async () => {
    const { createApiKey } = await t.ok(`mutation ($id: ID!) { createApiKey(projectId: $id, name: "bot") { token apiKey { id projectId name createdAt } } }`, { id: a.id });
    expect(createApiKey.apiKey).toMatchObject({ projectId: a.id, name: 'bot' });
    const stored = await asSuperuser((c) => c.query(`SELECT * FROM paige.api_keys WHERE id = $1`, [createApiKey.apiKey.id]));
    expect(JSON.stringify(stored.rows)).not.toContain(createApiKey.token);
    expect(stored.rows[0].token_hash).toHaveLength(32);
  });

  it('see only their own project; another id answers like a missing one', async () => {
    const { projects } = await t.ok(projectsQuery, {}, a.token);
    expect(projects).toEqual([{ id: a.id, name: a.name }]);

    const own = await t.ok(`query ($id: ID!) { project(id: $id) { id } }`, { id: a.id }, a.token);
    expect(own.project).toEqual({ id: a.id });
    const other = await t.ok(`query ($id: ID!) { project(id: $id) { id } }`, { id: b.id }, a.token);
    const missing = await t.ok(`query { project(id: "000000000000") { id } }`, {}, a.token);
    expect(other).toEqual({ project: null });
    expect(missing).toEqual({ project: null });

    const createKey = `mutation ($id: ID!) { createApiKey(projectId: $id, name: "x") { token } }`;
    const otherKey = await t.gql(createKey, { id: b.id }, a.token);
    const missingKey = await t.gql(createKey, { id: '000000000000' }, a.token);
    expect(otherKey.errors?.[0]).toMatchObject({ message: `project "${b.id}" not found`, extensions: { code: 'NOT_FOUND' } });
    expect(missingKey.errors?.[0]).toMatchObject({ message: 'project "000000000000" not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('cannot create or delete projects (admin only)', async () => {
    const create = await t.gql(`mutation { createProject(name: "mine") { id } }`, {}, a.token);
    expect(create.errors?.[0]).toMatchObject({ message: 'only the admin token may do this', extensions: { code: 'FORBIDDEN' } });
    const remove = await t.gql(`mutation ($id: ID!, $n: String!) { deleteProject(id: $id, confirmName: $n) }`, { id: a.id, n: a.name }, a.token);
    expect(remove.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('fail at once when revoked, and cannot revoke another project\'s key', async () => {
    const { createApiKey } = await t.ok(`mutation ($id: ID!) { createApiKey(projectId: $id, name: "short-lived") { token apiKey { id } } }`, { id: a.id });
    const { token, apiKey } = createApiKey;
    expect((await t.gql(projectsQuery, {}, token)).status).toBe(200);

    const foreign = await t.gql(`mutation ($id: ID!) { revokeApiKey(id: $id) }`, { id: apiKey.id }, b.token);
    expect(foreign.errors?.[0]).toMatchObject({ message: `API key "${apiKey.id}" not found`, extensions: { code: 'NOT_FOUND' } });
    expect((await t.gql(projectsQuery, {}, token)).status).toBe(200);

    expect(await t.ok(`mutation ($id: ID!) { revokeApiKey(id: $id) }`, { id: apiKey.id }, token)).toEqual({ revokeApiKey: true });
    const after = await t.gql(projectsQuery, {}, token);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
