import type { Logger } from '../logger.js';
import type { MetadataCache } from '../db/metadata-cache.js';
import type { Pool } from '../db/pool.js';
import type { ProjectSqlPools } from '../db/project-sql.js';
import type { ChangeHub } from '../live/change-hub.js';
import type { Loaders } from './loaders.js';
import type { Actor } from '../domain/actor.js';

/** Who is asking: the admin token, or a key of one project (keyName as it is now). */
export type Auth = { kind: 'admin' } | { kind: 'project'; projectId: string; keyId: string; keyName: string };

/**
 * The context of one GraphQL operation, over HTTP, WebSocket or dbServices alike, created per
 * operation (src/app-services.ts, createContext). It holds who is asking and narrow capabilities,
 * never the configuration, the admin token or the pools' owner: resolvers can run statements, not
 * end a pool or read a secret.
 */
export interface Context {
  readonly auth: Auth;
  /** Who the changes this operation writes are attributed to. */
  readonly actor: Actor;
  /** The platform pool: statements and transactions as the service's own role. */
  readonly pg: Pool;
  /** Raw SQL as a project's own login role. */
  readonly projectSql: Pick<ProjectSqlPools, 'run' | 'close'>;
  /** The process's fan-out of live changes, to join. */
  readonly changes: Pick<ChangeHub, 'subscribeRows' | 'subscribeTables'>;
  /** Keys, projects and tables cached for the process; changes to them are announced through it. */
  readonly metadata: Pick<MetadataCache, 'apiKey' | 'forgetTables' | 'announce'>;
  readonly log: Logger;
  /** This operation's batching and memo. */
  readonly loaders: Loaders;
}
