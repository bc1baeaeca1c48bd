import { execute, subscribe, validate, type DocumentNode, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ConfigError, logLevels, parseConfig, type LogLevel } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { closeAppServices, createContext, openAppServices, type AppServices } from '../app-services.js';
import { createMaskError, type MaskError } from '../schema/errors.js';
import type { Context } from '../resolvers/context.js';
import { schema } from '../schema/index.js';
import { DbServicesError, fromGraphQLErrors, type GraphQLErrorLike } from './errors.js';
import type { SubscriptionSink, Transport } from './transport.js';

/**
 * Runs the operations with graphql's `execute` on the server's own schema, with a context scoped
 * to one project exactly as a project API key would be: same resolvers, same validation, same
 * errors, same change events. No HTTP, no socket. Postgres is opened on first use.
 */
export class InProcessTransport implements Transport {
  readonly kind = 'in-process';
  private services: Promise<AppServices> | undefined;
  private readonly validated = new WeakSet<DocumentNode>();
  private readonly log: Logger;
  private readonly maskError: MaskError;
  private readonly logLevel: LogLevel;
  private readonly subscriptions = new Set<() => void>();

  constructor(
    private readonly settings: { projectId: string; databaseUrl: string; logLevel?: string | undefined },
  ) {
    // A bot's own output matters more than ours: warnings and errors only, unless LOG_LEVEL says otherwise.
    this.logLevel = isLogLevel(settings.logLevel) ? settings.logLevel : 'warn';
    this.log = createLogger(this.logLevel);
    this.maskError = createMaskError(this.log);
  }

  projectId(): Promise<string> {
    return Promise.resolve(this.settings.projectId);
  }

  private open(): Promise<AppServices> {
    if (!this.services) {
      let config;
      try {
        config = parseConfig({ DATABASE_URL: this.settings.databaseUrl, LOG_LEVEL: this.logLevel });
      } catch (error) {
        if (error instanceof ConfigError) throw new DbServicesError('CONFIGURATION', `dbServices: ${error.message.replace(/^paige-db: /, '')}`, { setting: error.variable });
        throw error;
      }
      this.services = openAppServices(config, this.log);
      this.services.catch(() => (this.services = undefined));
    }
    return this.services;
  }

  /**
   * A fresh context per operation (its loaders live on it), scoped to the project exactly as a
   * project API key would be; keyId names the caller in logs. Opening the services connects the
   * process's one LISTEN connection, so the metadata cache is trusted from the first call.
   */
  private async context(): Promise<Context> {
    return createContext(await this.open(), { kind: 'project', projectId: this.settings.projectId, keyId: 'in-process' });
  }

  /** The committed documents are checked against the running schema once each, like a server would. */
  private check(document: DocumentNode): void {
    if (this.validated.has(document)) return;
    const errors = validate(schema, document);
    if (errors.length) throw fromGraphQLErrors(errors.map((e) => ({ message: e.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })));
    this.validated.add(document);
  }

  async execute<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    this.check(document);
    const result = (await execute({ schema, document, variableValues: variables, contextValue: await this.context() })) as ExecutionResult<R>;
    if (result.errors?.length) throw fromGraphQLErrors(result.errors.map((error) => this.mask(error)));
    return result.data as R;
  }

  subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: V, sink: SubscriptionSink<R>): () => void {
    let ended = false;
    let iterator: AsyncIterator<ExecutionResult<R>> | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      this.subscriptions.delete(end);
      void iterator?.return?.();
    };
    this.subscriptions.add(end);
    const fail = (error: unknown) => {
      if (ended) return;
      end();
      sink.error(error instanceof DbServicesError ? error : fromGraphQLErrors([this.mask(error)]));
    };
    void (async () => {
      this.check(document);
      const contextValue = await this.context();
      const started = await subscribe({ schema, document, variableValues: variables, contextValue });
      if (!(Symbol.asyncIterator in started)) return fail(fromGraphQLErrors((started.errors ?? []).map((error) => this.mask(error))));
      iterator = started as AsyncIterator<ExecutionResult<R>>;
      if (ended) return void iterator.return?.();
      for (;;) {
        const { value, done } = await iterator.next();
        if (done || ended) break;
        if (value.errors?.length) return fail(fromGraphQLErrors(value.errors.map((error) => this.mask(error))));
        sink.next(value.data as R);
      }
      // The server ended the stream (it stopped): say so rather than fall silent.
      if (!ended) fail(new DbServicesError('UNAVAILABLE', 'the change stream ended: dbServices was closed'));
    })().catch(fail);
    return end;
  }

  /** The server's one error policy (src/schema/errors.ts), as the shape dbServices' errors are made from. */
  private mask(error: unknown): GraphQLErrorLike {
    if (error instanceof DbServicesError) return { message: error.message, extensions: { code: error.code, ...error.details } };
    const masked = this.maskError(error);
    return { message: masked.message, extensions: { ...masked.extensions } };
  }

  async close(): Promise<void> {
    for (const end of [...this.subscriptions]) end();
    const services = await this.services?.catch(() => undefined);
    this.services = undefined;
    if (services) await closeAppServices(services);
  }
}

const isLogLevel = (value: string | undefined): value is LogLevel => (logLevels as readonly string[]).includes(value ?? '');
