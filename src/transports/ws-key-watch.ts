import type { WebSocket } from 'ws';
import { existingApiKeyIds } from '../db/api-keys.js';
import type { Queryable } from '../db/pool.js';
import type { Logger } from '../logger.js';

/** Close code and reason for a socket whose key no longer exists (as for a bad token on connect). */
// A key disappears when it is revoked and when its project is deleted; the socket cannot tell which.
export const REVOKED = { code: 4403, reason: 'Forbidden: the API key was revoked or its project deleted' } as const;

/**
 * The sockets authenticated with a project key, checked again every `intervalMs`: a socket whose
 * key was revoked (or whose project was deleted), in this process or another, is closed with
 * 4403, which ends its subscriptions. One check at a time: a slow database must not pile checks
 * up in the pool.
 */
export class KeyWatch {
  private readonly keyed = new Map<WebSocket, string>();
  private checking = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pg: Queryable,
    private readonly log: Logger,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  watch(socket: WebSocket, keyId: string): void {
    this.keyed.set(socket, keyId);
    socket.once('close', () => this.keyed.delete(socket));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.keyed.size === 0 || this.checking) return;
    this.checking = true;
    try {
      const asked = new Set(this.keyed.values());
      const live = await existingApiKeyIds(this.pg, [...asked]);
      for (const [socket, keyId] of this.keyed) {
        // A socket that connected while the query ran was not asked about: the next round checks it.
        if (live.has(keyId) || !asked.has(keyId)) continue;
        this.keyed.delete(socket);
        socket.close(REVOKED.code, REVOKED.reason);
      }
    } catch (error) {
      // Postgres unreachable: keep the sockets; the next round checks again.
      this.log.warn(`checking the API keys of open sockets failed: ${String(error)}`);
    } finally {
      this.checking = false;
    }
  }
}
