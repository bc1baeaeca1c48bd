import DataLoader from 'dataloader';
import { readTables } from '../db/catalog.js';
import { type TableInfo } from '../domain/tables.js';
import { DomainError, notFound } from '../domain/errors.js';
import { requireProject } from './access.js';
import type { Context } from './context.js';

/**
 * Per-operation loader: tables (with columns and keys) by schema name. Schemas the process's
 * metadata cache holds cost nothing; all the others asked for in one tick are read in one catalog
 * statement, so `projects { tables { columns } }` costs at most one statement for the tables
 * whatever their number.
 */
const loaders = new WeakMap<Context, DataLoader<string, TableInfo[]>>();

/** Schemas this operation has read from the catalog itself: a retry on them would learn nothing new. */
const readFresh = new WeakMap<Context, Set<string>>();

function freshSet(ctx: Context): Set<string> {
  let fresh = readFresh.get(ctx);
  if (!fresh) readFresh.set(ctx, (fresh = new Set()));
  return fresh;
}

export function tablesBySchema(ctx: Context): DataLoader<string, TableInfo[]> {
  let loader = loaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(async (schemas) => {
      const { found, missing } = ctx.metadata.cachedTables(schemas);
      if (missing.length > 0) {
        const read = await ctx.metadata.readTables(async () => {
          const tables = await readTables(ctx.db.pool, missing);
          return new Map(missing.map((schema) => [schema, tables.filter((table) => table.schema === schema)]));
        });
        for (const [schema, tables] of read) found.set(schema, tables);
        for (const schema of missing) freshSet(ctx).add(schema);
      }
      return schemas.map((schema) => found.get(schema) ?? []);
    });
    loaders.set(ctx, loader);
  }
  return loader;
}

export async function listTables(ctx: Context, schema: string, includeSystem: boolean): Promise<TableInfo[]> {
  const tables = await tablesBySchema(ctx).load(schema);
  return includeSystem ? tables : tables.filter((table) => !table.system);
}

/**
 * The table, or undefined. "No such table" from the cache is checked against the catalog once:
 * another process may have created it an instant ago, before its notification reached us.
 */
export async function findTable(ctx: Context, schema: string, name: string): Promise<TableInfo | undefined> {
  const table = (await tablesBySchema(ctx).load(schema)).find((t) => t.name === name);
  if (table || !refreshTables(ctx, schema)) return table;
  return (await tablesBySchema(ctx).load(schema)).find((t) => t.name === name);
}

/** The project's table, or NOT_FOUND naming it. Checks access to the project first. */
export async function requireTable(ctx: Context, projectId: string, name: string): Promise<TableInfo> {
  const project = await requireProject(ctx, projectId);
  const table = await findTable(ctx, project.schemaName, name);
  if (!table) throw notFound(`table "${name}"`);
  return table;
}

/** Drops cached catalog reads after DDL in this operation (and in the process), so a re-read sees the change. */
export function forgetTables(ctx: Context, schema: string): void {
  loaders.get(ctx)?.clear(schema);
  ctx.metadata.forgetTables(schema);
}

/**
 * Makes the next load of `schema` in this operation read the catalog. False when this operation
 * already read it there (nothing newer to learn).
 */
export function refreshTables(ctx: Context, schema: string): boolean {
  if (readFresh.get(ctx)?.has(schema)) return false;
  forgetTables(ctx, schema);
  return true;
}

/** Postgres codes a statement built from out-of-date metadata fails with (a column or table gone or retyped, a value cast to the old type). */
const STALE_CODES = /^(42703|42P01|42P10|42804|23502|22\w{3})$/;

/** Errors that out-of-date metadata could explain: a name not found, a value judged by an old column list or type. */
function couldBeStale(error: unknown): boolean {
  if (error instanceof DomainError) return error.code === 'NOT_FOUND' || error.code === 'BAD_USER_INPUT';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STALE_CODES.test(code);
}

/**
 * Runs `work` on the table. When it fails in a way out-of-date metadata could explain and the
 * table came from the process's cache, reads the catalog and runs it once more: a change another
 * process committed an instant ago (its notification not yet here) never shows as an error. Safe
 * for writes: such a failure wrote nothing (validation comes first; a failed statement rolls back).
 */
export async function withTable<T>(ctx: Context, projectId: string, name: string, work: (table: TableInfo) => Promise<T>): Promise<T> {
  const table = await requireTable(ctx, projectId, name);
  try {
    return await work(table);
  } catch (error) {
    if (!couldBeStale(error) || !refreshTables(ctx, table.schema)) throw error;
    return work(await requireTable(ctx, projectId, name));
  }
}

/** Like withTable, for a table already resolved (a `Table.rows` field): gone on the fresh read → NOT_FOUND. */
export async function withResolvedTable<T>(ctx: Context, table: TableInfo, work: (table: TableInfo) => Promise<T>): Promise<T> {
  try {
    return await work(table);
  } catch (error) {
    if (!couldBeStale(error) || !refreshTables(ctx, table.schema)) throw error;
    const fresh = (await tablesBySchema(ctx).load(table.schema)).find((t) => t.name === table.name);
    if (!fresh) throw notFound(`table "${table.name}"`);
    return work(fresh);
  }
}
