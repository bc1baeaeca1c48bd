import DataLoader from 'dataloader';
import { readTables, type TableInfo } from '../db/catalog.js';
import { notFound } from '../errors.js';
import { requireProject } from './access.js';
import type { Context } from './context.js';

/**
 * Per-operation loader: tables (with columns and keys) by schema name. All the schemas asked for
 * in one tick are read in one catalog statement, so `projects { tables { columns } }` costs one
 * statement for the tables whatever their number.
 */
const loaders = new WeakMap<Context, DataLoader<string, TableInfo[]>>();

export function tablesBySchema(ctx: Context): DataLoader<string, TableInfo[]> {
  let loader = loaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(async (schemas) => {
      const tables = await readTables(ctx.db.pool, schemas);
      return schemas.map((schema) => tables.filter((table) => table.schema === schema));
    });
    loaders.set(ctx, loader);
  }
  return loader;
}

export async function listTables(ctx: Context, schema: string, includeSystem: boolean): Promise<TableInfo[]> {
  const tables = await tablesBySchema(ctx).load(schema);
  return includeSystem ? tables : tables.filter((table) => !table.system);
}

export async function findTable(ctx: Context, schema: string, name: string): Promise<TableInfo | undefined> {
  return (await tablesBySchema(ctx).load(schema)).find((table) => table.name === name);
}

/** The project's table, or NOT_FOUND naming it. Checks access to the project first. */
export async function requireTable(ctx: Context, projectId: string, name: string): Promise<TableInfo> {
  const project = await requireProject(ctx, projectId);
  const table = await findTable(ctx, project.schemaName, name);
  if (!table) throw notFound(`table "${name}"`);
  return table;
}

/** Drops cached catalog reads after DDL in this operation, so a re-read sees the change. */
export function forgetTables(ctx: Context, schema: string): void {
  loaders.get(ctx)?.clear(schema);
}
