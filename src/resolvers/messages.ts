import * as systemTables from '../db/system-tables.js';
import type { ConversationRow, MessageDirection, MessageRow } from '../db/system-tables.js';
import { badInput } from '../domain/errors.js';
import { requireProject } from './access.js';
import { parsePhone } from './contacts.js';
import { rowKey } from './loaders.js';
import type { Context } from './context.js';
import { parseFirst, parseRowId } from './conversations.js';

/** Conversation.messages: a page of each conversation's messages, one statement for all the conversations of a query. */
export function messagesOf(ctx: Context, conversation: ConversationRow, page: { first?: number | null; after?: string | null }): Promise<MessageRow[]> {
  const first = parseFirst(page.first, 50);
  const after = page.after ? parseRowId(page.after, 'after') : undefined;
  return ctx.loaders.messages({ first, after }).load(rowKey(conversation.schema, conversation.id));
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
  const { message } = await systemTables.recordMessage(ctx.pg, ctx.actor, project.schemaName, { ...input, phone });
  return message;
}
