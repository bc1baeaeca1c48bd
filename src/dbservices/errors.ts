/**
 * The one error dbServices throws. `code` is the API's `extensions.code` (NOT_FOUND,
 * BAD_USER_INPUT, CONFLICT, FORBIDDEN, SYSTEM_TABLE, CURSOR_EXPIRED, UNAUTHENTICATED,
 * UNAVAILABLE, INTERNAL_SERVER_ERROR), or CONFIGURATION (a missing or bad setting, named in
 * `details.setting`). UNAVAILABLE, worth retrying, also covers what only the SDK sees: Postgres
 * (in-process) or the paige-db server (remote) not answering, named in the message without any
 * password, and a change stream ended because its server or this dbServices stopped.
 */
export class DbServicesError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The rest of the GraphQL error's extensions (table, column, field, …). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DbServicesError';
  }
}

/** A GraphQL error as it appears in a response, over either transport. */
export interface GraphQLErrorLike {
  message: string;
  extensions?: Record<string, unknown> | undefined;
}

/** The first error of a response as a DbServicesError (the API reports one cause per field). */
export function fromGraphQLErrors(errors: readonly GraphQLErrorLike[]): DbServicesError {
  const [first] = errors;
  if (!first) return new DbServicesError('INTERNAL_SERVER_ERROR', 'the operation failed without an error message');
  const { code, ...details } = first.extensions ?? {};
  // The server gives every error of its own a code (unexpected ones INTERNAL_SERVER_ERROR); one
  // without a code comes from graphql-js checking the request, such as a value of the wrong type.
  return new DbServicesError(typeof code === 'string' ? code : 'BAD_USER_INPUT', first.message, details);
}
