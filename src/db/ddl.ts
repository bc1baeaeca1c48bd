import type pg from 'pg';
import { badInput } from '../domain/errors.js';
import { readTable } from './catalog.js';
import { findColumn, type ColumnInfo, type TableInfo } from '../domain/tables.js';
import { attachChangeCapture, recordTableChange } from './change-capture.js';
import type { MetadataAnnouncement } from './metadata-notify.js';
import { inTransaction, type Pool } from './pool.js';
import { markTransaction } from './actor.js';
import type { Actor } from '../domain/actor.js';
import type { Project } from './projects.js';
import { projectNames } from './sql/projects.sql.js';
import * as sql from './sql/ddl.sql.js';

export type { ColumnSpec, TableSpec } from './sql/ddl.sql.js';

/**
 * Structural changes to a project's custom tables. Each runs in ONE transaction as the project's
 * owner role and returns what the catalog holds afterwards, so the API never reports a state
 * Postgres does not have. Each also writes its tableChanges entry in that transaction, so the
 * announcement exists if and only if the change commits. The resolvers validate names, types and
 * defaults before calling here.
 */
type ProjectRef = Pick<Project, 'id' | 'schemaName'>;

/**
 * Runs `work` as the owner role inside a transaction, after the project's DDL lock and with a lock
 * timeout; `work` may RESET ROLE for platform steps.
 */
function asOwner<T>(pool: Pool, actor: Actor, project: ProjectRef, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (client) => {
    await markTransaction(client, actor);
    await client.query(sql.lockTimeoutSql);
    await client.query(sql.apiDdlSql);
    await client.query(sql.lockProjectDdlSql, [project.schemaName]);
    await client.query(sql.asOwnerSql(projectNames(project.id).owner));
    return work(client);
  });
}

async function reread(client: pg.PoolClient, schema: string, name: string): Promise<TableInfo> {
  const table = await readTable(client, schema, name);
  if (!table) throw new Error(`table ${schema}.${name} is missing from the catalog right after DDL`);
  return table;
}

/** Creates the table with its constraints, then (as the platform) its change-capture triggers. */
export function createTable(pool: Pool, actor: Actor, project: ProjectRef, spec: sql.TableSpec, announcement?: MetadataAnnouncement): Promise<TableInfo> {
  return asOwner(pool, actor, project, async (client) => {
    await client.query(sql.createTableSql(project.schemaName, spec));
    // The triggers call a platform-owned SECURITY DEFINER function: attach them as the platform.
    await client.query(sql.resetRoleSql);
    await attachChangeCapture(client, project.schemaName, spec.name);
    await recordTableChange(client, project.schemaName, spec.name, 'CREATED', undefined, announcement);
    return reread(client, project.schemaName, spec.name);
  });
}

export function renameTable(pool: Pool, actor: Actor, project: ProjectRef, name: string, newName: string, announcement?: MetadataAnnouncement): Promise<TableInfo> {
  return asOwner(pool, actor, project, async (client) => {
    await client.query(sql.renameTableSql(project.schemaName, name, newName));
    await recordTableChange(client, project.schemaName, name, 'RENAMED', newName, announcement);
    return reread(client, project.schemaName, newName);
  });
}

/** Drops the table; its triggers, indexes and owned sequences go with it. */
export function dropTable(pool: Pool, actor: Actor, project: ProjectRef, name: string, announcement?: MetadataAnnouncement): Promise<void> {
  return asOwner(pool, actor, project, async (client) => {
    await client.query(sql.dropTableSql(project.schemaName, name));
    await recordTableChange(client, project.schemaName, name, 'DROPPED', undefined, announcement);
  });
}

/** Removes every row with TRUNCATE (one CLEAR change) and returns how many there were. */
export function clearTable(pool: Pool, actor: Actor, project: ProjectRef, name: string): Promise<number> {
  return asOwner(pool, actor, project, async (client) => {
    await client.query(sql.lockTableSql(project.schemaName, name));
    const { rows } = await client.query<{ count: string }>(sql.countRowsSql(project.schemaName, name));
    await client.query(sql.truncateTableSql(project.schemaName, name));
    return Number(rows[0]!.count);
  });
}

/**
 * Adds a column. Its ALTERED entry makes `paige.record_table_change` rewrite the table's capture
 * function in this transaction (migration 003), so the next event carries the new column.
 */
export function addColumn(pool: Pool, actor: Actor, project: ProjectRef, table: string, column: sql.ColumnSpec, announcement?: MetadataAnnouncement): Promise<ColumnInfo> {
  return asOwner(pool, actor, project, async (client) => {
    // Postgres would fail with "contains null values"; say what to do instead. Serial fills every row.
    if (!column.nullable && !column.default && column.type !== 'serial') {
      await client.query(sql.lockTableSql(project.schemaName, table));
      const { rows } = await client.query<{ hasRows: boolean }>(sql.hasRowsSql(project.schemaName, table));
      if (rows[0]!.hasRows) {
        throw badInput(
          `column "${column.name}" cannot be added as non-nullable without a default: table "${table}" already has rows (give a default, or make it nullable)`,
          { table, column: column.name },
        );
      }
    }
    await client.query(sql.addColumnSql(project.schemaName, table, column));
    await recordTableChange(client, project.schemaName, table, 'ALTERED', undefined, announcement);
    return findColumn(await reread(client, project.schemaName, table), column.name);
  });
}

export function renameColumn(pool: Pool, actor: Actor, project: ProjectRef, table: string, name: string, newName: string, announcement?: MetadataAnnouncement): Promise<ColumnInfo> {
  return asOwner(pool, actor, project, async (client) => {
    await client.query(sql.renameColumnSql(project.schemaName, table, name, newName));
    await recordTableChange(client, project.schemaName, table, 'ALTERED', undefined, announcement);
    return findColumn(await reread(client, project.schemaName, table), newName);
  });
}

export function dropColumn(pool: Pool, actor: Actor, project: ProjectRef, table: string, name: string, announcement?: MetadataAnnouncement): Promise<void> {
  return asOwner(pool, actor, project, async (client) => {
    await client.query(sql.dropColumnSql(project.schemaName, table, name));
    await recordTableChange(client, project.schemaName, table, 'ALTERED', undefined, announcement);
  });
}
