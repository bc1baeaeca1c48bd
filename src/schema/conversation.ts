import type { ConversationRow } from '../db/system-tables.js';
import * as conversations from '../resolvers/conversations.js';
import { builder } from './builder.js';
import { ContactRef } from './contact.js';
import { rowKey } from '../resolvers/loaders.js';

export const ConversationStatusEnum = builder.enumType('ConversationStatus', {
  values: { OPEN: { value: 'open' }, CLOSED: { value: 'closed' } } as const,
});

export const ConversationRef = builder.objectRef<ConversationRow>('Conversation').implement({
  description: 'A thread of messages with one contact; a contact has at most one OPEN conversation.',
  fields: (t) => ({
    id: t.exposeID('id'),
    // Batched per operation: a page of conversations reads its contacts in one statement.
    contact: t.field({ type: ContactRef, resolve: (conversation, _args, ctx) => ctx.loaders.contacts.load(rowKey(conversation.schema, conversation.contactId)) }),
    status: t.field({ type: ConversationStatusEnum, resolve: (conversation) => conversation.status }),
    state: t.field({ type: 'JSON', nullable: true, description: "The bot's current state for this conversation.", resolve: (c) => c.state }),
    startedAt: t.field({ type: 'DateTime', resolve: (conversation) => conversation.startedAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (conversation) => conversation.updatedAt }),
    lastMessageAt: t.field({ type: 'DateTime', nullable: true, resolve: (conversation) => conversation.lastMessageAt }),
  }),
});

builder.queryFields((t) => ({
  conversations: t.field({
    type: [ConversationRef],
    description: 'Newest first. `after`: the id of the last conversation of the previous page.',
    args: {
      projectId: t.arg.id({ required: true }),
      status: t.arg({ type: ConversationStatusEnum }),
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string(),
    },
    resolve: (_root, { projectId, ...args }, ctx) => conversations.listConversations(ctx, String(projectId), args),
  }),
}));

builder.mutationFields((t) => ({
  ensureConversation: t.field({
    type: ConversationRef,
    description: "The phone's open conversation; opens one (creating the contact) when there is none.",
    args: { projectId: t.arg.id({ required: true }), phone: t.arg.string({ required: true }) },
    resolve: (_root, { projectId, phone }, ctx) => conversations.currentConversation(ctx, String(projectId), phone),
  }),
  setConversationState: t.field({
    type: ConversationRef,
    args: { projectId: t.arg.id({ required: true }), conversationId: t.arg.id({ required: true }), state: t.arg({ type: 'JSON', required: true }) },
    resolve: (_root, { projectId, conversationId, state }, ctx) =>
      conversations.setConversationState(ctx, String(projectId), String(conversationId), state),
  }),
  closeConversation: t.field({
    type: ConversationRef,
    description: 'Closing a closed conversation returns it unchanged. The next message opens a new one.',
    args: { projectId: t.arg.id({ required: true }), conversationId: t.arg.id({ required: true }) },
    resolve: (_root, { projectId, conversationId }, ctx) => conversations.closeConversation(ctx, String(projectId), String(conversationId)),
  }),
}));
