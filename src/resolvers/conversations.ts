import * as systemTables from '../db/system-tables.js';
import type { ConversationRow, ConversationStatus } from '../db/system-tables.js';
import { badInput, notFound } from '../domain/errors.js';
import { requireProject } from './access.js';
import { parsePhone } from './contacts.js';
import type { Context } from './context.js';

/** The most a page of conversations or messages may hold. */
export const MAX_PAGE = 500;

/** A system-table id (bigint identity) as text, or BAD_USER_INPUT naming the argument. */
export function parseRowId(value: string, field: string): string {
  if (/^[1-9]\d{0,18}$/.test(value) && BigInt(value) <= 9223372036854775807n) return value;
  throw badInput(`${field}: ${JSON.stringify(value)} is not an id (a positive integer)`, { field, value });
}

/** `first` of a page, 0..MAX_PAGE. */
export function parseFirst(first: number | null | undefined, fallback: number): number {
  const value = first ?? fallback;
  if (value < 0 || value > MAX_PAGE) throw badInput(`first: must be between 0 and ${MAX_PAGE}, got ${value}`, { field: 'first', value });
  return value;
}

export interface ConversationsArgs {
  status?: ConversationStatus | null;
  first?: number | null;
  /** The id of the last conversation of the previous page (newest first). */
  after?: string | null;
}

export async function listConversations(ctx: Context, projectId: string, args: ConversationsArgs): Promise<ConversationRow[]> {
  const project = await requireProject(ctx, projectId);
  return systemTables.listConversations(ctx.pg, project.schemaName, {
    status: args.status ?? undefined,
    first: parseFirst(args.first, 50),
    after: args.after ? parseRowId(args.after, 'after') : undefined,
  });
}

/** The phone's open conversation, opened (with the contact) when there is none. */
export async function currentConversation(ctx: Context, projectId: string, phone: string): Promise<ConversationRow> {
  const project = await requireProject(ctx, projectId);
  return systemTables.currentConversation(ctx.pg, ctx.actor, project.schemaName, parsePhone(phone));
}

export async function setConversationState(ctx: Context, projectId: string, conversationId: string, state: unknown): Promise<ConversationRow> {
  const project = await requireProject(ctx, projectId);
  const id = parseRowId(conversationId, 'conversationId');
  const updated = await systemTables.setConversationState(ctx.pg, ctx.actor, project.schemaName, id, state);
  if (!updated) throw notFound(`conversation "${conversationId}"`);
  return updated;
}

/** Closing a closed conversation returns it unchanged. */
export async function closeConversation(ctx: Context, projectId: string, conversationId: string): Promise<ConversationRow> {
  const project = await requireProject(ctx, projectId);
  const id = parseRowId(conversationId, 'conversationId');
  const closed = await systemTables.closeConversation(ctx.pg, ctx.actor, project.schemaName, id);
  if (!closed) throw notFound(`conversation "${conversationId}"`);
  return closed;
}
