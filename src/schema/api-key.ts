import type { ApiKey } from '../db/api-keys.js';
import * as apiKeys from '../resolvers/api-keys.js';
import { builder } from './builder.js';

const ApiKeyRef = builder.objectRef<ApiKey>('ApiKey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeID('projectId'),
    name: t.exposeString('name'),
    createdAt: t.field({ type: 'DateTime', resolve: (key) => key.createdAt }),
  }),
});

const CreatedApiKeyRef = builder.objectRef<{ apiKey: ApiKey; token: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (created) => created.apiKey }),
    token: t.exposeString('token', { description: 'Shown once; only its hash is stored.' }),
  }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKeyRef,
    args: { projectId: t.arg.id({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, { projectId, name }, ctx) => apiKeys.createApiKey(ctx, String(projectId), name),
  }),
  revokeApiKey: t.boolean({
    description: 'The key fails at once, on every server process.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => apiKeys.revokeApiKey(ctx, String(id)),
  }),
}));
