import { GraphQLError } from 'graphql';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import { mapPgError } from '../db/pg-errors.js';
import type { Logger } from '../logger.js';

/** HTTP statuses yoga answers with for a request that fails with one of these codes. */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, UNAVAILABLE: 503 };

/** A domain error as the API returns it: its message, and its code and details in `extensions`. */
export function toGraphQLError(error: DomainError, located?: GraphQLError): GraphQLError {
  const status = HTTP_STATUS[error.code];
  return new GraphQLError(error.message, {
    nodes: located?.nodes,
    path: located?.path,
    extensions: { code: error.code, ...error.details, ...(status ? { http: { status } } : {}) },
  });
}

/** graphql-js's own errors about the request (syntax, validation, variables): shown as they are. */
const isRequestError = (error: GraphQLError) => !error.originalError || error.originalError instanceof GraphQLError;

export interface MaskError {
  (error: unknown, message?: string): GraphQLError;
  /** Whether this error went through the masking (and so was logged as loud as it deserves). */
  handled(error: unknown): boolean;
}

/**
 * The one error policy, for every way an operation runs (yoga over HTTP and SSE, graphql-ws, and
 * dbServices in this process): a domain error, or a Postgres error the caller caused, is returned
 * with its code and logged at debug level (the caller's mistake is not the operator's); Postgres
 * being unreachable is UNAVAILABLE and a warning; anything else is a bug: logged as an error and
 * masked as INTERNAL_SERVER_ERROR, so nothing internal leaks.
 */
export function createMaskError(log: Logger): MaskError {
  const handled = new WeakSet<object>();
  const mask = (error: unknown, message = 'Unexpected error.') => {
    if (typeof error === 'object' && error !== null) handled.add(error);
    const located = error instanceof GraphQLError ? error : undefined;
    if (located && isRequestError(located)) return located;
    const original = located ? located.originalError : error;
    const where = located?.path ? ` (${located.path.join('.')})` : '';
    const domain = original instanceof DomainError ? original : mapPgError(original);
    if (domain) {
      if (domain.code === 'UNAVAILABLE') log.warn(`database unreachable${where}: ${String(original)}`);
      else log.debug(`${domain.code}${where}: ${domain.message}`);
      return toGraphQLError(domain, located);
    }
    log.error(`unexpected error${where}`, original);
    return new GraphQLError(message, { nodes: located?.nodes, path: located?.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
  return Object.assign(mask, { handled: (error: unknown) => typeof error === 'object' && error !== null && handled.has(error) });
}

/**
 * An error as yoga writes it over HTTP: without the `http` extension (the response status, yoga's
 * own bookkeeping), so a client reads the same error over every transport.
 */
export function publicError(error: GraphQLError): GraphQLError {
  if (!error.extensions.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, originalError: error.originalError, extensions });
}
