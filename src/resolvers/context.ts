import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../db/database.js';
import type { ProjectSqlPools } from '../db/project-sql.js';
import type { ChangeHub } from '../live/change-hub.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ApiKeyUsage } from './api-key-usage.js';

/** Who is asking: the admin token, or a key of one project. */
export type Auth = { kind: 'admin' } | { kind: 'project'; projectId: string; keyId: string };

/** Long-lived parts shared by every request of a server process. */
export interface AppServices {
  config: Config;
  log: Logger;
  db: Database;
  adminToken: string;
  /** Login-role pools for each project's raw SQL, opened on demand. */
  projectSql: ProjectSqlPools;
  /** The live-change fan-out: one change-log reader and LISTEN connection for the process. */
  changes: ChangeHub;
  /** Keys, projects and tables, kept while the change listener hears every change to them. */
  metadata: MetadataCache;
  /** Records API keys' last use, at most once a minute per key, off the request's path. */
  apiKeyUsage: ApiKeyUsage;
}

/**
 * The context of one GraphQL operation, over HTTP, WebSocket or dbServices alike. Created anew
 * per operation: the Pothos dataloader plugin keeps its per-request loaders on this object.
 */
export interface Context extends AppServices {
  auth: Auth;
  /**
   * Set by the graphql-ws transport: receives the change queue a subscription resolver opened,
   * so identical subscriptions can share one execution per event (src/transports/shared-results.ts),
   * and returns what the resolver hands graphql-js in its place.
   */
  onChangeStream?: <T>(stream: AsyncIterableIterator<T>) => AsyncIterableIterator<T>;
}
