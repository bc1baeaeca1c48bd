import { DomainError, notFound } from '../domain/errors.js';
import { projectsByIds, type Project } from '../db/projects.js';
import type { Context } from './context.js';

export function requireAdmin(ctx: Context): void {
  if (ctx.auth.kind !== 'admin') throw new DomainError('FORBIDDEN', 'only the admin token may do this');
}

/** True when the caller may see this project id at all. */
export const canSeeProject = (ctx: Context, projectId: string) => ctx.auth.kind === 'admin' || ctx.auth.projectId === projectId;

/**
 * The project, if the caller may use it. Another project's id answers exactly like a missing one
 * (NOT_FOUND), so a project key cannot tell which ids exist.
 */
export async function requireProject(ctx: Context, projectId: string): Promise<Project> {
  const project = await findVisibleProject(ctx, projectId);
  if (!project) throw notFound(`project "${projectId}"`);
  return project;
}

/** Projects looked up during one operation, so nested fields do not ask again. */
const lookups = new WeakMap<Context, Map<string, Promise<Project | undefined>>>();

/** The project if it exists and the caller may see it, else undefined. */
export function findVisibleProject(ctx: Context, projectId: string): Promise<Project | undefined> {
  if (!canSeeProject(ctx, projectId)) return Promise.resolve(undefined);
  let cache = lookups.get(ctx);
  if (!cache) lookups.set(ctx, (cache = new Map()));
  let found = cache.get(projectId);
  if (!found) {
    found = ctx.metadata.project(projectId, () => projectsByIds(ctx.db.pool, [projectId]).then((rows) => rows[0]));
    cache.set(projectId, found);
  }
  return found;
}
