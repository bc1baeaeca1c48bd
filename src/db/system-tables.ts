import { inTransaction, type Queryable, type Pool } from './pool.js';
import * as sql from './sql/system-rows.sql.js';
import { markedStatement, markTransaction, stripActor } from './actor.js';
import type { Actor } from '../domain/actor.js';

/**
 * Rows of the system tables (contacts, conversations, messages) of one project schema. Every
 * row carries the schema it was read from, so per-request loaders can batch several projects.
 */

export interface ContactRow {
  schema: string;
  id: string;
  phone: string;
  name: string | null;
  profile: unknown;
  createdAt: string;
  updatedAt: string;
  lastSeenAt: string | null;
}

export type ConversationStatus = 'open' | 'closed';

export interface ConversationRow {
  schema: string;
  id: string;
  contactId: string;
  status: ConversationStatus;
  state: unknown;
  startedAt: string;
  updatedAt: string;
  lastMessageAt: string | null;
}

export type MessageDirection = 'inbound' | 'outbound';

export interface MessageRow {
  schema: string;
  id: string;
  conversationId: string;
  direction: MessageDirection;
  body: string | null;
  payload: unknown;
  idempotencyKey: string | null;
  createdAt: string;
}

/** jsonb travels as JSON text: node-postgres would send a bare string unquoted. */
const jsonParam = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

async function rows<T>(db: Queryable, schema: string, text: string, params: unknown[]): Promise<T[]> {
  const result = await db.query(text, params);
  return result.rows.map((row) => ({ schema, ...row }) as T);
}

/** A single writing statement (ending in RETURNING), marked with its actor within itself. */
async function writtenRows<T>(db: Queryable, actor: Actor, schema: string, text: string, params: unknown[]): Promise<T[]> {
  const statement = markedStatement({ text, values: params }, actor);
  return stripActor(await rows<T & Record<string, unknown>>(db, schema, statement.text, statement.values));
}

export async function contactByPhone(db: Queryable, schema: string, phone: string): Promise<ContactRow | undefined> {
  return (await rows<ContactRow>(db, schema, sql.contactByPhoneSql(schema), [phone]))[0];
}

export function contactsByIds(db: Queryable, schema: string, ids: readonly string[]): Promise<ContactRow[]> {
  return rows<ContactRow>(db, schema, sql.contactsByIdsSql(schema), [ids]);
}

export interface ContactFields {
  phone: string;
  /** undefined keeps the stored name; null clears it. */
  name?: string | null;
  /** undefined keeps the stored profile; null clears it. */
  profile?: unknown;
}

/** Inserts or updates the contact with this phone; it counts as seen now. */
export async function upsertContact(db: Queryable, actor: Actor, schema: string, input: ContactFields): Promise<ContactRow> {
  const params = [input.phone, input.name ?? null, input.name !== undefined, jsonParam(input.profile), input.profile !== undefined];
  return (await writtenRows<ContactRow>(db, actor, schema, sql.upsertContactSql(schema), params))[0]!;
}

/** The contact's id, creating the contact when missing; `seen` stamps last_seen_at. */
async function contactIdFor(db: Queryable, schema: string, phone: string, seen: boolean): Promise<string> {
  const touched = await db.query<{ id: string }>(sql.touchContactSql(schema), [phone, seen]);
  if (touched.rows[0]) return touched.rows[0].id;
  const existing = await contactByPhone(db, schema, phone);
  if (!existing) throw new Error(`contact ${phone} vanished while being touched`);
  return existing.id;
}

export function conversationsByIds(db: Queryable, schema: string, ids: readonly string[]): Promise<ConversationRow[]> {
  return rows<ConversationRow>(db, schema, sql.conversationsByIdsSql(schema), [ids]);
}

export interface ConversationPage {
  status?: ConversationStatus;
  /** Continue after this conversation id (newest first). */
  after?: string;
  first: number;
}

export function listConversations(db: Queryable, schema: string, page: ConversationPage): Promise<ConversationRow[]> {
  return rows<ConversationRow>(db, schema, sql.listConversationsSql(schema), [page.status ?? null, page.after ?? null, page.first]);
}

