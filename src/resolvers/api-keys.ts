import { z } from 'zod';
import { notFound } from '../domain/errors.js';
import * as apiKeys from '../db/api-keys.js';
import { canSeeProject, requireProject } from './access.js';
import type { Context } from './context.js';
import { parseInput } from './validation.js';

const keyName = z.string().trim().min(1, 'a key name cannot be empty').max(200, 'a key name has at most 200 characters');

/** A project key may mint keys for its own project; the token is returned once and stored as a hash. */
export async function createApiKey(ctx: Context, projectId: string, name: string) {
  const project = await requireProject(ctx, projectId);
  return apiKeys.createApiKey(ctx.pg, project.id, parseInput(keyName, name, 'name'));
}

/** The project's keys, for the admin or a key of that project (another project's id is NOT_FOUND). */
export async function listApiKeys(ctx: Context, projectId: string) {
  const project = await requireProject(ctx, projectId);
  return apiKeys.listApiKeys(ctx.pg, project.id);
}

export async function revokeApiKey(ctx: Context, id: string): Promise<boolean> {
  const key = await apiKeys.findApiKey(ctx.pg, id);
  if (!key || !canSeeProject(ctx, key.projectId)) throw notFound(`API key "${id}"`);
  // Answers only once every process has dropped the key from its cache.
  await ctx.metadata.announce({ kind: 'key', keyId: id }, (announcement) => apiKeys.deleteApiKey(ctx.pg, id, announcement));
  return true;
}
