import { GraphQLError } from 'graphql';

/** The error codes of the public contract (`extensions.code`). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'SYSTEM_TABLE'
  | 'CURSOR_EXPIRED'
  /** Postgres cannot be reached (down, restarting, out of connections): try again. */
  | 'UNAVAILABLE';

const httpStatus: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, UNAVAILABLE: 503 };

/**
 * A typed domain error. It is a GraphQLError (and keeps that `name`, which yoga checks), so yoga's
 * masking lets it through unchanged while every other error is masked as INTERNAL_SERVER_ERROR and logged.
 */
export class DomainError extends GraphQLError {
  constructor(readonly code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    const status = httpStatus[code];
    super(message, { extensions: { code, ...details, ...(status ? { http: { status } } : {}) } });
  }
}

export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const badInput = (message: string, details?: Record<string, unknown>) => new DomainError('BAD_USER_INPUT', message, details);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);
export const systemTable = (table: string, action: string) =>
  new DomainError('SYSTEM_TABLE', `table "${table}" is a system table: its structure cannot be ${action}`, { table });

/**
 * The service cannot start (its embedded Postgres, its data dir): the message is one line naming
 * the cause and what to do, which `main.ts` prints before exiting with code 1.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
