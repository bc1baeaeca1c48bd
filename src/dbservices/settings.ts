import { DbServicesError } from './errors.js';

/** How dbServices reaches a project. Every field overrides its environment variable. */
export interface DbServicesOptions {
  /** The project to work in. @default process.env.PAIGE_PROJECT_ID (remote: the project of the API key) */
  projectId?: string;
  /** In-process: the Postgres that paige-db runs on. @default process.env.DATABASE_URL */
  databaseUrl?: string;
  /**
   * In-process, without a databaseUrl: the data dir of a paige-db that runs the embedded Postgres
   * (its PAIGE_DATA_DIR, `./.paige-data` by default); the server writes the cluster's URL there at
   * every start. @default process.env.PAIGE_DATA_DIR
   */
  dataDir?: string;
  /** Remote: the server's GraphQL endpoint, e.g. https://db.example.com/graphql. @default process.env.PAIGE_URL */
  url?: string;
  /** Remote: a project API key. @default process.env.PAIGE_API_KEY */
  apiKey?: string;
  /** Where settings not given are read from. @default process.env */
  env?: Record<string, string | undefined>;
}

/** Where the in-process transport finds Postgres: a URL, or the data dir of a running paige-db. */
export type DatabaseSource = { databaseUrl: string } | { dataDir: string };

export type ResolvedSettings =
  | { transport: 'in-process'; projectId: string; database: DatabaseSource; logLevel: string | undefined }
  | { transport: 'remote'; url: string; apiKey: string; projectId: string | undefined };

const missing = (setting: string, why: string) =>
  new DbServicesError('CONFIGURATION', `dbServices: ${setting} is not set: ${why}`, { setting });

const given = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/**
 * Picks the transport: an explicit `url`, `databaseUrl` or `dataDir` option decides; otherwise
 * PAIGE_URL in the environment means remote, and its absence in-process. In-process, a database
 * URL (option, then DATABASE_URL) wins over a data dir (option, then PAIGE_DATA_DIR). The first
 * missing setting is one error that names it.
 */
export function resolveSettings(options: DbServicesOptions = {}): ResolvedSettings {
  const env = options.env ?? process.env;
  const inProcessOption = given(options.databaseUrl) ?? given(options.dataDir);
  const remote = given(options.url) !== undefined || (inProcessOption === undefined && given(env.PAIGE_URL) !== undefined);
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
    throw missing('PAIGE_PROJECT_ID', 'set PAIGE_PROJECT_ID and DATABASE_URL (or PAIGE_DATA_DIR) to run in-process, or PAIGE_URL and PAIGE_API_KEY to call a paige-db server');
  }
  const logLevel = given(env.LOG_LEVEL);
  const databaseUrl = given(options.databaseUrl) ?? (given(options.dataDir) ? undefined : given(env.DATABASE_URL));
  if (databaseUrl) return { transport: 'in-process', projectId, database: { databaseUrl }, logLevel };
  const dataDir = given(options.dataDir) ?? given(env.PAIGE_DATA_DIR);
  if (dataDir) return { transport: 'in-process', projectId, database: { dataDir }, logLevel };
  throw missing(
    'DATABASE_URL',
    `project ${projectId} runs in-process on the Postgres of paige-db; set DATABASE_URL to it, or PAIGE_DATA_DIR to the data dir of a paige-db running the embedded Postgres (./.paige-data by default), or PAIGE_URL and PAIGE_API_KEY to go through a server`,
  );
}
