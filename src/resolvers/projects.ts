import { z } from 'zod';
import { badInput, notFound } from '../domain/errors.js';
import * as projects from '../db/projects.js';
import { canSeeProject, findVisibleProject, requireAdmin } from './access.js';
import type { Context } from './context.js';
import { parseInput } from './validation.js';

const projectName = z
  .string()
  .trim()
  .min(1, 'a project name cannot be empty')
  .max(200, 'a project name has at most 200 characters')
  .refine((name) => !name.includes('\0'), 'a project name cannot contain a NUL byte');

export async function createProject(ctx: Context, name: string): Promise<projects.Project> {
  requireAdmin(ctx);
  const project = await projects.createProject(ctx.pg, parseInput(projectName, name, 'name'));
  ctx.log.info(`created project ${project.id} (${project.schemaName})`);
  return project;
}

export async function deleteProject(ctx: Context, id: string, confirmName: string): Promise<boolean> {
  requireAdmin(ctx);
  const project = await findVisibleProject(ctx, id);
  if (!project) throw notFound(`project "${id}"`);
  if (project.name !== confirmName) {
    throw badInput(`confirmName ${JSON.stringify(confirmName)} does not match the name of project "${id}"`, { field: 'confirmName' });
  }
  // This process's raw-SQL pool for the project goes first; deleteProject ends any other sessions.
  await ctx.projectSql.close(id);
  // Answers only once every process has dropped the project (its tables, its keys) from its cache.
  const deleted = await ctx.metadata.announce({ kind: 'project', projectId: id }, (announcement) => projects.deleteProject(ctx.pg, id, announcement));
  if (!deleted) throw notFound(`project "${id}"`);
  ctx.log.info(`deleted project ${id}`);
  return true;
}

/** The admin sees every project; a project key sees only its own. */
export function listProjects(ctx: Context): Promise<projects.Project[]> {
  return projects.listProjects(ctx.pg, ctx.auth.kind === 'project' ? ctx.auth.projectId : undefined);
}

export async function getProject(ctx: Context, id: string): Promise<projects.Project | null> {
  if (!canSeeProject(ctx, id)) return null;
  return (await findVisibleProject(ctx, id)) ?? null;
}
