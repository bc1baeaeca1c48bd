import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Database } from './db/database.js';
import { MetadataCache } from './db/metadata-cache.js';
import { LISTENER_APP_PREFIX, readMetadataTags } from './db/metadata-notify.js';
import { PgSubscriber } from './db/pg-subscriber.js';
import { ProjectSqlPools } from './db/project-sql.js';
import { ChangeHub } from './live/change-hub.js';
import { createAuthenticator, type Authenticator } from './resolvers/auth.js';
import type { Auth, Context } from './resolvers/context.js';
import { createLoaders } from './resolvers/loaders.js';
import { ApiKeyUsage } from './resolvers/api-key-usage.js';

/**
 * The long-lived parts of a process. The server and dbServices' in-process transport both open
 * them here, so bot code runs the same schema over the same services as a dashboard. Resolvers
 * never see this object: each operation gets a Context of narrow capabilities (createContext).
 */
export interface AppServices {
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** The platform pool, and the embedded Postgres when there is no DATABASE_URL. */
  db: Database;
  /** The process's one LISTEN connection, shared by the metadata cache and the change fan-out. */
  subscriber: PgSubscriber;
  /** Keys, projects and tables, kept while the subscriber hears every change to them. */
  metadata: MetadataCache;
  /** The fan-out of live changes: one change-log reader for the process. */
  changes: ChangeHub;
  /** Login-role pools for each project's raw SQL, opened on demand. */
  projectSql: ProjectSqlPools;
  /** Checks a bearer token; the admin token is known only inside it. */
  authenticate: Authenticator;
  /** Records API keys' last use, at most once a minute per key, off the request's path. */
  apiKeyUsage: ApiKeyUsage;
}

/**
 * Opens the database (migrating it) and connects the process's subscriber, so the metadata cache
 * can be trusted from the first operation. `adminToken` absent: a random one nobody knows
 * (dbServices in-process never authenticates a token).
 */
export async function openAppServices(config: Config, log: Logger, adminToken?: string): Promise<AppServices> {
  const metrics = new Metrics();
  const db = await Database.open(config, log);
  try {
    const subscriber = new PgSubscriber({ url: db.url, log, applicationPrefix: LISTENER_APP_PREFIX });
    const metadata = new MetadataCache(await readMetadataTags(db.pool), subscriber, log, metrics);
    await metadata.watch();
    await subscriber.start();
    const apiKeyUsage = new ApiKeyUsage(db.pool, log);
    return {
      config,
      log,
      metrics,
      db,
      subscriber,
      metadata,
      changes: new ChangeHub({ url: db.url, subscriber, log, metrics, retentionHours: config.changeRetentionHours }),
      projectSql: new ProjectSqlPools(db.pool, db.url),
      authenticate: createAuthenticator(adminToken ?? `unusable-${randomBytes(24).toString('hex')}`, metadata, db.pool, apiKeyUsage),
      apiKeyUsage,
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** The context of one operation: who is asking, and what a resolver may use. */
export function createContext(services: AppServices, auth: Auth): Context {
  const { db, projectSql, changes, metadata, log } = services;
  return { auth, pg: db.pool, projectSql, changes, metadata, log, loaders: createLoaders(db.pool, metadata) };
}

/** Ends what openAppServices opened: subscriptions, key-use writes in flight, the raw-SQL pools, the subscriber, then the platform pool (and embedded Postgres). */
export async function closeAppServices(services: AppServices): Promise<void> {
  await services.changes.stop();
  await services.apiKeyUsage.settled();
  await services.projectSql.closeAll();
  await services.subscriber.stop();
  await services.db.close();
}
