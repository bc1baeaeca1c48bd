import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { Database } from './db/database.js';
import { ProjectSqlPools } from './db/project-sql.js';
import type { AppServices } from './resolvers/context.js';
import { ChangeHub } from './live/change-hub.js';
import { MetadataCache } from './resolvers/metadata-cache.js';
import { readMetadataTags } from './db/metadata-notify.js';
import { ApiKeyUsage } from './resolvers/api-key-usage.js';

/**
 * The long-lived parts that every operation's context shares. The server and dbServices'
 * in-process transport both build them here, so bot code runs the same schema over the same
 * services as a dashboard. `adminToken` absent: a random one nobody knows (dbServices never
 * authenticates a token in-process).
 */
export async function openAppServices(config: Config, log: Logger, adminToken?: string): Promise<AppServices> {
  const db = await Database.open(config, log);
  // Holds nothing until started: the server starts it (one LISTEN connection per process).
  const changes = new ChangeHub({ url: db.url, log, retentionHours: config.changeRetentionHours });
  // Trusted only while that connection LISTENs (dbServices in-process: after its first subscribe).
  const metadata = new MetadataCache(await readMetadataTags(db.pool));
  changes.listener.watchMetadata(metadata);
  return {
    config,
    log,
    db,
    adminToken: adminToken ?? `unusable-${randomBytes(24).toString('hex')}`,
    projectSql: new ProjectSqlPools(db.pool, db.url),
    changes,
    metadata,
    apiKeyUsage: new ApiKeyUsage(db.pool, log),
  };
}

/** Ends what openAppServices opened: key-use writes in flight, the raw-SQL pools, then the platform pool (and embedded Postgres). */
export async function closeAppServices(services: AppServices): Promise<void> {
  await services.apiKeyUsage.settled();
  await services.projectSql.closeAll();
  await services.db.close();
}
