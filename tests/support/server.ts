import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { parseConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createServer, type PaigeServer } from '../../src/server.js';
import type { WebSocketOptions } from '../../src/transports/graphql-ws.js';

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [key: string]: unknown } }[];
}

export interface TestServer {
  server: PaigeServer;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  adminToken: string;
  /** POSTs an operation; `token: null` sends no Authorization header. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** Like gql, but throws on any error and returns `data`. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T>;
  /** The server's counters, as GET /metrics shows them to an operator. */
  metrics(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts the real server on 127.0.0.1 and a port the OS picks, against this run's database. */
export async function startTestServer(env: Record<string, string> = {}, websocketOptions: WebSocketOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-server-'));
  const adminToken = `test-admin-${randomBytes(12).toString('hex')}`;
  const config: Config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: inject('databaseUrl'),
    PAIGE_DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const server = await createServer(config, createLogger(config.logLevel), websocketOptions);
  await server.start();

  const gql = async (query: string, variables: Record<string, unknown> = {}, token: string | null = adminToken) => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as object) } as GraphQLResponse;
  };
  const ok = async (query: string, variables?: Record<string, unknown>, token?: string | null) => {
    const result = await gql(query, variables, token);
    if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data;
  };
  const metrics = async () => {
    const response = await fetch(server.url.replace(/\/graphql$/, '/metrics'), { headers: { authorization: `Bearer ${adminToken}` } });
    if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
    const lines = (await response.text()).split('\n').filter((line) => line && !line.startsWith('#'));
    return Object.fromEntries(lines.map((line) => [line.split(' ')[0]!, Number(line.split(' ')[1])]));
  };
  return {
    server,
    url: server.url,
    adminToken,
    gql,
    ok,
    metrics,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestProjectHandle {
  id: string;
  name: string;
  schema: string;
  /** A project key for this project. */
  token: string;
  remove(): Promise<void>;
}

/** Creates a project with a key of its own; `remove()` deletes it (schema, roles, keys). */
export async function createTestProject(t: TestServer, name = `test-${randomBytes(3).toString('hex')}`): Promise<TestProjectHandle> {
  const { createProject } = await t.ok(`mutation ($name: String!) { createProject(name: $name) { id name } }`, { name });
  const { createApiKey } = await t.ok(
    `mutation ($id: ID!) { createApiKey(projectId: $id, name: "test") { token } }`,
    { id: createProject.id },
  );
  return {
    id: createProject.id,
    name,
    schema: `p_${createProject.id}`,
    token: createApiKey.token,
    remove: async () => {
      await t.gql(`mutation ($id: ID!, $name: String!) { deleteProject(id: $id, confirmName: $name) }`, { id: createProject.id, name });
    },
  };
}
