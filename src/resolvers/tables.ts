import { DomainError, notFound } from '../domain/errors.js';
import type { TableInfo } from '../domain/tables.js';
import { requireProject } from './access.js';
import type { Context } from './context.js';

export async function listTables(ctx: Context, schema: string, includeSystem: boolean): Promise<TableInfo[]> {
  const tables = await ctx.loaders.tables.load(schema);
  return includeSystem ? tables : tables.filter((table) => !table.system);
}

/**
 * The table, or undefined. "No such table" from the cache is checked against the catalog once:
 * another process may have created it an instant ago, before its notification reached us.
 */
export async function findTable(ctx: Context, schema: string, name: string): Promise<TableInfo | undefined> {
  const table = (await ctx.loaders.tables.load(schema)).find((t) => t.name === name);
  if (table || !refreshTables(ctx, schema)) return table;
  return (await ctx.loaders.tables.load(schema)).find((t) => t.name === name);
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
  ctx.loaders.tables.clear(schema);
  ctx.metadata.forgetTables(schema);
}

/**
 * Makes the next load of `schema` in this operation read the catalog. False when this operation
 * already read it there (nothing newer to learn).
 */
export function refreshTables(ctx: Context, schema: string): boolean {
  if (ctx.loaders.freshSchemas.has(schema)) return false;
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
    const fresh = (await ctx.loaders.tables.load(table.schema)).find((t) => t.name === table.name);
    if (!fresh) throw notFound(`table "${table.name}"`);
    return work(fresh);
  }
}
