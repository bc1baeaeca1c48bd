import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { parseConfig, type Config } from '../../src/config.js';
import { projectNames } from '../../src/db/projects.js';
import { createLogger } from '../../src/logger.js';
import { createServer, type PaigeServer } from '../../src/server.js';
import type { WebSocketOptions } from '../../src/transports/graphql-ws.js';
import { leftover } from './leftovers.js';
import { startPgWireProxy, type PgWireProxy } from './pg-wire-proxy.js';

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
  /** The proxy every connection of the server goes through, when started with `{ wireProxy: true }`. */
  wire: PgWireProxy | undefined;
  /** POSTs an operation; `token: null` sends no Authorization header. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** Like gql, but throws on any error and returns `data`. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T>;
  /** The server's counters, as GET /metrics shows them to an operator. */
  metrics(): Promise<Record<string, number>>;
  /** Stops it now (it stops by itself after the test file); only once, however often called. */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /**
   * Connect to Postgres through a wire proxy of the server's own (tests/support/pg-wire-proxy.ts),
   * so the test can see its statements and act on its connections. @default false
   */
  wireProxy?: boolean;
}

/** Servers whose stop() has run: their projects cannot be removed through them any more. */
const stopped = new WeakSet<PaigeServer>();

/**
 * Starts the real server on 127.0.0.1 and a port the OS picks, against this run's database (or
 * env.DATABASE_URL); it stops after the test file.
 */
export async function startTestServer(env: Record<string, string> = {}, websocketOptions: WebSocketOptions = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const databaseUrl = env.DATABASE_URL ?? inject('databaseUrl');
  const wire = options.wireProxy ? await startPgWireProxy(databaseUrl) : undefined;
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-server-'));
  const release = leftover(async () => {
    await wire?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const adminToken = `test-admin-${randomBytes(12).toString('hex')}`;
  const config: Config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PAIGE_DATA_DIR: dataDir,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'silent',
    ...env,
    DATABASE_URL: wire?.url ?? databaseUrl,
  });
  const server = await createServer(config, createLogger(config.logLevel), websocketOptions);
  const stopServer = leftover(async () => {
    stopped.add(server);
    await server.stop();
  });
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
  const stop = async () => {
    await stopServer();
    await release();
  };
  return { server, url: server.url, adminToken, wire, gql, ok, metrics, stop };
}

/** The server's wire proxy; fails, saying how to get one, for a server started without it. */
export function wireOf(t: TestServer): PgWireProxy {
  if (!t.wire) throw new Error('this server has no wire proxy: start it with startTestServer(env, websocketOptions, { wireProxy: true })');
  return t.wire;
}

export interface TestProjectHandle {
  id: string;
  name: string;
  schema: string;
  /** A project key for this project. */
  token: string;
  /** Deletes it now (schema, roles, keys); it is deleted by itself after the test file. */
  remove(): Promise<void>;
}

/** Creates a project with a key of its own; it is deleted after the test file, unless its server was stopped first. */
export async function createTestProject(t: TestServer, name = `test-${randomBytes(3).toString('hex')}`): Promise<TestProjectHandle> {
  const { createProject } = await t.ok(`mutation ($name: String!) { createProject(name: $name) { id name } }`, { name });
  const remove = leftover(async () => {
    if (stopped.has(t.server)) return;
    await t.gql(`mutation ($id: ID!, $name: String!) { deleteProject(id: $id, confirmName: $name) }`, { id: createProject.id, name });
  });
  const { createApiKey } = await t.ok(
    `mutation ($id: ID!) { createApiKey(projectId: $id, name: "test") { token } }`,
    { id: createProject.id },
  );
  return { id: createProject.id, name, schema: projectNames(createProject.id).schema, token: createApiKey.token, remove };
}
