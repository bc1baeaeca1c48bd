import { createHash, createHmac } from 'node:crypto';
import type { Queryable } from './pool.js';

/**
 * The platform's secret, made by migration 001 in `paige.settings` (which no project role can
 * read). Project login-role passwords and the tags of metadata notifications are derived from
 * it, so neither is ever stored.
 */
export async function readPlatformSecret(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ value: string }>(/* SQL */ `SELECT value FROM paige.settings WHERE key = 'role_secret'`);
  if (!rows[0]) throw new Error('paige.settings has no role_secret: migrations have not run');
  return rows[0].value;
}

/** A login role's password: HMAC-SHA-256 of its name under the platform secret. */
export const loginRolePassword = (secret: string, loginRole: string) => createHmac('sha256', secret).update(loginRole).digest('base64url');

/**
 * What lets the API mark a transaction of a login role's session with its actor
 * (`paige_actor.mark(actor, proof)`, migration 007, which derives the same from the secret).
 */
export const actorMarkProof = (secret: string, loginRole: string) => createHash('sha256').update(`${secret}:actor-mark:${loginRole}`, 'utf8').digest('hex');
