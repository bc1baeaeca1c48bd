import pg from 'pg';
import { expect } from 'vitest';
import type { GraphQLResponse, TestProjectHandle, TestServer } from './server.js';

/** GraphQL operations and helpers shared by the row tests. */

export const CREATE_TABLE = /* GraphQL */ `mutation ($p: ID!, $input: CreateTableInput!) { createTable(projectId: $p, input: $input) { name } }`;
export const INSERT = /* GraphQL */ `mutation ($p: ID!, $t: String!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: $t, rows: $rows) }`;
export const UPDATE = /* GraphQL */ `mutation ($p: ID!, $t: String!, $where: JSON!, $set: JSONObject!) { updateRows(projectId: $p, table: $t, where: $where, set: $set) }`;
export const DELETE = /* GraphQL */ `mutation ($p: ID!, $t: String!, $where: JSON!) { deleteRows(projectId: $p, table: $t, where: $where) }`;
export const UPSERT = /* GraphQL */ `mutation ($p: ID!, $t: String!, $rows: [JSONObject!]!, $on: [String!]!) { upsertRows(projectId: $p, table: $t, rows: $rows, onConflict: $on) }`;
export const ROWS = /* GraphQL */ `query ($p: ID!, $t: String!, $where: JSON, $orderBy: [OrderBy!], $first: Int, $after: String, $offset: Int) {
  project(id: $p) { table(name: $t) { rows(where: $where, orderBy: $orderBy, first: $first, after: $after, offset: $offset) { nodes pageInfo { hasNextPage endCursor } } } } }`;
export const ROWS_COUNTED = /* GraphQL */ `query ($p: ID!, $t: String!, $where: JSON, $first: Int) {
  project(id: $p) { table(name: $t) { rows(where: $where, first: $first) { nodes totalCount } } } }`;

export interface RowsPage {
  nodes: Record<string, unknown>[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Binds the helpers to one server and project. */
export function rowApi(t: TestServer, project: TestProjectHandle) {
  const p = project.id;
  const token = project.token;
  return {
    createTable: (input: Record<string, unknown>) => t.ok(CREATE_TABLE, { p, input }, token),
    insert: (table: string, rows: unknown[]) => t.gql(INSERT, { p, t: table, rows }, token),
    update: (table: string, where: unknown, set: unknown) => t.gql(UPDATE, { p, t: table, where, set }, token),
    remove: (table: string, where: unknown) => t.gql(DELETE, { p, t: table, where }, token),
    upsert: (table: string, rows: unknown[], on: string[]) => t.gql(UPSERT, { p, t: table, rows, on }, token),
    rows: (table: string, args: Record<string, unknown> = {}) => t.gql(ROWS, { p, t: table, ...args }, token),
    /** The page, throwing on any error. */
    page: async (table: string, args: Record<string, unknown> = {}): Promise<RowsPage> => (await t.ok(ROWS, { p, t: table, ...args }, token)).project.table.rows,
  };
}

export function expectError(result: GraphQLResponse, code: string, message?: string | RegExp) {
  expect(result.errors, JSON.stringify(result.data)).toHaveLength(1);
  const [error] = result.errors!;
  expect(error!.extensions?.code, error!.message).toBe(code);
  if (typeof message === 'string') expect(error!.message).toBe(message);
  else if (message) expect(error!.message).toMatch(message);
  return error!;
}

/**
 * Counts (and records) the statements the server sends on its own pool's connections: clients are
 * marked when the pool hands them out, so connections of other code in this process do not count.
 */
export async function recordStatements(t: TestServer, work: () => Promise<unknown>): Promise<string[]> {
  const pool = t.server.services.db.pool;
  const pooled = new WeakSet<object>();
  const mark = (client: object) => pooled.add(client);
  const original = pg.Client.prototype.query;
  const statements: string[] = [];
  pool.on('acquire', mark);
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (pooled.has(this)) {
      const first = args[0] as string | { text: string };
      statements.push(typeof first === 'string' ? first : first.text);
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = original;
    pool.off('acquire', mark);
  }
  return statements;
}
