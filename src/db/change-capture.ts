import type pg from 'pg';
import { quoteIdent } from './identifiers.js';
import { notifyMetadataChange, type MetadataAnnouncement } from './metadata-notify.js';
import { attachCaptureSql, recordTableChangeSql } from './sql/change-log.sql.js';
import type { TableChangeKind } from './change-log.js';

/**
 * Attaches the change-capture triggers to a table: statement-level, with transition tables, so a
 * 10,000-row insert is one trigger call. They call the table's own platform-owned SECURITY
 * DEFINER function, `paige.capture_for_<oid>()` (migration 003), whose statements are generated
 * once from the columns, so each session plans them once; `paige.record_table_change` rewrites
 * it in the transaction of every column change and drops it with the table. Called inside the
 * transaction that creates the table (provisioning for system tables, createTable for custom
 * ones) after RESET ROLE: no project role may create functions in paige.
 * The triggers follow the table through a rename (they belong to its oid) and go with a drop.
 */
export async function attachChangeCapture(client: pg.PoolClient, schema: string, table: string): Promise<void> {
  await client.query(attachCaptureSql(schema, table));
}

/**
 * Writes a table-change entry (for the `tableChanges` subscription) into the change log, inside
 * the caller's DDL transaction: it is delivered if and only if the DDL commits, in commit order
 * with the row changes. Raw SQL cannot change structure (project roles own nothing), so the API's
 * DDL paths are the only ones that need to call this.
 *
 * Works whatever role the transaction is running as: the platform function is called as the
 * session user, then the caller's `SET LOCAL ROLE` is restored.
 */
export async function recordTableChange(
  client: pg.PoolClient,
  schema: string,
  table: string,
  kind: TableChangeKind,
  newName?: string,
  announcement?: MetadataAnnouncement,
): Promise<void> {
  const { rows } = await client.query<{ current: string; session: string }>('SELECT current_user AS current, session_user AS session');
  const { current, session } = rows[0]!;
  if (current !== session) await client.query('RESET ROLE');
  await client.query(recordTableChangeSql, [schema, table, kind, newName ?? null]);
  // Every process's metadata cache forgets the schema's tables when this commits.
  await notifyMetadataChange(client, { kind: 'tables', schema }, announcement);
  if (current !== session) await client.query(`SET LOCAL ROLE ${quoteIdent(current)}`);
}
