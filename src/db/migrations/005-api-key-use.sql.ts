/**
 * When an API key last authenticated a request, so an operator can tell unused keys from live
 * ones before revoking. Written at most about once a minute per key and server process
 * (src/db/api-key-usage.ts), never inside a request's own statements.
 */
export const apiKeyUse = /* SQL */ `
ALTER TABLE paige.api_keys ADD COLUMN last_used_at timestamptz;
`;
