import { ApiError, type Request } from './client.js';
import type { ApiKey } from './documents.js';

/**
 * The list of a project's API keys, against the PLANNED `apiKeys(projectId: ID!): [ApiKey!]!`
 * (fields id, name, createdAt, lastUsedAt), which another change adds to the schema. Kept apart
 * from the other documents so that it is the one module to touch when that lands. Until then the
 * server refuses the document as invalid, and the screen says listing is not available (creating
 * and revoking keys work without it).
 */
export const API_KEYS = /* GraphQL */ `
  query ApiKeys($projectId: ID!) { apiKeys(projectId: $projectId) { id name createdAt lastUsedAt } }
`;

export type ApiKeysListing = { supported: true; keys: ApiKey[] } | { supported: false; reason: string };

/** The server does not know the field yet: a validation error naming `apiKeys`. */
const isUnknownField = (error: ApiError) =>
  error.errors.some((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' && /apiKeys/.test(e.message));

export async function listApiKeys(request: Request, projectId: string): Promise<ApiKeysListing> {
  try {
    const { apiKeys } = await request<{ apiKeys: ApiKey[] }>(API_KEYS, { projectId });
    return { supported: true, keys: apiKeys };
  } catch (error) {
    if (error instanceof ApiError && isUnknownField(error)) {
      return { supported: false, reason: 'this server cannot list API keys yet (no apiKeys query in its schema)' };
    }
    throw error;
  }
}
