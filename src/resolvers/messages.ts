import * as systemTables from '../db/system-tables.js';
import type { MessageDirection, MessageRow } from '../db/system-tables.js';
import { badInput } from '../domain/errors.js';
import { requireProject } from './access.js';
import { loadBySchema, parsePhone } from './contacts.js';
import type { Context } from './context.js';
import { parseFirst, parseRowId } from './conversations.js';

/** Batch function of Conversation.messages: keys `schema:conversationId`, one statement per schema. */
export async function loadMessagesOfConversations(
  ctx: Context,
  keys: readonly string[],
  page: { first?: number | null; after?: string | null },
): Promise<MessageRow[][]> {
  const first = parseFirst(page.first, 50);
  const after = page.after ? parseRowId(page.after, 'after') : undefined;
  const rows = await loadBySchema(keys, (schema, ids) => systemTables.messagesOfConversations(ctx.db.pool, schema, ids, first, after));
  const byConversation = new Map<string, MessageRow[]>();
  for (const row of rows) {
    const key = `${row.schema}:${row.conversationId}`;
    const list = byConversation.get(key);
    if (list) list.push(row);
    else byConversation.set(key, [row]);
  }
  return keys.map((key) => byConversation.get(key) ?? []);
}

export interface MessageInput {
  phone: string;
  direction: MessageDirection;
  body?: string | null;
  payload?: unknown;
  idempotencyKey?: string | null;
}

/**
 * Stores a message in the contact's open conversation, opening it (and creating the contact) when
 * needed. An idempotencyKey seen before returns the first message and writes nothing.
 */
export async function recordMessage(ctx: Context, projectId: string, input: MessageInput): Promise<MessageRow> {
  const project = await requireProject(ctx, projectId);
  const phone = parsePhone(input.phone, 'input.phone');
  const key = input.idempotencyKey;
  if (key !== undefined && key !== null && (key.length === 0 || key.length > 200)) {
    throw badInput('input.idempotencyKey: must be 1 to 200 characters', { field: 'input.idempotencyKey' });
  }
  const { message } = await systemTables.recordMessage(ctx.db.pool, project.schemaName, { ...input, phone });
  return message;
}
