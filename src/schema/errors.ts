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

export type MaskError = (error: unknown, message?: string) => GraphQLError;

/**
 * The one error policy, for every way an operation runs (yoga over HTTP and SSE, graphql-ws, and
 * dbServices in this process): a domain error, or a Postgres error the caller caused, is returned
 * with its code and logged at debug level (the caller's mistake is not the operator's); Postgres
 * being unreachable is UNAVAILABLE and a warning; anything else is a bug: logged as an error and
 * masked as INTERNAL_SERVER_ERROR, so nothing internal leaks.
 */
export function createMaskError(log: Logger): MaskError {
  return (error, message = 'Unexpected error.') => {
    const located = error instanceof GraphQLError ? error : undefined;
    if (located && isRequestError(located)) return located;
    const original = located ? located.originalError : error;
    const domain = original instanceof DomainError ? original : mapPgError(original);
    if (domain) {
      if (domain.code === 'UNAVAILABLE') log.warn(`database unreachable: ${String(original)}`);
      else log.debug(`${domain.code}: ${domain.message}`);
      return toGraphQLError(domain, located);
    }
    log.error('unexpected error', original);
    return new GraphQLError(message, { nodes: located?.nodes, path: located?.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
