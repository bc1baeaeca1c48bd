import { expect } from 'vitest';
import { wireOf, type GraphQLResponse, type TestProjectHandle, type TestServer } from './server.js';

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
 * The statements the server's platform pool sends while `work` runs, as its wire proxy sees them
 * (start the server with `{ wireProxy: true }`). The change hub's, the listener's and raw SQL's
 * connections have application names of their own and do not count.
 */
export function recordStatements(t: TestServer, work: () => Promise<unknown>): Promise<string[]> {
  const platformPool = t.server.services.db.pool.options.application_name;
  return wireOf(t).record((applicationName) => applicationName === platformPool, work);
}
