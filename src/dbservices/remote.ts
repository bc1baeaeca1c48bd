import { print } from 'graphql';
import { ClientError, GraphQLClient } from 'graphql-request';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { DbServicesError, fromGraphQLErrors, type GraphQLErrorLike } from './errors.js';
import { OwnProjectsDocument } from './generated/graphql.js';
import type { SubscriptionSink, Transport } from './transport.js';

/**
 * Turns whatever graphql-request or graphql-ws failed with into a DbServicesError. A server that
 * cannot be reached, answers 5xx without a GraphQL result or drops the socket is UNAVAILABLE, the
 * code the API itself gives when its database does not answer: either way, worth retrying. Any
 * other answer without a GraphQL result (a 404) is a PAIGE_URL that is no paige-db endpoint.
 */
function toError(error: unknown, url: string): DbServicesError {
  if (error instanceof DbServicesError) return error;
  if (error instanceof ClientError) {
    const errors = error.response.errors as GraphQLErrorLike[] | undefined;
    if (errors?.length) return fromGraphQLErrors(errors);
    const { status } = error.response;
    // A gateway or server in trouble is worth retrying; anything else means the URL is not a paige-db endpoint.
    if (status >= 500) return new DbServicesError('UNAVAILABLE', `the paige-db server at ${url} answered HTTP ${status} without a GraphQL result`);
    return new DbServicesError('CONFIGURATION', `dbServices: ${url} answered HTTP ${status} without a GraphQL result: set PAIGE_URL to the /graphql endpoint of a paige-db server`, { setting: 'PAIGE_URL' });
  }
  if (Array.isArray(error)) return fromGraphQLErrors(error as GraphQLErrorLike[]);
  // A CloseEvent from graphql-ws: 4403 Forbidden means the key was refused.
  const close = error as { code?: unknown; reason?: unknown };
  if (typeof close?.code === 'number') {
    const code = close.code === 4403 || close.code === 4401 ? 'UNAUTHENTICATED' : 'UNAVAILABLE';
    return new DbServicesError(code, `the WebSocket to ${url} closed (${close.code}${close.reason ? `: ${String(close.reason)}` : ''})`);
  }
  // graphql-ws reports a socket that never opened with the WebSocket's error event, not an Error.
  const described = (error as { message?: unknown } | undefined)?.message;
  const message = typeof described === 'string' && described ? described : String(error);
  return new DbServicesError('UNAVAILABLE', `could not reach the paige-db server at ${url}: ${message}`);
}

/**
 * The same operations over HTTP (graphql-request) and WebSocket (graphql-ws), with a project API
 * key, for bot code that runs away from the database.
 */
export class RemoteTransport implements Transport {
  readonly kind = 'remote';
  private readonly http: GraphQLClient;
  private ws: WsClient | undefined;
  private project: Promise<string> | undefined;

  constructor(private readonly settings: { url: string; apiKey: string; projectId?: string | undefined }) {
    this.http = new GraphQLClient(settings.url, { headers: { authorization: `Bearer ${settings.apiKey}` } });
    if (settings.projectId) this.project = Promise.resolve(settings.projectId);
  }

  /** Without PAIGE_PROJECT_ID, the project is the one project a project key can see. */
  projectId(): Promise<string> {
    if (!this.project) {
      this.project = this.execute(OwnProjectsDocument, {}).then(({ projects }) => {
        if (projects.length !== 1) {
          throw new DbServicesError('CONFIGURATION', `dbServices: PAIGE_PROJECT_ID is not set and the API key sees ${projects.length} projects: set PAIGE_PROJECT_ID`, { setting: 'PAIGE_PROJECT_ID' });
        }
        return projects[0]!.id;
      });
      this.project.catch(() => (this.project = undefined));
    }
    return this.project;
  }

  async execute<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    try {
      return await this.http.request<R, V>({ document, variables } as never);
    } catch (error) {
      throw toError(error, this.settings.url);
    }
  }

  subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V, sink: SubscriptionSink<R>): () => void {
    this.ws ??= createClient({
      url: this.settings.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.settings.apiKey}` },
      // Resubscribing after a drop is the caller's choice (with `since`): do not retry silently.
      retryAttempts: 0,
      lazy: true,
    });
    let ended = false;
    const dispose = this.ws.subscribe<R>(
      { query: print(document), variables },
      {
        next: (result) => {
          if (ended) return;
          if (result.errors?.length) {
            ended = true;
            dispose();
            sink.error(fromGraphQLErrors(result.errors as GraphQLErrorLike[]));
          } else sink.next(result.data as R);
        },
        error: (error) => {
          if (ended) return;
          ended = true;
          sink.error(toError(error, this.settings.url));
        },
        complete: () => {
          if (ended) return;
          ended = true;
          sink.error(new DbServicesError('UNAVAILABLE', `the server at ${this.settings.url} ended the change stream`));
        },
      },
    );
    return () => {
      ended = true;
      dispose();
    };
  }

  async close(): Promise<void> {
    await this.ws?.dispose();
    this.ws = undefined;
  }
}
