import { timingSafeEqual } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { findApiKeyByToken } from '../db/api-keys.js';
import type { MetadataCache } from '../db/metadata-cache.js';
import type { Queryable } from '../db/pool.js';
import type { Auth } from './context.js';
import type { ApiKeyUsage } from '../db/api-key-usage.js';

const unauthenticated = (why: string) => new DomainError('UNAUTHENTICATED', why);

/** What GraphiQL's headers editor holds until a token is pasted (src/transports/graphiql.ts). */
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

export interface Authenticator {
  /** Resolves `Bearer <token>` (a header, or graphql-ws connectionParams) to an Auth, or throws UNAUTHENTICATED (HTTP 401). */
  (authorization: unknown): Promise<Auth>;
}

/** The one check of a token, for every transport; the admin token stays inside it. */
export function createAuthenticator(adminToken: string, metadata: Pick<MetadataCache, 'apiKey'>, pg: Queryable, usage: Pick<ApiKeyUsage, 'used'>): Authenticator {
  return async (authorization) => {
    if (authorization === undefined || authorization === null || authorization === '') {
      throw unauthenticated('missing Authorization: Bearer <token>');
    }
    if (typeof authorization === 'string' && authorization.includes(TOKEN_PLACEHOLDER)) {
      throw unauthenticated(`no token yet: in the headers, replace ${TOKEN_PLACEHOLDER} with the admin token (npm start prints it) or a project API key`);
    }
    const token = bearerToken(authorization);
    if (!token) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    if (sameSecret(token, adminToken)) return { kind: 'admin' };
    // Cached per process; a revoke anywhere drops it (see MetadataCache), so it still fails at once.
    const key = await metadata.apiKey(token, () => findApiKeyByToken(pg, token));
    if (!key) throw unauthenticated('invalid or revoked token');
    usage.used(key.id);
    return { kind: 'project', projectId: key.projectId, keyId: key.id, keyName: key.name };
  };
}