/**
 * The phone's open conversation, opening one (and creating the contact) when there is none.
 * A concurrent opener of the same contact makes our insert a no-op; we then read theirs.
 */
export async function currentConversation(pool: Pool, actor: Actor, schema: string, phone: string): Promise<ConversationRow> {
  return inTransaction(pool, async (client) => {
    await markTransaction(client, actor);
    const contactId = await contactIdFor(client, schema, phone, false);
    for (let attempt = 0; attempt < 3; attempt++) {
      const [open] = await rows<ConversationRow>(client, schema, sql.openConversationOfContactSql(schema), [contactId]);
      if (open) return open;
      const [opened] = await rows<ConversationRow>(client, schema, sql.openConversationSql(schema), [contactId]);
      if (opened) return opened;
    }
    // Only reachable if another writer keeps opening and closing this contact's conversation.
    throw new Error(`could not open a conversation for contact ${contactId}`);
  });
}

export async function setConversationState(db: Queryable, actor: Actor, schema: string, id: string, state: unknown): Promise<ConversationRow | undefined> {
  return (await writtenRows<ConversationRow>(db, actor, schema, sql.setConversationStateSql(schema), [id, jsonParam(state)]))[0];
}

/** Closes an open conversation; a closed one is returned unchanged; undefined when there is none. */
export async function closeConversation(db: Queryable, actor: Actor, schema: string, id: string): Promise<ConversationRow | undefined> {
  const [closed] = await writtenRows<ConversationRow>(db, actor, schema, sql.closeConversationSql(schema), [id]);
  return closed ?? (await conversationsByIds(db, schema, [id]))[0];
}

/** Up to `first` messages of each conversation, oldest first, after message id `after`. */
export function messagesOfConversations(db: Queryable, schema: string, ids: readonly string[], first: number, after?: string): Promise<MessageRow[]> {
  return rows<MessageRow>(db, schema, sql.messagesOfConversationsSql(schema), [ids, after ?? null, first]);
}

export interface MessageFields {
  phone: string;
  direction: MessageDirection;
  body?: string | null;
  payload?: unknown;
  idempotencyKey?: string | null;
}

/** Thrown inside the transaction to undo it when another writer stored the same key first. */
class KeyTaken extends Error {}

/**
 * Stores a message in the contact's open conversation (creating contact and conversation as
 * needed) and stamps last_message_at. A key seen before returns the first message and writes
 * nothing: the common retry is answered by a read; a concurrent one loses the insert, rolls
 * back its contact and conversation writes, and reads the winner's message.
 */
export async function recordMessage(pool: Pool, actor: Actor, schema: string, input: MessageFields): Promise<{ message: MessageRow; created: boolean }> {
  const key = input.idempotencyKey ?? null;
  if (key !== null) {
    const [seen] = await rows<MessageRow>(pool, schema, sql.messageByKeySql(schema), [key]);
    if (seen) return { message: seen, created: false };
  }
  try {
    const message = await inTransaction(pool, async (client) => {
      await markTransaction(client, actor);
      const contactId = await contactIdFor(client, schema, input.phone, input.direction === 'inbound');
      // The open conversation is the common case; opening one is the rare one that must not race.
      const [stamped] = await rows<ConversationRow>(client, schema, sql.stampOpenConversationSql(schema), [contactId]);
      const conversation = stamped ?? (await rows<ConversationRow>(client, schema, sql.conversationForMessageSql(schema), [contactId]))[0]!;
      const params = [conversation.id, input.direction, input.body ?? null, jsonParam(input.payload), key];
      const [inserted] = await rows<MessageRow>(client, schema, sql.insertMessageSql(schema), params);
      if (!inserted) throw new KeyTaken();
      return inserted;
    });
    return { message, created: true };
  } catch (error) {
    if (!(error instanceof KeyTaken)) throw error;
    const [first] = await rows<MessageRow>(pool, schema, sql.messageByKeySql(schema), [key]);
    return { message: first!, created: false };
  }
}
