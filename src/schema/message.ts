import type { MessageRow } from '../db/system-tables.js';
import * as messages from '../resolvers/messages.js';
import { builder } from './builder.js';
import { ConversationRef } from './conversation.js';
import { rowKey } from '../resolvers/loaders.js';

export const MessageDirectionEnum = builder.enumType('MessageDirection', {
  values: { INBOUND: { value: 'inbound' }, OUTBOUND: { value: 'outbound' } } as const,
});

export const MessageRef = builder.objectRef<MessageRow>('Message').implement({
  description: 'One message of a conversation (the system table `messages`).',
  fields: (t) => ({
    id: t.exposeID('id'),
    conversation: t.field({ type: ConversationRef, resolve: (message, _args, ctx) => ctx.loaders.conversations.load(rowKey(message.schema, message.conversationId)) }),
    direction: t.field({ type: MessageDirectionEnum, resolve: (message) => message.direction }),
    body: t.exposeString('body', { nullable: true }),
    payload: t.field({ type: 'JSON', nullable: true, resolve: (message) => message.payload }),
    createdAt: t.field({ type: 'DateTime', resolve: (message) => message.createdAt }),
  }),
});

// Conversation.messages lives here: the Message type must exist before a field can return it.
builder.objectField(ConversationRef, 'messages', (t) =>
  t.field({
    type: [MessageRef],
    description: 'Oldest first. `after`: the id of the last message of the previous page.',
    args: { first: t.arg.int({ defaultValue: 50 }), after: t.arg.string() },
    // Every conversation of the query with the same `first`/`after` shares one loader: one statement.
    resolve: (conversation, args, ctx) => messages.messagesOf(ctx, conversation, args),
  }),
);

const MessageInput = builder.inputType('MessageInput', {
  fields: (t) => ({
    phone: t.string({ required: true, description: 'E.164; the contact is created when new.' }),
    direction: t.field({ type: MessageDirectionEnum, required: true }),
    body: t.string(),
    payload: t.field({ type: 'JSON' }),
    idempotencyKey: t.string({ description: 'A key seen before returns the first message and writes nothing.' }),
  }),
});

builder.mutationFields((t) => ({
  recordMessage: t.field({
    type: MessageRef,
    description: "Stores a message in the contact's open conversation, opening one when needed, and stamps lastMessageAt.",
    args: { projectId: t.arg.id({ required: true }), input: t.arg({ type: MessageInput, required: true }) },
    resolve: (_root, { projectId, input }, ctx) => messages.recordMessage(ctx, String(projectId), input),
  }),
}));
