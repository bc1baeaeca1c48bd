import type { WebSocket } from 'ws';
import { existingApiKeyIds } from '../db/api-keys.js';
import type { Queryable } from '../db/pool.js';
import type { Logger } from '../logger.js';

/** Close code and reason for a socket whose key no longer exists (as for a bad token on connect). */
// A key disappears when it is revoked and when its project is deleted; the socket cannot tell which.
export const REVOKED = { code: 4403, reason: 'Forbidden: the API key was revoked or its project deleted' } as const;

/**
 * The sockets authenticated with a project key (`keyed`: the open ones now, each with its key),
 * checked again every `intervalMs`: a socket whose key was revoked (or whose project was
 * deleted), in this process or another, is closed with 4403, which ends its subscriptions. One
 * check at a time: a slow database must not pile checks up in the pool. The sockets are asked for
 * at each check, not registered, so a socket costs the watch nothing between checks.
 */
export class KeyWatch {
  private checking = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pg: Queryable,
    private readonly log: Logger,
    intervalMs: number,
    private readonly keyed: () => Iterable<[WebSocket, string]>,
  ) {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    // A socket that connects while the query runs is not in this round: the next one checks it.
    const keyed = [...this.keyed()];
    if (keyed.length === 0) return;
    this.checking = true;
    try {
      const live = await existingApiKeyIds(this.pg, [...new Set(keyed.map(([, keyId]) => keyId))]);
      for (const [socket, keyId] of keyed) if (!live.has(keyId)) socket.close(REVOKED.code, REVOKED.reason);
    } catch (error) {
      // Postgres unreachable: keep the sockets; the next round checks again.
      this.log.warn(`checking the API keys of open sockets failed: ${String(error)}`);
    } finally {
      this.checking = false;
    }
  }
}
