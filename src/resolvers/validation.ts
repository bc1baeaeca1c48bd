import type { z } from 'zod';
import { badInput } from '../domain/errors.js';

/** Parses input with a zod schema; the first problem becomes BAD_USER_INPUT naming the field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, field: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [field, ...issue.path.map(String)].join('.');
  throw badInput(`${path}: ${issue.message}`, { field: path });
}
