import { z } from 'zod';

/** Thrown for a bad environment; `main.ts` prints the message and exits with code 2. */
export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`paige-db: invalid ${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

export const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);
const flag = z.preprocess(
  emptyAsUndefined,
  z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional().transform((v) => v === undefined ? undefined : v === 'true' || v === '1'),
);

const envSchema = z.object({
  /** @default 4000 */
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number({ error: 'must be a whole number from 0 to 65535' }).int('must be a whole number from 0 to 65535').min(0, 'must be a whole number from 0 to 65535').max(65535, 'must be a whole number from 0 to 65535').default(4000)),
  /** @default 127.0.0.1 */
  HOST: z.preprocess(emptyAsUndefined, z.string().min(1).default('127.0.0.1')),
  /** Absent: an embedded Postgres is started in PAIGE_DATA_DIR. */
  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  ),
  /** @default ./.paige-data */
  PAIGE_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().min(1).default('./.paige-data')),
  /** Absent: generated on first start and kept in the data dir. */
  ADMIN_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  /** @default info */
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }).default('info')),
  /** How long the change log keeps entries for resuming subscribers. @default 24 */
  CHANGE_RETENTION_HOURS: z.preprocess(emptyAsUndefined, z.coerce.number({ error: 'must be a positive number of hours' }).positive('must be a positive number of hours').default(24)),
  /** Schema introspection (GraphiQL needs it); turn off in production. @default true */
  GRAPHQL_INTROSPECTION: flag,
  /** How changes are captured: from the WAL (logical), by triggers, or the first where the server allows it. @default auto */
  PAIGE_CAPTURE: z.preprocess(emptyAsUndefined, z.enum(['auto', 'logical', 'triggers'], { error: 'must be auto, logical or triggers' }).default('auto')),
  /** WAL kept for the capture slot past which a warning is logged, in MB. @default 256 */
  CAPTURE_LAG_WARN_MB: z.preprocess(emptyAsUndefined, z.coerce.number({ error: 'must be a positive number of megabytes' }).positive('must be a positive number of megabytes').default(256)),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  logLevel: LogLevel;
  changeRetentionHours: number;
  introspection: boolean;
  capture: 'auto' | 'logical' | 'triggers';
  captureLagWarnBytes: number;
}

/** Parses the environment once; the first problem becomes a ConfigError naming its variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    // Secrets are never echoed back.
    const secret = variable === 'ADMIN_TOKEN' || variable === 'DATABASE_URL';
    const shown = env[variable] === undefined || secret ? '' : ` (got ${JSON.stringify(env[variable])})`;
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.PAIGE_DATA_DIR,
    adminToken: e.ADMIN_TOKEN,
    logLevel: e.LOG_LEVEL,
    changeRetentionHours: e.CHANGE_RETENTION_HOURS,
    introspection: e.GRAPHQL_INTROSPECTION ?? true,
    capture: e.PAIGE_CAPTURE,
    captureLagWarnBytes: e.CAPTURE_LAG_WARN_MB * 1024 * 1024,
  };
}
