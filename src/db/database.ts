import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createPool } from './pool.js';
import { migrate, migrationsApplied } from './migrate.js';
import { makeDataDir, readOrCreateSecret, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';

/**
 * The service's hold on Postgres: the platform pool (a superuser or a role with CREATEROLE),
 * and the embedded cluster when there is no DATABASE_URL.
 */
export class Database {
  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly embedded: EmbeddedDatabase | undefined,
  ) {}

  /** Connects (starting the embedded Postgres if needed) and applies platform migrations. */
  static async open(config: Pick<Config, 'databaseUrl' | 'dataDir'>, log: Logger): Promise<Database> {
    const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
    const url = config.databaseUrl ?? embedded!.url;
    const pool = createPool(url, { max: 20, applicationName: 'paige-db' });
    try {
      await migrate(pool, log);
    } catch (error) {
      await pool.end();
      await embedded?.stop();
      throw error;
    }
    return new Database(pool, url, embedded);
  }

  async ready(): Promise<boolean> {
    try {
      return await migrationsApplied(this.pool);
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
    await this.embedded?.stop();
  }
}

/** The admin token: ADMIN_TOKEN, or one generated on first start and kept in the data dir. */
export async function resolveAdminToken(config: Pick<Config, 'adminToken' | 'dataDir'>): Promise<{ token: string; source: 'env' | 'created' | 'file' }> {
  if (config.adminToken) return { token: config.adminToken, source: 'env' };
  const dir = await makeDataDir(config.dataDir);
  const { value, created } = await readOrCreateSecret(join(dir, 'admin-token'), () => `pdb_admin_${randomBytes(24).toString('base64url')}`);
  return { token: value, source: created ? 'created' : 'file' };
}
