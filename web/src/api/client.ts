/**
 * GraphQL over HTTP to this service's own `/graphql`, with the session's bearer token in the
 * Authorization header (never in a URL). Every document the UI sends lives in this folder.
 */

/** One GraphQL error as the API sends it: `extensions.code` and the names of what was at fault. */
export interface ApiErrorItem {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; column?: string; table?: string; field?: string; [key: string]: unknown };
}

/** A refused or failed request: the API's errors, or one NETWORK error when there was no answer. */
export class ApiError extends Error {
  constructor(readonly errors: ApiErrorItem[], readonly status: number) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'ApiError';
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }

  /** The column an error names (a refused value), so a form can show it next to that field. */
  columnErrors(): Map<string, string> {
    const byColumn = new Map<string, string>();
    for (const error of this.errors) {
      const column = error.extensions?.column;
      if (typeof column === 'string' && !byColumn.has(column)) byColumn.set(column, error.message);
    }
    return byColumn;
  }
}

export type Variables = Record<string, unknown>;
export type Request = <T>(query: string, variables?: Variables) => Promise<T>;

/** A request function bound to a token. Rejects with ApiError; never returns partial data. */
export function createRequest(token: string, endpoint = '/graphql'): Request {
  return async <T>(query: string, variables: Variables = {}) => {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new ApiError([{ message: `the server cannot be reached (${String(error)})`, extensions: { code: 'NETWORK' } }], 0);
    }
    let body: { data?: T | null; errors?: ApiErrorItem[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new ApiError([{ message: `the server answered ${response.status} without a GraphQL result`, extensions: { code: 'NETWORK' } }], response.status);
    }
    if (body.errors?.length) throw new ApiError(body.errors, response.status);
    if (body.data === undefined || body.data === null) throw new ApiError([{ message: 'the server answered without data' }], response.status);
    return body.data;
  };
}
