import { z } from 'zod';
import { DomainError, badInput, conflict, systemTable } from '../domain/errors.js';
import { findColumn, type ColumnInfo, type TableInfo } from '../domain/tables.js';
import * as ddl from '../db/ddl.js';
import { ADDED_KEY_COLUMN } from '../db/sql/ddl.sql.js';
import { requireProject } from './access.js';
import { parseColumnInput } from './column-input.js';
import type { Context } from './context.js';
import { checkName } from '../domain/names.js';
import { findTable, forgetTables, refreshTables, requireTable } from './tables.js';
import { parseInput } from './validation.js';

/** DDL answers once every process has dropped the schema's tables from its cache (see announced). */
const tablesOf = (project: { schemaName: string }) => ({ kind: 'tables', schema: project.schemaName }) as const;

/**
 * The use-cases behind createTable, renameTable, dropTable, clearTable, addColumn, renameColumn
 * and dropColumn: access, validation and the system-table guard here, the SQL in src/db/ddl.ts.
 * Every check that can be made before SQL runs is made here, so a refused call creates nothing.
 */

/** Postgres allows at most 1600 columns per table. */
const MAX_COLUMNS = 1600;

const createTableInputSchema = z.object({
  name: z.string(),
  columns: z.array(z.unknown()).max(MAX_COLUMNS - 1, `a table has at most ${MAX_COLUMNS - 1} columns`),
  primaryKey: z.array(z.string()).nullish(),
});
export type CreateTableInput = z.input<typeof createTableInputSchema>;

const structure = (action: string) => (table: string) => systemTable(table, action);
const noClear = (table: string) =>
  new DomainError('SYSTEM_TABLE', `table "${table}" is a system table: clearTable is for custom tables only (delete its rows with deleteRows)`, { table });

/** A custom table of the project, or NOT_FOUND; SYSTEM_TABLE when it is one of the system tables. */
async function requireCustomTable(ctx: Context, projectId: string, name: string, refusal: (table: string) => DomainError) {
  const project = await requireProject(ctx, projectId);
  // DDL is rare: its checks (column exists, name free) read the catalog, never the process's cache.
  refreshTables(ctx, project.schemaName);
  const table = await requireTable(ctx, projectId, name);
  if (table.system) throw refusal(table.name);
  return { project, table };
}

async function refuseExistingTable(ctx: Context, schema: string, name: string): Promise<void> {
  if (await findTable(ctx, schema, name)) throw conflict(`table "${name}" already exists`, { table: name });
}

export async function createTable(ctx: Context, projectId: string, rawInput: CreateTableInput): Promise<TableInfo> {
  const project = await requireProject(ctx, projectId);
  const input = parseInput(createTableInputSchema, rawInput, 'input');
  const name = checkName('table', input.name, 'input.name');
  const columns = input.columns.map((column, index) => parseColumnInput(column, `input.columns.${index}`));

  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) throw badInput(`column "${column.name}" is given more than once`, { column: column.name, field: 'input.columns' });
    seen.add(column.name);
  }

  let primaryKey: string[] | null = null;
  if (input.primaryKey !== null && input.primaryKey !== undefined) {
    if (input.primaryKey.length === 0) {
      throw badInput('primaryKey must name at least one column; leave it out to get an added "id" column', { field: 'input.primaryKey' });
    }
    for (const key of input.primaryKey) {
      if (!seen.has(key)) throw badInput(`primaryKey names column "${key}", which is not among the columns of table "${name}"`, { column: key, field: 'input.primaryKey' });
    }
    const duplicate = input.primaryKey.find((key, index) => input.primaryKey!.indexOf(key) !== index);
    if (duplicate) throw badInput(`primaryKey names column "${duplicate}" more than once`, { column: duplicate, field: 'input.primaryKey' });
    primaryKey = input.primaryKey;
  } else if (seen.has(ADDED_KEY_COLUMN)) {
    throw badInput(
      `column "${ADDED_KEY_COLUMN}" needs primaryKey: without one, an "${ADDED_KEY_COLUMN}" bigint identity column is added as the key (name your key in primaryKey, or rename the column)`,
      { column: ADDED_KEY_COLUMN, field: 'input.primaryKey' },
    );
  }

  await refuseExistingTable(ctx, project.schemaName, name);
  const table = await ctx.metadata.announce(tablesOf(project), (a) => ddl.createTable(ctx.pg, ctx.actor, project, { name, columns, primaryKey }, a));
  forgetTables(ctx, project.schemaName);
  ctx.log.info(`created table ${project.schemaName}.${name}`);
  return table;
}

