import type pg from 'pg';
import type { Logger } from '../logger.js';
import { recordApiKeyUse } from './api-keys.js';
import { createPool } from './pool.js';

/** The shortest time between two writes of one key's last use by one process. */
export const API_KEY_USE_INTERVAL_MS = 60_000;

/** Keys remembered before the map is emptied (a process seeing more keys than this writes a little more often). */
const MAX_KEYS = 10_000;

/**
 * Records when API keys authenticate requests (`ApiKey.lastUsedAt`) without a write per request:
 * the key lookup itself is cached per process (MetadataCache), and this writes a key's use at
 * most once per API_KEY_USE_INTERVAL_MS per process. The write is started, never awaited: the
 * request does not wait for it, and a failed one (the database down) is only logged at debug
 * level, the next use after the interval tries again. The writes have a session of their own, so
 * they neither wait behind requests nor take a request's connection.
 */
export class ApiKeyUsage {
  private readonly lastWritten = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private readonly pool: pg.Pool;

  constructor(
    url: string,
    private readonly log: Logger,
    private readonly intervalMs = API_KEY_USE_INTERVAL_MS,
  ) {
    this.pool = createPool(url, { max: 1, applicationName: 'paige-db-key-use', allowExitOnIdle: true });
  }

  /** The key authenticated a request at `now` (ms). */
  used(keyId: string, now = Date.now()): void {
    const last = this.lastWritten.get(keyId);
    if (last !== undefined && now - last < this.intervalMs) return;
    if (this.lastWritten.size >= MAX_KEYS) this.lastWritten.clear();
    this.lastWritten.set(keyId, now);
    const write: Promise<void> = recordApiKeyUse(this.pool, keyId)
      .catch((error: unknown) => this.log.debug(`recording the use of API key ${keyId} failed: ${String(error)}`))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Resolves once the writes started so far have finished (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Lets the writes in flight finish, then ends the session. */
  async close(): Promise<void> {
    await this.settled();
    await this.pool.end();
  }
}
