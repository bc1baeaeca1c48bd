import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { DbServicesError } from './errors.js';
import * as ops from './generated/graphql.js';
import { subscribeWhenReady, type Transport } from './transport.js';

export type Row = Record<string, unknown>;
export type Contact = ops.ContactFieldsFragment;
export type Conversation = ops.ConversationFieldsFragment;
export type Message = ops.RecordMessageMutation['recordMessage'];
export type RowChange = ops.RowChangesSubscription['rowChanges'];
export type SqlResult = ops.RunSqlMutation['sql'];
export type TableInfo = ops.TableFieldsFragment;
export type ColumnType = ops.ColumnType | Lowercase<ops.ColumnType>;
export type Direction = ops.MessageDirection | Lowercase<ops.MessageDirection>;

/** A column for tables.ensure: the API's ColumnInput, with the type in either case ('text' or 'TEXT'). */
export interface ColumnSpec extends Omit<ops.ColumnInput, 'type'> {
  type: ColumnType;
}

export interface MessageSpec extends Omit<ops.MessageInput, 'direction'> {
  direction: Direction;
}

export interface FindOptions {
  /** The row filter language of Table.rows: { col: { _eq: 1 } }, _and, _or, _not. */
  where?: unknown;
  orderBy?: { column: string; direction?: 'ASC' | 'DESC' | 'asc' | 'desc' }[];
  /** @default 100 */
  first?: number;
  /** endCursor of a previous page. */
  after?: string;
}

export interface RowPage {
  rows: Row[];
  hasNextPage: boolean;
  /** Null when the page is empty, or when the order is not by a unique key (see Table.rows). */
  endCursor: string | null;
}

export interface SubscribeOptions {
  /** Only changes whose row (or old row, for DELETE) matches, as in rows.find. */
  where?: unknown;
  /** Resume after this change's cursor: every later change is delivered, none twice. */
  since?: string;
  /** Called once if the subscription fails or ends; the default logs to stderr. */
  onError?: (error: DbServicesError) => void;
}

/** The helpers bot code uses. Every one throws DbServicesError, never a raw GraphQL response. */
export interface DbServices {
  /** 'in-process' (execute on the schema in this process) or 'remote' (HTTP/WebSocket to a server). */
  readonly transport: 'in-process' | 'remote';
  contacts: {
    get(phone: string): Promise<Contact | null>;
    /** Upsert by phone (E.164): a field left out keeps its stored value, a null clears it. */
    upsert(contact: { phone: string; name?: string | null; profile?: unknown }): Promise<Contact>;
  };
  conversations: {
    /** The open conversation of this phone, started (with the contact) if there is none. */
    current(phone: string): Promise<Conversation>;
    setState(conversationId: string, state: unknown): Promise<Conversation>;
    close(conversationId: string): Promise<Conversation>;
  };
  messages: {
    /** Stores a message in the contact's open conversation. A retry with the same idempotencyKey returns the first message and writes nothing. */
    record(message: MessageSpec): Promise<Message>;
  };
  rows: {
    /** One page of rows (at most `first`, default 100). */
    find(table: string, options?: FindOptions): Promise<Row[]>;
    /** Like find, with where the page ends: pass `endCursor` as `after` for the next page. */
    findPage(table: string, options?: FindOptions): Promise<RowPage>;
    insert(table: string, row: Row): Promise<Row>;
    insert(table: string, rows: Row[]): Promise<Row[]>;
    update(table: string, where: unknown, set: Row): Promise<Row[]>;
    delete(table: string, where: unknown): Promise<Row[]>;
    upsert(table: string, rows: Row | Row[], onConflict: string[]): Promise<Row[]>;
  };
  tables: {
    /** Creates the table if missing and adds missing columns. Never drops or changes anything that exists. */
    ensure(name: string, columns: ColumnSpec[], options?: { primaryKey?: string[] }): Promise<TableInfo>;
  };
  /** One SQL statement as the project's own login role: its tables only, 5 s timeout, at most 1000 rows. */
  query(sql: string, params?: unknown[]): Promise<SqlResult>;
  /** The same row changes a dashboard receives. Returns a function that ends the subscription. */
  subscribe(table: string, options: SubscribeOptions, onChange: (change: RowChange) => void): () => void;
  /** Ends subscriptions and connections. */
  close(): Promise<void>;
}

const upper = <T extends string>(value: T) => value.toUpperCase() as Uppercase<T>;

const columnInput = (column: ColumnSpec): ops.ColumnInput => ({ ...column, type: upper(column.type) as ops.ColumnType });

