/**
 * Who wrote a change: the admin token, a project's API key (named as it was when it wrote), or
 * bot code through dbServices in its own process. A change made outside the API (psql, another
 * program) has no actor.
 */
export type Actor =
  | { kind: 'ADMIN' }
  | { kind: 'API_KEY'; apiKeyId: string; apiKeyName: string }
  | { kind: 'IN_PROCESS' };
