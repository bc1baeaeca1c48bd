import { z } from 'zod';
import * as systemTables from '../db/system-tables.js';
import type { ContactRow } from '../db/system-tables.js';
import { badInput } from '../domain/errors.js';
import { requireProject } from './access.js';
import type { Context } from './context.js';
import { parseInput } from './validation.js';

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{1,14}$/;

/** The phone if it is E.164, else BAD_USER_INPUT naming the field and the value. */
export function parsePhone(phone: unknown, field = 'phone'): string {
  if (typeof phone === 'string' && E164.test(phone)) return phone;
  throw badInput(`${field}: ${JSON.stringify(phone)} is not a phone number in E.164 format, such as +14155550123`, { field, value: phone });
}

const contactInput = z.object({
  phone: z.unknown(),
  name: z.string().max(500, 'a name has at most 500 characters').nullish(),
  profile: z.unknown().optional(),
});

export async function getContact(ctx: Context, projectId: string, phone: string): Promise<ContactRow | null> {
  const project = await requireProject(ctx, projectId);
  return (await systemTables.contactByPhone(ctx.pg, project.schemaName, parsePhone(phone))) ?? null;
}

export interface ContactInput {
  phone: string;
  name?: string | null;
  profile?: unknown;
}

/** Upsert by phone: a field left out keeps its stored value, a null clears it. */
export async function upsertContact(ctx: Context, projectId: string, input: ContactInput): Promise<ContactRow> {
  const project = await requireProject(ctx, projectId);
  const fields = parseInput(contactInput, input, 'input');
  return systemTables.upsertContact(ctx.pg, ctx.actor, project.schemaName, {
    phone: parsePhone(input.phone, 'input.phone'),
    ...('name' in input ? { name: fields.name ?? null } : {}),
    ...('profile' in input ? { profile: input.profile ?? null } : {}),
  });
}
