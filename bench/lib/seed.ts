import type pg from 'pg';
import { projectNames } from '../../src/db/projects.js';
import { qualify } from '../../src/db/identifiers.js';
import { rememberRoles, type Gql } from './setup.js';

export const CREATE_PROJECT = /* GraphQL */ `mutation ($name: String!) { createProject(name: $name) { id } }`;
export const CREATE_KEY = /* GraphQL */ `mutation ($p: ID!) { createApiKey(projectId: $p, name: "bench") { token } }`;
export const CREATE_TABLE = /* GraphQL */ `mutation ($p: ID!, $input: CreateTableInput!) { createTable(projectId: $p, input: $input) { name } }`;
export const INSERT_ROWS = /* GraphQL */ `mutation ($p: ID!, $t: String!, $rows: [JSONObject!]!) { insertRows(projectId: $p, table: $t, rows: $rows) }`;
export const DELETE_PROJECT = /* GraphQL */ `mutation ($p: ID!, $name: String!) { deleteProject(id: $p, confirmName: $name) }`;

export interface BenchProject {
  id: string;
  name: string;
  schema: string;
  /** A project key: what a dashboard or bot would use. */
  token: string;
}

export async function createProject(gql: Gql, name: string): Promise<BenchProject> {
  const { createProject: project } = await gql<{ createProject: { id: string } }>(CREATE_PROJECT, { name });
  const names = projectNames(project.id);
  rememberRoles(names.owner, names.login);
  const { createApiKey } = await gql<{ createApiKey: { token: string } }>(CREATE_KEY, { p: project.id });
  return { id: project.id, name, schema: names.schema, token: createApiKey.token };
}

export const deleteProject = (gql: Gql, project: BenchProject) => gql(DELETE_PROJECT, { p: project.id, name: project.name });

/** `bookings`: a few columns of different types; `id` is the bigint identity the API adds. */
export const BOOKINGS = {
  name: 'bookings',
  columns: [
    { name: 'created_at', type: 'TIMESTAMPTZ', nullable: false, default: { expression: 'now()' } },
    { name: 'guest', type: 'TEXT', nullable: false },
    { name: 'nights', type: 'INTEGER' },
    { name: 'amount', type: 'NUMERIC' },
    { name: 'confirmed', type: 'BOOLEAN', nullable: false, default: false },
    { name: 'check_in', type: 'DATE' },
    { name: 'details', type: 'JSONB' },
  ],
};

const BASE = Date.UTC(2025, 0, 1);

/** The i-th seeded booking; created_at a second apart (with microseconds), so the order is known. */
export function booking(i: number) {
  return {
    created_at: new Date(BASE + i * 1000).toISOString().replace('Z', `${String(i % 1000).padStart(3, '0')}Z`),
    guest: `guest ${i}`,
    nights: 1 + (i % 14),
    amount: `${100 + (i % 900)}.${String(i % 100).padStart(2, '0')}`,
    confirmed: i % 3 === 0,
    check_in: new Date(BASE + i * 86_400_000 / 24).toISOString().slice(0, 10),
    details: { source: i % 2 ? 'web' : 'phone', tags: ['bench', `n${i % 7}`] },
  };
}

/**
 * Seeds `count` bookings through insertRows (1000 rows per call, 4 calls at a time) and adds an
 * index on (created_at, id), which the API cannot create: without it both paige-db and the floor
 * would measure a 100,000-row sort per page, and the comparison would say nothing about paige-db.
 */
export async function seedBookings(gql: Gql, admin: pg.Pool, project: BenchProject, count: number): Promise<number> {
  await gql(CREATE_TABLE, { p: project.id, input: BOOKINGS }, project.token);
  const batches = Array.from({ length: Math.ceil(count / 1000) }, (_, b) => b);
  const worker = async () => {
    for (let b = batches.shift(); b !== undefined; b = batches.shift()) {
      const rows = Array.from({ length: Math.min(1000, count - b * 1000) }, (_, k) => booking(b * 1000 + k));
      await gql(INSERT_ROWS, { p: project.id, t: 'bookings', rows }, project.token);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const target = qualify(project.schema, 'bookings');
  await admin.query(`CREATE INDEX bookings_created_at_id ON ${target} (created_at, id)`);
  await admin.query(`ANALYZE ${target}`);
  const { rows } = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${target}`);
  return Number(rows[0]!.n);
}
