import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './pool.js';
import { listenersColumn, notifyMetadata, type MetadataAnnouncement } from './metadata-notify.js';

export interface ApiKey {
  id: string;
  projectId: string;
  name: string;
  createdAt: string;
}

/** A key as listed: with its last use, which changes too often for the per-process cache to hold. */
export interface ApiKeyListing extends ApiKey {
  lastUsedAt: string | null;
}

const columns = /* SQL */ `id, project_id AS "projectId", name, created_at AS "createdAt"`;
const listingColumns = /* SQL */ `${columns}, last_used_at AS "lastUsedAt"`;

/** Only this hash is stored; the token itself is shown once. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest();

export async function createApiKey(db: Queryable, projectId: string, name: string): Promise<{ apiKey: ApiKeyListing; token: string }> {
  const id = randomBytes(8).toString('hex');
  const token = `pdb_${id}_${randomBytes(24).toString('base64url')}`;
  const { rows } = await db.query<ApiKeyListing>(
    `INSERT INTO paige.api_keys (id, project_id, name, token_hash) VALUES ($1, $2, $3, $4) RETURNING ${listingColumns}`,
    [id, projectId, name, hashToken(token)],
  );
  return { apiKey: rows[0]!, token };
}

/** The key a token belongs to, or null. Read on every request, so a revoked key fails at once. */
export async function findApiKeyByToken(db: Queryable, token: string): Promise<ApiKey | null> {
  const { rows } = await db.query<ApiKey>(`SELECT ${columns} FROM paige.api_keys WHERE token_hash = $1`, [hashToken(token)]);
  return rows[0] ?? null;
}

export async function findApiKey(db: Queryable, id: string): Promise<ApiKey | null> {
  const { rows } = await db.query<ApiKey>(`SELECT ${columns} FROM paige.api_keys WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** The project's keys, oldest first: never the token (not stored) nor its hash. */
export async function listApiKeys(db: Queryable, projectId: string): Promise<ApiKeyListing[]> {
  const { rows } = await db.query<ApiKeyListing>(`SELECT ${listingColumns} FROM paige.api_keys WHERE project_id = $1 ORDER BY created_at, id`, [projectId]);
  return rows;
}

/** Stamps the key's last use with the statement's time (a revoked key's id matches nothing). */
export async function recordApiKeyUse(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE paige.api_keys SET last_used_at = now() WHERE id = $1`, [id]);
}

/**
 * Deletes the key and, in the same statement (so at its commit), tells every process's metadata
 * cache to forget it; notes in `announcement` which listeners will hear it.
 */
export async function deleteApiKey(db: Queryable, id: string, announcement: MetadataAnnouncement): Promise<boolean> {
  const { rows } = await db.query<{ listeners: string[] }>(
    /* SQL */ `WITH gone AS (DELETE FROM paige.api_keys WHERE id = $1 RETURNING id)
               SELECT pg_notify(${notifyMetadata}, $2), ${listenersColumn} FROM gone`,
    [id, announcement.payload],
  );
  announcement.listeners = rows[0]?.listeners ?? [];
  return rows.length > 0;
}

/** Which of these key ids still exist (revoked keys, and keys of deleted projects, do not). */
export async function existingApiKeyIds(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM paige.api_keys WHERE id = ANY($1::text[])`, [ids]);
  return new Set(rows.map((row) => row.id));
}
