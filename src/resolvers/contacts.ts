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

/** Keys of the per-request contact loader: the project schema and the contact id. */
export const contactKey = (schema: string, id: string) => `${schema}:${id}`;

/** Splits loader keys by schema, loads each schema's rows in one statement. */
export async function loadBySchema<T>(keys: readonly string[], load: (schema: string, ids: string[]) => Promise<T[]>): Promise<T[]> {
  const bySchema = new Map<string, string[]>();
  for (const key of keys) {
    const [schema, id] = key.split(':') as [string, string];
    bySchema.set(schema, [...(bySchema.get(schema) ?? []), id]);
  }
  const loaded = await Promise.all([...bySchema].map(([schema, ids]) => load(schema, ids)));
  return loaded.flat();
}

/** Batch function of the Contact loader (keys from contactKey). */
export function loadContacts(ctx: Context, keys: readonly string[]): Promise<ContactRow[]> {
  return loadBySchema(keys, (schema, ids) => systemTables.contactsByIds(ctx.db.pool, schema, ids));
}

export async function getContact(ctx: Context, projectId: string, phone: string): Promise<ContactRow | null> {
  const project = await requireProject(ctx, projectId);
  return (await systemTables.contactByPhone(ctx.db.pool, project.schemaName, parsePhone(phone))) ?? null;
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
  return systemTables.upsertContact(ctx.db.pool, project.schemaName, {
    phone: parsePhone(input.phone, 'input.phone'),
    ...('name' in input ? { name: fields.name ?? null } : {}),
    ...('profile' in input ? { profile: input.profile ?? null } : {}),
  });
}
