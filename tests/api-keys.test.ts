import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { ApiKeyUsage } from '../src/db/api-key-usage.js';
import { leftover } from './support/leftovers.js';
import { asSuperuser } from './support/postgres.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';

/**
 * Issue 11, point 7: keys can be listed (id, name, createdAt, lastUsedAt; never the token or its
 * hash) by the admin and by the project's own keys, so revokeApiKey(id) has an id to take.
 */
let t: TestServer;
let a: TestProjectHandle;
let b: TestProjectHandle;
beforeAll(async () => {
  t = await startTestServer();
  a = await createTestProject(t);
  b = await createTestProject(t);
});
afterAll(async () => {
  await a?.remove();
  await b?.remove();
  await t?.stop();
});

const LIST = `query ($p: ID!) { apiKeys(projectId: $p) { id projectId name createdAt lastUsedAt } }`;
const CREATE = `mutation ($p: ID!, $name: String!) { createApiKey(projectId: $p, name: $name) { token apiKey { id name createdAt lastUsedAt } } }`;
const lastUsedInDatabase = (id: string) =>
  asSuperuser(async (su) => (await su.query(`SELECT last_used_at::text AS at FROM paige.api_keys WHERE id = $1`, [id])).rows[0]?.at as string | null);

describe('apiKeys', () => {
  it('the admin lists a project\'s keys oldest first, with what revokeApiKey takes and nothing of the token', async () => {
    const { createApiKey: made } = await t.ok(CREATE, { p: a.id, name: 'dashboard' });
    expect(made.apiKey.lastUsedAt).toBeNull();
    const { apiKeys } = await t.ok(LIST, { p: a.id });
    // createTestProject made the first key ("test").
    expect(apiKeys.map((key: { name: string }) => key.name)).toEqual(['test', 'dashboard']);
    expect(apiKeys[1]).toEqual({ id: made.apiKey.id, projectId: a.id, name: 'dashboard', createdAt: made.apiKey.createdAt, lastUsedAt: null });
    expect(JSON.stringify(apiKeys)).not.toContain(made.token);
    // The type has no field that could carry the token or its hash.
    const { __type } = await t.ok(`{ __type(name: "ApiKey") { fields { name } } }`);
    expect(__type.fields.map((f: { name: string }) => f.name).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'projectId']);

    expect(await t.ok(`mutation ($id: ID!) { revokeApiKey(id: $id) }`, { id: made.apiKey.id })).toEqual({ revokeApiKey: true });
    expect((await t.ok(LIST, { p: a.id })).apiKeys.map((key: { id: string }) => key.id)).not.toContain(made.apiKey.id);
  });

  it("a project key lists its own project's keys; another project's id is NOT_FOUND, exactly like a missing one", async () => {
    const { apiKeys } = await t.ok(LIST, { p: a.id }, a.token);
    expect(apiKeys.every((key: { projectId: string }) => key.projectId === a.id)).toBe(true);
    const foreign = await t.gql(LIST, { p: b.id }, a.token);
    const missing = await t.gql(LIST, { p: 'ffffffffffff' }, a.token);
    expect(foreign.errors).toEqual([expect.objectContaining({ message: `project "${b.id}" not found`, extensions: { code: 'NOT_FOUND' } })]);
    expect(missing.errors).toEqual([expect.objectContaining({ message: 'project "ffffffffffff" not found', extensions: { code: 'NOT_FOUND' } })]);
    expect(foreign.data).toBeNull();
    expect(missing.data).toBeNull();
  });

  it('lastUsedAt is set by the first request a key authenticates, and not rewritten by the next ones within a minute', async () => {
    const { createApiKey: made } = await t.ok(CREATE, { p: b.id, name: 'bot' });
    const usage = t.server.services.apiKeyUsage;
    await t.ok(`{ projects { id } }`, {}, made.token);
    await usage.settled();
    const first = (await t.ok(LIST, { p: b.id })).apiKeys.find((key: { id: string }) => key.id === made.apiKey.id).lastUsedAt;
    expect(Date.parse(first)).toBeGreaterThanOrEqual(Date.parse(made.apiKey.createdAt));
    const stored = await lastUsedInDatabase(made.apiKey.id);

    // More requests with the same key in the same minute write nothing.
    for (let i = 0; i < 5; i++) await t.ok(`{ projects { id } }`, {}, made.token);
    await usage.settled();
    expect(await lastUsedInDatabase(made.apiKey.id)).toBe(stored);
    expect((await t.ok(LIST, { p: b.id })).apiKeys.find((key: { id: string }) => key.id === made.apiKey.id).lastUsedAt).toBe(first);
  });
});

describe('ApiKeyUsage', () => {
  it('writes a key\'s use at most once per interval, per key', async () => {
    const { createApiKey: one } = await t.ok(CREATE, { p: a.id, name: 'one' });
    const { createApiKey: two } = await t.ok(CREATE, { p: a.id, name: 'two' });
    const usage = new ApiKeyUsage(t.server.services.db.url, createLogger('silent'), 60_000);
    leftover(() => usage.close());
    const write = async (id: string, at: number) => {
      usage.used(id, at);
      await usage.settled();
      return lastUsedInDatabase(id);
    };
    const first = await write(one.apiKey.id, 1_000_000);
    expect(first).not.toBeNull();
    expect(await write(one.apiKey.id, 1_059_999)).toBe(first);
    expect(await write(two.apiKey.id, 1_059_999)).not.toBeNull();
    const later = await write(one.apiKey.id, 1_060_000);
    expect(Date.parse(later!)).toBeGreaterThan(Date.parse(first!));
  });
});
