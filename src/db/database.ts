import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createPool, PLATFORM_TIMEOUTS } from './pool.js';
import { migrate, migrationsApplied } from './migrate.js';
import { makeDataDir, readOrCreateSecret, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { removeDatabaseUrlFile, writeDatabaseUrlFile } from './database-url.js';

/**
 * The service's hold on Postgres: the platform pool (a superuser or a role with CREATEROLE),
 * and the embedded cluster when there is no DATABASE_URL.
 */
export class Database {
  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
    readonly embedded: EmbeddedDatabase | undefined,
    private readonly dataDir: string,
  ) {}

  /**
   * Connects (starting the embedded Postgres if needed) and applies platform migrations. The
   * embedded cluster's URL is then written to the data dir (database-url.ts) for in-process bot
   * code: its port is new at every start.
   */
  static async open(config: Pick<Config, 'databaseUrl' | 'dataDir'>, log: Logger): Promise<Database> {
    const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, log);
    const url = config.databaseUrl ?? embedded!.url;
    const pool = createPool(url, { max: 20, applicationName: 'paige-db', statementTimeoutMs: PLATFORM_TIMEOUTS.statementMs, lockTimeoutMs: PLATFORM_TIMEOUTS.lockMs });
    try {
      await migrate(pool, log);
      if (embedded) await writeDatabaseUrlFile(config.dataDir, url);
    } catch (error) {
      await pool.end();
      await embedded?.stop();
      throw error;
    }
    return new Database(pool, url, embedded, config.dataDir);
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
    if (!this.embedded) return;
    // Gone first: bot code starting now is told to start the server, not sent to a closing port.
    await removeDatabaseUrlFile(this.dataDir);
    await this.embedded.stop();
  }
}

/** The admin token: ADMIN_TOKEN, or one generated on first start and kept in the data dir. */
export async function resolveAdminToken(config: Pick<Config, 'adminToken' | 'dataDir'>): Promise<{ token: string; source: 'env' | 'created' | 'file' }> {
  if (config.adminToken) return { token: config.adminToken, source: 'env' };
  const dir = await makeDataDir(config.dataDir);
  const { value, created } = await readOrCreateSecret(join(dir, 'admin-token'), () => `pdb_admin_${randomBytes(24).toString('base64url')}`);
  return { token: value, source: created ? 'created' : 'file' };
}