export async function renameTable(ctx: Context, projectId: string, name: string, newName: string): Promise<TableInfo> {
  const { project, table } = await requireCustomTable(ctx, projectId, name, structure('renamed'));
  checkName('table', newName, 'newName');
  if (newName === name) return table;
  await refuseExistingTable(ctx, project.schemaName, newName);
  const renamed = await ctx.metadata.announce(tablesOf(project), (a) => ddl.renameTable(ctx.pg, ctx.actor, project, name, newName, a));
  forgetTables(ctx, project.schemaName);
  return renamed;
}

export async function dropTable(ctx: Context, projectId: string, name: string): Promise<boolean> {
  const { project } = await requireCustomTable(ctx, projectId, name, structure('dropped'));
  await ctx.metadata.announce(tablesOf(project), (a) => ddl.dropTable(ctx.pg, ctx.actor, project, name, a));
  forgetTables(ctx, project.schemaName);
  return true;
}

/** Removes every row of a custom table; returns how many. System tables' rows go through deleteRows. */
export async function clearTable(ctx: Context, projectId: string, name: string): Promise<number> {
  const { project } = await requireCustomTable(ctx, projectId, name, noClear);
  return ddl.clearTable(ctx.pg, ctx.actor, project, name);
}

export async function addColumn(ctx: Context, projectId: string, tableName: string, input: unknown): Promise<ColumnInfo> {
  const { project, table } = await requireCustomTable(ctx, projectId, tableName, structure('altered'));
  const column = parseColumnInput(input, 'column');
  if (table.columns.some((c) => c.name === column.name)) {
    throw conflict(`column "${column.name}" already exists in table "${tableName}"`, { table: tableName, column: column.name });
  }
  const added = await ctx.metadata.announce(tablesOf(project), (a) => ddl.addColumn(ctx.pg, ctx.actor, project, tableName, column, a));
  forgetTables(ctx, project.schemaName);
  return added;
}

export async function renameColumn(ctx: Context, projectId: string, tableName: string, name: string, newName: string): Promise<ColumnInfo> {
  const { project, table } = await requireCustomTable(ctx, projectId, tableName, structure('altered'));
  const column = findColumn(table, name);
  checkName('column', newName, 'newName');
  if (newName === name) return column;
  if (table.columns.some((c) => c.name === newName)) {
    throw conflict(`column "${newName}" already exists in table "${tableName}"`, { table: tableName, column: newName });
  }
  const renamed = await ctx.metadata.announce(tablesOf(project), (a) => ddl.renameColumn(ctx.pg, ctx.actor, project, tableName, name, newName, a));
  forgetTables(ctx, project.schemaName);
  return renamed;
}

/**
 * Drops a column. Key columns are refused: Postgres would silently drop the whole primary key,
 * and rows paging and change capture rely on it.
 */
export async function dropColumn(ctx: Context, projectId: string, tableName: string, name: string): Promise<boolean> {
  const { project, table } = await requireCustomTable(ctx, projectId, tableName, structure('altered'));
  const column = findColumn(table, name);
  if (column.primaryKey) {
    throw badInput(`column "${name}" is part of the primary key of table "${tableName}" and cannot be dropped`, { table: tableName, column: name });
  }
  await ctx.metadata.announce(tablesOf(project), (a) => ddl.dropColumn(ctx.pg, ctx.actor, project, tableName, name, a));
  forgetTables(ctx, project.schemaName);
  return true;
}
