import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Database } from './db/database.js';
import { MetadataCache } from './db/metadata-cache.js';
import { LISTENER_APP_PREFIX, readMetadataTags } from './db/metadata-notify.js';
import { readNotifyChannels } from './db/notify-channels.js';
import { PgSubscriber } from './db/pg-subscriber.js';
import { ProjectSqlPools } from './db/project-sql.js';
import { ProjectShares } from './db/project-shares.js';
import { CaptureStatusReader, readCaptureState, type CaptureMode } from './db/capture-mode.js';
import { ChangeHub } from './live/change-hub.js';
import type { CaptureLeader } from './live/capture-leader.js';
import { captureLeader, prepareCapture } from './live/capture-switch.js';
import { createAuthenticator, type Authenticator } from './resolvers/auth.js';
import type { Auth, Context } from './resolvers/context.js';
import type { Actor } from './domain/actor.js';
import { createLoaders } from './resolvers/loaders.js';
import { ApiKeyUsage } from './db/api-key-usage.js';

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
  /** Each project's share of the platform pool, and the cancelling of abandoned requests' statements. */
  shares: ProjectShares;
  /** Checks a bearer token; the admin token is known only inside it. */
  authenticate: Authenticator;
  /** Records API keys' last use, at most once a minute per key, off the request's path. */
  apiKeyUsage: ApiKeyUsage;
  /** How changes are captured; in logical mode, this process's candidacy for the replication slot (started by start()). */
  capture: { mode: CaptureMode; leader: CaptureLeader | undefined; status: CaptureStatusReader };
}

export interface OpenOptions {
  /** The admin token; absent: a random one nobody knows (dbServices in-process never authenticates a token). */
  adminToken?: string;
  /**
   * A server decides the database's capture mode (PAIGE_CAPTURE) and switches it when needed;
   * bot code in-process runs with whatever mode the database has. @default false
   */
  decideCapture?: boolean;
}

/**
 * Opens the database (migrating it, and deciding its capture mode when asked) and connects the
 * process's subscriber, so the metadata cache can be trusted from the first operation.
 */
export async function openAppServices(config: Config, log: Logger, options: OpenOptions = {}): Promise<AppServices> {
  const metrics = new Metrics();
  const db = await Database.open(config, log);
  try {
    const setup = { pool: db.pool, url: db.url, log, metrics };
    const mode = options.decideCapture ? await prepareCapture(setup, config.capture) : (await readCaptureState(db.pool)).mode;
    if (options.decideCapture) log.info(`capture: ${mode === 'logical' ? 'from the write-ahead log (logical decoding)' : 'by triggers'}`);
    const subscriber = new PgSubscriber({ url: db.url, log, applicationPrefix: LISTENER_APP_PREFIX });
    const channels = await readNotifyChannels(db.pool);
    const metadata = new MetadataCache(await readMetadataTags(db.pool), channels, subscriber, log, metrics);
    await metadata.watch();
    await subscriber.start();
    const apiKeyUsage = new ApiKeyUsage(db.url, log);
    const shares = new ProjectShares(db.pool, db.url);
    metrics.gauge('paige_project_share_waiting', "API calls waiting because their project holds its share of the platform's connections", () => shares.waiting);
    return {
      config,
      log,
      metrics,
      db,
      subscriber,
      metadata,
      changes: new ChangeHub({ url: db.url, subscriber, changesChannel: channels.changes, log, metrics, retentionHours: config.changeRetentionHours, fromWal: mode === 'logical' }),
      projectSql: new ProjectSqlPools(db.pool, db.url),
      shares,
      authenticate: createAuthenticator(options.adminToken ?? `unusable-${randomBytes(24).toString('hex')}`, metadata, db.pool, apiKeyUsage),
      apiKeyUsage,
      capture: { mode, leader: mode === 'logical' ? captureLeader(setup) : undefined, status: new CaptureStatusReader(db.url) },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** The actor of a token's writes. */
const actorOf = (auth: Auth): Actor => (auth.kind === 'admin' ? { kind: 'ADMIN' } : { kind: 'API_KEY', apiKeyId: auth.keyId, apiKeyName: auth.keyName });

/**
 * The context of one operation: who is asking, and what a resolver may use. `actor` defaults to
 * the token's. Its statements run on the project's share of the platform pool; `signal` (an HTTP
 * request's) cancels them when the client goes away.
 */
export function createContext(services: AppServices, auth: Auth, actor: Actor = actorOf(auth), signal?: AbortSignal): Context {
  const { projectSql, changes, metadata, log } = services;
  const pool = services.shares.forOperation(auth.kind === 'project' ? auth.projectId : undefined, signal);
  return { auth, actor, pg: pool, projectSql, changes, metadata, log, loaders: createLoaders(pool, metadata) };
}

/** Ends what openAppServices opened: subscriptions, key-use writes in flight, the raw-SQL pools, the subscriber, then the platform pool (and embedded Postgres). */
export async function closeAppServices(services: AppServices, onStep: (step: string) => void = () => {}): Promise<void> {
  const steps: [string, () => Promise<void> | undefined][] = [
    ['the capture leader', () => services.capture.leader?.stop()],
    ['the capture status pool', () => services.capture.status.close()],
    ['the change hub', () => services.changes.stop()],
    ['the API key use writer', () => services.apiKeyUsage.close()],
    ['the raw SQL pools', () => services.projectSql.closeAll()],
    ['the cancelling connection', () => services.shares.close()],
    ['the LISTEN connection', () => services.subscriber.stop()],
    ['the platform pool and the embedded Postgres', () => services.db.close()],
  ];
  for (const [step, close] of steps) {
    onStep(step);
    await close();
  }
}
