import { DomainError, notFound } from '../domain/errors.js';
import type { Project } from '../db/projects.js';
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

/** The project if it exists and the caller may see it, else undefined. Looked up once per operation. */
export async function findVisibleProject(ctx: Context, projectId: string): Promise<Project | undefined> {
  if (!canSeeProject(ctx, projectId)) return undefined;
  return ctx.loaders.projects.load(projectId);
}
