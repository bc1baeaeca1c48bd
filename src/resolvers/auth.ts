import { timingSafeEqual } from 'node:crypto';
import { DomainError } from '../errors.js';
import { findApiKeyByToken } from '../db/api-keys.js';
import type { AppServices, Auth } from './context.js';

const unauthenticated = (why: string) => new DomainError('UNAUTHENTICATED', why);

/** What GraphiQL's headers editor holds until a token is pasted (src/graphiql.ts). */
export const TOKEN_PLACEHOLDER = '<paste the admin token or a project API key>';

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Reads `Bearer <token>` (from a header or graphql-ws connectionParams). */
export function bearerToken(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

/** Resolves a bearer token to an Auth, or throws UNAUTHENTICATED (HTTP 401). */
export async function authenticate(services: AppServices, authorization: unknown): Promise<Auth> {
  if (authorization === undefined || authorization === null || authorization === '') {
    throw unauthenticated('missing Authorization: Bearer <token>');
  }
  if (typeof authorization === 'string' && authorization.includes(TOKEN_PLACEHOLDER)) {
    throw unauthenticated(`no token yet: in the headers, replace ${TOKEN_PLACEHOLDER} with the admin token (npm start prints it) or a project API key`);
  }
  const token = bearerToken(authorization);
  if (!token) throw unauthenticated('the Authorization header must be "Bearer <token>"');
  if (sameSecret(token, services.adminToken)) return { kind: 'admin' };
  // Cached per process; a revoke anywhere drops it (see MetadataCache), so it still fails at once.
  const key = await services.metadata.apiKey(token, () => findApiKeyByToken(services.db.pool, token));
  if (!key) throw unauthenticated('invalid or revoked token');
  services.apiKeyUsage.used(key.id);
  return { kind: 'project', projectId: key.projectId, keyId: key.id };
}
