import { DbServicesError } from './errors.js';

/** How dbServices reaches a project. Every field overrides its environment variable. */
export interface DbServicesOptions {
  /** The project to work in. @default process.env.PAIGE_PROJECT_ID (remote: the project of the API key) */
  projectId?: string;
  /** In-process: the Postgres that paige-db runs on. @default process.env.DATABASE_URL */
  databaseUrl?: string;
  /** Remote: the server's GraphQL endpoint, e.g. https://db.example.com/graphql. @default process.env.PAIGE_URL */
  url?: string;
  /** Remote: a project API key. @default process.env.PAIGE_API_KEY */
  apiKey?: string;
  /** Where settings not given are read from. @default process.env */
  env?: Record<string, string | undefined>;
}

export type ResolvedSettings =
  | { transport: 'in-process'; projectId: string; databaseUrl: string; logLevel: string | undefined }
  | { transport: 'remote'; url: string; apiKey: string; projectId: string | undefined };

const missing = (setting: string, why: string) =>
  new DbServicesError('CONFIGURATION', `dbServices: ${setting} is not set: ${why}`, { setting });

const given = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/**
 * Picks the transport: an explicit `url` or `databaseUrl` option decides; otherwise PAIGE_URL in
 * the environment means remote, and its absence in-process. The first missing setting is one
 * error that names it.
 */
export function resolveSettings(options: DbServicesOptions = {}): ResolvedSettings {
  const env = options.env ?? process.env;
  const remote = given(options.url) !== undefined || (given(options.databaseUrl) === undefined && given(env.PAIGE_URL) !== undefined);
  const url = remote ? (given(options.url) ?? given(env.PAIGE_URL)) : undefined;
  const projectId = given(options.projectId) ?? given(env.PAIGE_PROJECT_ID);
  if (url) {
    if (!/^https?:\/\//.test(url)) {
      throw new DbServicesError('CONFIGURATION', `dbServices: PAIGE_URL must start with http:// or https://, got ${JSON.stringify(url)}`, { setting: 'PAIGE_URL' });
    }
    const apiKey = given(options.apiKey) ?? given(env.PAIGE_API_KEY);
    if (!apiKey) throw missing('PAIGE_API_KEY', `a project API key is needed to call the paige-db server at ${url}`);
    return { transport: 'remote', url, apiKey, projectId };
  }
  if (!projectId) {
    throw missing('PAIGE_PROJECT_ID', 'set PAIGE_PROJECT_ID and DATABASE_URL to run in-process, or PAIGE_URL and PAIGE_API_KEY to call a paige-db server');
  }
  const databaseUrl = given(options.databaseUrl) ?? given(env.DATABASE_URL);
  if (!databaseUrl) throw missing('DATABASE_URL', `project ${projectId} runs in-process on the Postgres of paige-db; set DATABASE_URL to it (or PAIGE_URL and PAIGE_API_KEY to go through a server)`);
  return { transport: 'in-process', projectId, databaseUrl, logLevel: given(env.LOG_LEVEL) };
}
