import { inTransaction, type Pool, type Queryable } from './pool.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import type { Logger } from '../logger.js';

/** An arbitrary fixed key: every paige-db process migrating one database queues on it. */
const MIGRATION_LOCK = 7_142_851_903;

/**
 * Applies the migrations not yet recorded, in one transaction under an advisory lock, so two
 * processes starting at once against one database are safe: the second waits, then finds nothing
 * left to do. Returns the versions it applied.
 */
export async function migrate(pool: Pool, log: Logger, migrations: Migration[] = allMigrations): Promise<number[]> {
  return inTransaction(pool, async (client) => {
    // The platform pool's timeouts bound API calls; a migration waits for another process's and
    // may rewrite big tables: it runs unbounded, once, at startup.
    await client.query(`SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0`);
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(/* SQL */ `
      CREATE SCHEMA IF NOT EXISTS paige;
      CREATE TABLE IF NOT EXISTS paige.schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM paige.schema_migrations');
    const done = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      log.info(`applying migration ${migration.version} (${migration.name})`);
      await client.query(migration.sql);
      await client.query('INSERT INTO paige.schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return applied;
  });
}

/** True when every known migration is recorded (for /readyz). */
export async function migrationsApplied(pool: Queryable, migrations: Migration[] = allMigrations): Promise<boolean> {
  const { rows } = await pool.query<{ count: number }>(
    /* SQL */ `SELECT count(*)::int AS count FROM paige.schema_migrations WHERE version = ANY($1::int[])`,
    [migrations.map((m) => m.version)],
  );
  return rows[0]?.count === migrations.length;
}
