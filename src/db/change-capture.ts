import type pg from 'pg';

/**
 * Attaches the change-capture triggers to a table. Called inside the transaction that creates the
 * table (provisioning for system tables, createTable for custom ones).
 * TODO(live changes, issue 4): not written yet; this placeholder attaches nothing.
 */
export async function attachChangeCapture(_client: pg.PoolClient, _schema: string, _table: string): Promise<void> {}