/** The helpers, written once over any Transport. */
export function createHelpers(transport: Transport): DbServices {
  const run = async <R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, variables: (projectId: string) => V) =>
    transport.execute(document, variables(await transport.projectId()));

  const table = async (name: string): Promise<TableInfo | null> =>
    (await run(ops.GetTableDocument, (projectId) => ({ projectId, name }))).project?.table ?? null;

  const ensure = async (name: string, columns: ColumnSpec[], options: { primaryKey?: string[] } = {}): Promise<TableInfo> => {
    let existing = await table(name);
    if (!existing) {
      try {
        const input = { name, columns: columns.map(columnInput), ...(options.primaryKey ? { primaryKey: options.primaryKey } : {}) };
        return (await run(ops.CreateTableDocument, (projectId) => ({ projectId, input }))).createTable;
      } catch (error) {
        // Another process created it first: go on as if it had been there.
        if (!(error instanceof DbServicesError && error.code === 'CONFLICT')) throw error;
        existing = await table(name);
        if (!existing) throw error;
      }
    }
    const have = new Set(existing.columns.map((column) => column.name));
    let added = false;
    for (const column of columns.filter((c) => !have.has(c.name))) {
      try {
        await run(ops.AddColumnDocument, (projectId) => ({ projectId, table: name, column: columnInput(column) }));
        added = true;
      } catch (error) {
        if (!(error instanceof DbServicesError && error.code === 'CONFLICT')) throw error;
      }
    }
    return added ? (await table(name))! : existing;
  };

  const findPage = async (name: string, options: FindOptions = {}): Promise<RowPage> => {
    const orderBy = options.orderBy?.map((o) => ({ column: o.column, direction: o.direction ? (upper(o.direction) as ops.SortDirection) : undefined }));
    const projectId = await transport.projectId();
    const { project } = await transport.execute(ops.FindRowsDocument, { projectId, table: name, where: options.where, orderBy, first: options.first, after: options.after });
    // The query answers null rather than an error: name what is missing, as the mutations do.
    if (!project) throw new DbServicesError('NOT_FOUND', `project "${projectId}" not found`);
    if (!project.table) throw new DbServicesError('NOT_FOUND', `table "${name}" not found`);
    const { nodes, pageInfo } = project.table.rows;
    return { rows: nodes, hasNextPage: pageInfo.hasNextPage, endCursor: pageInfo.endCursor ?? null };
  };
  const insert = async (name: string, rows: Row | Row[]) => {
    const list = Array.isArray(rows) ? rows : [rows];
    const { insertRows } = await run(ops.InsertRowsDocument, (projectId) => ({ projectId, table: name, rows: list }));
    return Array.isArray(rows) ? insertRows : insertRows[0]!;
  };

  return {
    transport: transport.kind,
    contacts: {
      get: async (phone) => (await run(ops.GetContactDocument, (projectId) => ({ projectId, phone }))).contact,
      upsert: async (input) => (await run(ops.UpsertContactDocument, (projectId) => ({ projectId, input }))).upsertContact,
    },
    conversations: {
      current: async (phone) => (await run(ops.CurrentConversationDocument, (projectId) => ({ projectId, phone }))).ensureConversation,
      setState: async (conversationId, state) =>
        (await run(ops.SetConversationStateDocument, (projectId) => ({ projectId, conversationId, state }))).setConversationState,
      close: async (conversationId) => (await run(ops.CloseConversationDocument, (projectId) => ({ projectId, conversationId }))).closeConversation,
    },
    messages: {
      record: async (message) => {
        const input = { ...message, direction: upper(message.direction) as ops.MessageDirection };
        return (await run(ops.RecordMessageDocument, (projectId) => ({ projectId, input }))).recordMessage;
      },
    },
    rows: {
      find: async (name, options) => (await findPage(name, options)).rows,
      findPage: (name, options) => findPage(name, options),
      insert: insert as DbServices['rows']['insert'],
      update: async (name, where, set) => (await run(ops.UpdateRowsDocument, (projectId) => ({ projectId, table: name, where, set }))).updateRows,
      delete: async (name, where) => (await run(ops.DeleteRowsDocument, (projectId) => ({ projectId, table: name, where }))).deleteRows,
      upsert: async (name, rows, onConflict) =>
        (await run(ops.UpsertRowsDocument, (projectId) => ({ projectId, table: name, rows: Array.isArray(rows) ? rows : [rows], onConflict }))).upsertRows,
    },
    tables: { ensure },
    query: async (text, params) => (await run(ops.RunSqlDocument, (projectId) => ({ projectId, text, params }))).sql,
    subscribe: (name, options, onChange) => {
      const onError = options.onError ?? ((error: DbServicesError) => console.error(`dbServices: subscription to "${name}" ended: ${error.code}: ${error.message}`));
      return subscribeWhenReady(
        transport.projectId(),
        (projectId) =>
          transport.subscribe(ops.RowChangesDocument, { projectId, table: name, where: options.where, since: options.since }, {
            next: (data) => onChange(data.rowChanges),
            error: (error) => onError(error instanceof DbServicesError ? error : new DbServicesError('INTERNAL_SERVER_ERROR', error.message)),
          }),
        (error) => onError(error instanceof DbServicesError ? error : new DbServicesError('INTERNAL_SERVER_ERROR', String(error))),
      );
    },
    close: () => transport.close(),
  };
}
