import { qualify } from '../identifiers.js';

/**
 * Reads and writes of the system tables' rows (contacts, conversations, messages) of one project
 * schema. The schema name is the project's opaque `p_<id>`, quoted; every value is a `$n`.
 */

const contactColumns = /* SQL */ `id, phone, name, profile, created_at AS "createdAt", updated_at AS "updatedAt", last_seen_at AS "lastSeenAt"`;
const conversationColumns = /* SQL */ `id, contact_id AS "contactId", status, state, started_at AS "startedAt", updated_at AS "updatedAt", last_message_at AS "lastMessageAt"`;
const messageColumns = /* SQL */ `id, conversation_id AS "conversationId", direction, body, payload, idempotency_key AS "idempotencyKey", created_at AS "createdAt"`;

const contacts = (schema: string) => qualify(schema, 'contacts');
const conversations = (schema: string) => qualify(schema, 'conversations');
const messages = (schema: string) => qualify(schema, 'messages');

/** $1 phone. */
export const contactByPhoneSql = (schema: string) => /* SQL */ `SELECT ${contactColumns} FROM ${contacts(schema)} WHERE phone = $1`;

/** $1 bigint[] ids. */
export const contactsByIdsSql = (schema: string) => /* SQL */ `SELECT ${contactColumns} FROM ${contacts(schema)} WHERE id = ANY($1::bigint[])`;

/**
 * $1 phone, $2 name, $3 whether name was given, $4 profile, $5 whether profile was given.
 * A field that was not given keeps its stored value; one given as null clears it.
 */
export const upsertContactSql = (schema: string) => /* SQL */ `
  INSERT INTO ${contacts(schema)} AS c (phone, name, profile, last_seen_at)
  VALUES ($1, $2, $4::jsonb, now())
  ON CONFLICT (phone) DO UPDATE
     SET name = CASE WHEN $3 THEN EXCLUDED.name ELSE c.name END,
         profile = CASE WHEN $5 THEN EXCLUDED.profile ELSE c.profile END,
         updated_at = now(),
         last_seen_at = now()
  RETURNING ${contactColumns}`;

/**
 * The contact of a phone, created when missing; an inbound message also marks it seen.
 * $1 phone, $2 whether the contact was seen (inbound). Always returns the row: the no-op
 * `DO UPDATE` of an outbound message to a known contact is skipped by its WHERE, so the
 * second statement reads it.
 */
export const touchContactSql = (schema: string) => /* SQL */ `
  INSERT INTO ${contacts(schema)} AS c (phone, last_seen_at)
  VALUES ($1, CASE WHEN $2 THEN now() END)
  ON CONFLICT (phone) DO UPDATE SET last_seen_at = now(), updated_at = now() WHERE $2
  RETURNING id`;

/** Stamps the contact's open conversation, if any, with a new message. $1 contact id. */
export const stampOpenConversationSql = (schema: string) => /* SQL */ `
  UPDATE ${conversations(schema)} SET last_message_at = now(), updated_at = now()
   WHERE contact_id = $1 AND status = 'open'
  RETURNING ${conversationColumns}`;

/** $1 bigint[] ids. */
export const conversationsByIdsSql = (schema: string) =>
  /* SQL */ `SELECT ${conversationColumns} FROM ${conversations(schema)} WHERE id = ANY($1::bigint[])`;

/** $1 contact id. */
export const openConversationOfContactSql = (schema: string) =>
  /* SQL */ `SELECT ${conversationColumns} FROM ${conversations(schema)} WHERE contact_id = $1 AND status = 'open'`;

/**
 * Opens a conversation unless the contact has one: the partial unique index allows one open
 * conversation per contact, so a concurrent opener waits here and then inserts nothing.
 * $1 contact id.
 */
export const openConversationSql = (schema: string) => /* SQL */ `
  INSERT INTO ${conversations(schema)} (contact_id) VALUES ($1)
  ON CONFLICT (contact_id) WHERE status = 'open' DO NOTHING
  RETURNING ${conversationColumns}`;

/**
 * Opens a conversation stamped with a message, or stamps the one a concurrent writer just opened:
 * the conflict on the partial unique index turns the insert into the update, so it cannot race.
 * (Run after stampOpenConversationSql found none: the insert attempt spends an identity value.)
 * $1 contact id.
 */
export const conversationForMessageSql = (schema: string) => /* SQL */ `
  INSERT INTO ${conversations(schema)} AS v (contact_id, last_message_at) VALUES ($1, now())
  ON CONFLICT (contact_id) WHERE status = 'open' DO UPDATE SET last_message_at = now(), updated_at = now()
  RETURNING ${conversationColumns}`;

/** $1 status ('open' | 'closed') or NULL for all, $2 id to continue after or NULL, $3 limit. Newest first. */
export const listConversationsSql = (schema: string) => /* SQL */ `
  SELECT ${conversationColumns} FROM ${conversations(schema)}
   WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR id < $2)
   ORDER BY id DESC LIMIT $3`;

/** $1 id, $2 state (jsonb). */
export const setConversationStateSql = (schema: string) => /* SQL */ `
  UPDATE ${conversations(schema)} SET state = $2::jsonb, updated_at = now() WHERE id = $1 RETURNING ${conversationColumns}`;

/** $1 id. Only an open conversation changes, so closing twice writes once. */
export const closeConversationSql = (schema: string) => /* SQL */ `
  UPDATE ${conversations(schema)} SET status = 'closed', updated_at = now() WHERE id = $1 AND status = 'open' RETURNING ${conversationColumns}`;

/** $1 key. */
export const messageByKeySql = (schema: string) => /* SQL */ `SELECT ${messageColumns} FROM ${messages(schema)} WHERE idempotency_key = $1`;

/**
 * $1 conversation id, $2 direction, $3 body, $4 payload, $5 idempotency key. Returns nothing when
 * another transaction stored the same key first (it waits for that one to commit).
 */
export const insertMessageSql = (schema: string) => /* SQL */ `
  INSERT INTO ${messages(schema)} (conversation_id, direction, body, payload, idempotency_key)
  VALUES ($1, $2, $3, $4::jsonb, $5)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING ${messageColumns}`;

/**
 * Up to $3 messages of each conversation in $1 (bigint[]), oldest first, after message id $2 (or
 * NULL): one statement for all the conversations of a page.
 */
export const messagesOfConversationsSql = (schema: string) => /* SQL */ `
  SELECT m.* FROM unnest($1::bigint[]) AS wanted(id)
  CROSS JOIN LATERAL (
    SELECT ${messageColumns} FROM ${messages(schema)}
     WHERE conversation_id = wanted.id AND ($2::bigint IS NULL OR id > $2)
     ORDER BY id LIMIT $3
  ) AS m`;
