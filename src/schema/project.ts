import type { Project } from '../db/projects.js';
import * as projects from '../resolvers/projects.js';
import { builder } from './builder.js';

export const ProjectRef = builder.objectRef<Project>('Project').implement({
  description: 'One chatbot and its owner: a Postgres schema with its own roles and tables.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.field({ type: 'DateTime', resolve: (project) => project.createdAt }),
  }),
});

builder.queryFields((t) => ({
  projects: t.field({
    type: [ProjectRef],
    description: 'Every project for the admin token; only its own for a project key.',
    resolve: (_root, _args, ctx) => projects.listProjects(ctx),
  }),
  project: t.field({
    type: ProjectRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => projects.getProject(ctx, String(id)),
  }),
}));

builder.mutationFields((t) => ({
  createProject: t.field({
    type: ProjectRef,
    description: 'Admin only. Provisions the schema, roles and system tables in one transaction.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, { name }, ctx) => projects.createProject(ctx, name),
  }),
  deleteProject: t.boolean({
    description: 'Admin only. Removes the schema, its roles and keys; `confirmName` must equal the name.',
    args: { id: t.arg.id({ required: true }), confirmName: t.arg.string({ required: true }) },
    resolve: (_root, { id, confirmName }, ctx) => projects.deleteProject(ctx, String(id), confirmName),
  }),
}));
