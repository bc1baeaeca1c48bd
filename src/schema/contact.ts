import type { ContactRow } from '../db/system-tables.js';
import * as contacts from '../resolvers/contacts.js';
import { builder } from './builder.js';

export const ContactRef = builder.objectRef<ContactRow>('Contact').implement({
  description: 'A person the bot talks to, one per phone number (the system table `contacts`).',
  fields: (t) => ({
    id: t.exposeID('id'),
    phone: t.exposeString('phone', { description: 'E.164, e.g. +14155550123.' }),
    name: t.exposeString('name', { nullable: true }),
    profile: t.field({ type: 'JSON', nullable: true, resolve: (contact) => contact.profile }),
    createdAt: t.field({ type: 'DateTime', resolve: (contact) => contact.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (contact) => contact.updatedAt }),
    lastSeenAt: t.field({ type: 'DateTime', nullable: true, resolve: (contact) => contact.lastSeenAt }),
  }),
});

const ContactInput = builder.inputType('ContactInput', {
  description: 'Upsert by phone: a field left out keeps its stored value, a null clears it.',
  fields: (t) => ({
    phone: t.string({ required: true, description: 'E.164, e.g. +14155550123.' }),
    name: t.string(),
    profile: t.field({ type: 'JSON' }),
  }),
});

builder.queryFields((t) => ({
  contact: t.field({
    type: ContactRef,
    nullable: true,
    description: 'The contact with this phone, or null.',
    args: { projectId: t.arg.id({ required: true }), phone: t.arg.string({ required: true }) },
    resolve: (_root, { projectId, phone }, ctx) => contacts.getContact(ctx, String(projectId), phone),
  }),
}));

builder.mutationFields((t) => ({
  upsertContact: t.field({
    type: ContactRef,
    description: 'Creates the contact with this phone or updates it; either way it counts as seen now.',
    args: { projectId: t.arg.id({ required: true }), input: t.arg({ type: ContactInput, required: true }) },
    resolve: (_root, { projectId, input }, ctx) => contacts.upsertContact(ctx, String(projectId), input),
  }),
}));
