import { execute, GraphQLError, subscribe, validate, type DocumentNode, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { ConfigError, logLevels, parseConfig, type LogLevel } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { closeAppServices, createContext, openAppServices, type AppServices } from '../app-services.js';
import { createMaskError, type MaskError } from '../schema/errors.js';
import { mapPgError } from '../db/pg-errors.js';
import { databaseTarget, databaseUrlFile, readDatabaseUrlFile } from '../db/database-url.js';
import type { Context } from '../resolvers/context.js';
import { schema } from '../schema/index.js';
import { DbServicesError, fromGraphQLErrors, type GraphQLErrorLike } from './errors.js';
import type { SubscriptionSink, Transport } from './transport.js';
import type { DatabaseSource } from './settings.js';

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

  /** The database connected to (once known), for messages. */
  private url: string | undefined;

  constructor(
    private readonly settings: { projectId: string; database: DatabaseSource; logLevel?: string | undefined },
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
      this.services = this.databaseUrl().then((url) => {
        let config;
        try {
          config = parseConfig({ DATABASE_URL: url, LOG_LEVEL: this.logLevel });
        } catch (error) {
          if (error instanceof ConfigError) throw new DbServicesError('CONFIGURATION', `dbServices: ${error.message.replace(/^paige-db: /, '')}`, { setting: error.variable });
          throw error;
        }
        this.url = url;
        return openAppServices(config, this.log);
      });
      // A failed open is tried again (the data dir's file read again) by the next call.
      this.services.catch(() => (this.services = undefined));
    }
    return this.services;
  }

  /** DATABASE_URL as given, or the URL a running paige-db wrote in its data dir (see src/db/database-url.ts). */
  private async databaseUrl(): Promise<string> {
    const { database } = this.settings;
    if ('databaseUrl' in database) return database.databaseUrl;
    const file = databaseUrlFile(database.dataDir);
    let url;
    try {
      url = await readDatabaseUrlFile(database.dataDir);
    } catch (error) {
      throw new DbServicesError('CONFIGURATION', `dbServices: cannot read ${file}: ${(error as Error).message}`, { setting: 'PAIGE_DATA_DIR' });
    }
    if (url) return url;
    throw new DbServicesError(
      'CONFIGURATION',
      `dbServices: ${file} does not exist: start paige-db first (npm start with PAIGE_DATA_DIR=${database.dataDir} and no DATABASE_URL); while it runs, it keeps the embedded Postgres's address there`,
      { setting: 'PAIGE_DATA_DIR' },
    );
  }

  /**
   * Why Postgres could not be used, as a DbServicesError that names what was tried
   * (host:port/database, never the password): UNAVAILABLE when it does not answer (worth
   * retrying), CONFIGURATION when it answers no (wrong password, no such database, bad host).
   */
  private connectionError(error: unknown): DbServicesError {
    if (error instanceof DbServicesError) return error;
    const { database } = this.settings;
    const setting = 'databaseUrl' in database ? 'DATABASE_URL' : 'PAIGE_DATA_DIR';
    const target = this.url ? databaseTarget(this.url) : 'the database';
    const reason = error instanceof Error ? error.message : String(error);
    if (mapPgError(error)?.code === 'UNAVAILABLE') {
      const origin = 'dataDir' in database
        ? `; that address is from ${databaseUrlFile(database.dataDir)}, written at paige-db's last start: is paige-db running? (Restarted since? Then restart this process too: the port changes at every start.)`
        : '';
      return new DbServicesError('UNAVAILABLE', `dbServices: the database at ${target} cannot be reached (${reason})${origin}`, { database: target });
    }
    const code = (error as { code?: unknown }).code;
    if (code === '28P01' || code === '28000' || code === '3D000' || code === 'EINVAL') {
      return new DbServicesError('CONFIGURATION', `dbServices: connecting to the database at ${target} failed: ${reason}`, { setting, database: target });
    }
    return new DbServicesError('INTERNAL_SERVER_ERROR', `dbServices: opening the database at ${target} failed: ${reason}`, { database: target });
  }

  /**
   * A fresh context per operation (its loaders live on it), scoped to the project exactly as a
   * project API key would be; keyId names the caller in logs. Opening the services connects the
   * process's one LISTEN connection, so the metadata cache is trusted from the first call.
   */
  private async context(): Promise<Context> {
    let services;
    try {
      services = await this.open();
    } catch (error) {
      throw this.connectionError(error);
    }
    return createContext(services, { kind: 'project', projectId: this.settings.projectId, keyId: 'in-process', keyName: 'in-process' }, { kind: 'IN_PROCESS' });
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
      // With capture from the WAL, events exist only while some process holds the slot: bot code
      // that subscribes stands for it too, so its events come with no paige-db server running.
      void this.services?.then((services) => services.capture.leader?.start());
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
    // Postgres not answering is told as what was tried to reach (host:port/database), not the server's words.
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    if (mapPgError(original)?.code === 'UNAVAILABLE') {
      const unavailable = this.connectionError(original);
      return { message: unavailable.message, extensions: { code: unavailable.code, ...unavailable.details } };
    }
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
