import DataLoader from 'dataloader';
import { notFound } from '../domain/errors.js';
import type { TableInfo } from '../domain/tables.js';
import { readTables } from '../db/catalog.js';
import type { MetadataCache } from '../db/metadata-cache.js';
import type { Pool } from '../db/pool.js';
import { projectsByIds, type Project } from '../db/projects.js';
import * as systemTables from '../db/system-tables.js';
import type { ContactRow, ConversationRow, MessageRow } from '../db/system-tables.js';

/** A system-table row's key in the loaders: its project schema and its id. */
export const rowKey = (schema: string, id: string) => `${schema}:${id}`;

/** Splits keys by schema and loads each schema's rows in one statement (schemas are `p_<hex>`: no colon). */
async function loadBySchema<T>(keys: readonly string[], load: (schema: string, ids: string[]) => Promise<T[]>): Promise<T[]> {
  const bySchema = new Map<string, string[]>();
  for (const key of keys) {
    const colon = key.indexOf(':');
    const schema = key.slice(0, colon);
    const ids = bySchema.get(schema);
    if (ids) ids.push(key.slice(colon + 1));
    else bySchema.set(schema, [key.slice(colon + 1)]);
  }
  return (await Promise.all([...bySchema].map(([schema, ids]) => load(schema, ids)))).flat();
}

/** Rows in the order of `keys`; a key without a row is NOT_FOUND naming `what`. */
function byKey<T extends { schema: string; id: string }>(keys: readonly string[], rows: T[], what: string): (T | Error)[] {
  const found = new Map(rows.map((row) => [rowKey(row.schema, row.id), row]));
  return keys.map((key) => found.get(key) ?? notFound(`${what} "${key.slice(key.indexOf(':') + 1)}"`));
}

export interface MessagePage {
  first: number;
  after: string | undefined;
}

/**
 * Everything one operation batches or remembers, created with its context and gone with it: the
 * one batching mechanism of the API (DataLoader), for the resolvers' own lookups (a project, a
 * schema's tables) and for the fields that load rows of the system tables alike. Loads asked for
 * in one tick are one statement: `projects { tables }` reads the catalog once, a page of messages
 * loads all their conversations in one statement.
 */
export interface Loaders {
  /** Projects by id, through the process's metadata cache. */
  projects: DataLoader<string, Project | undefined>;
  /** Tables (with columns and keys) by schema, through the metadata cache; the rest in one catalog statement. */
  tables: DataLoader<string, TableInfo[]>;
  /** Schemas this operation has read from the catalog itself: a retry on them would learn nothing new. */
  freshSchemas: Set<string>;
  contacts: DataLoader<string, ContactRow>;
  conversations: DataLoader<string, ConversationRow>;
  /** The messages of conversations (by rowKey), one loader per page of arguments. */
  messages(page: MessagePage): DataLoader<string, MessageRow[]>;
}

export function createLoaders(pg: Pool, metadata: MetadataCache): Loaders {
  const freshSchemas = new Set<string>();
  const messagePages = new Map<string, DataLoader<string, MessageRow[]>>();
  return {
    freshSchemas,
    projects: new DataLoader((ids) =>
      Promise.all(ids.map((id) => metadata.project(id, async () => (await projectsByIds(pg, [id]))[0])))),
    tables: new DataLoader(async (schemas) => {
      const { found, missing } = metadata.cachedTables(schemas);
      if (missing.length > 0) {
        const read = await metadata.readTables(async () => {
          const tables = await readTables(pg, missing);
          return new Map(missing.map((schema) => [schema, tables.filter((table) => table.schema === schema)]));
        });
        for (const [schema, tables] of read) found.set(schema, tables);
        for (const schema of missing) freshSchemas.add(schema);
      }
      return schemas.map((schema) => found.get(schema) ?? []);
    }),
    contacts: new DataLoader(async (keys) => byKey(keys, await loadBySchema(keys, (schema, ids) => systemTables.contactsByIds(pg, schema, ids)), 'contact')),
    conversations: new DataLoader(async (keys) =>
      byKey(keys, await loadBySchema(keys, (schema, ids) => systemTables.conversationsByIds(pg, schema, ids)), 'conversation')),
    messages(page) {
      const pageKey = `${page.first}:${page.after ?? ''}`;
      let loader = messagePages.get(pageKey);
      if (!loader) {
        loader = new DataLoader(async (keys) => {
          const rows = await loadBySchema(keys, (schema, ids) => systemTables.messagesOfConversations(pg, schema, ids, page.first, page.after));
          const byConversation = new Map<string, MessageRow[]>();
          for (const row of rows) {
            const key = rowKey(row.schema, row.conversationId);
            const list = byConversation.get(key);
            if (list) list.push(row);
            else byConversation.set(key, [row]);
          }
          return keys.map((key) => byConversation.get(key) ?? []);
        });
        messagePages.set(pageKey, loader);
      }
      return loader;
    },
  };
}
