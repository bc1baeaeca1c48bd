/** The error codes of the public contract (`extensions.code`). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'SYSTEM_TABLE'
  | 'CURSOR_EXPIRED'
  /** A project is past its share of the service's database connections (src/db/project-shares.ts). */
  | 'BUSY'
  /** Postgres cannot be reached (down, restarting, out of connections): try again. */
  | 'UNAVAILABLE';

/**
 * A typed domain error: what went wrong, in the caller's terms, with the names at fault in
 * `details` (table, column, field…). Every layer throws these; only the GraphQL layer turns them
 * into GraphQL errors (src/schema/errors.ts), so nothing below it depends on GraphQL.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const badInput = (message: string, details?: Record<string, unknown>) => new DomainError('BAD_USER_INPUT', message, details);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);
export const conflict = (message: string, details?: Record<string, unknown>) => new DomainError('CONFLICT', message, details);
export const systemTable = (table: string, action: string) =>
  new DomainError('SYSTEM_TABLE', `table "${table}" is a system table: its structure cannot be ${action}`, { table });

/** `path` says where in the input the name came from (`rows[3]`, `where`, `orderBy[0]`). */
export const columnNotFound = (table: string, column: string, path?: string, details: Record<string, unknown> = {}) =>
  new DomainError('NOT_FOUND', `${path ? `${path}: ` : ''}column "${column}" not found in table "${table}"`, { table, column, ...details });
