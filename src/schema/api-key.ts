import type { ApiKeyListing } from '../db/api-keys.js';
import * as apiKeys from '../resolvers/api-keys.js';
import { API_KEY_USE_INTERVAL_MS } from '../db/api-key-usage.js';
import { builder } from './builder.js';

const ApiKeyRef = builder.objectRef<ApiKeyListing>('ApiKey').implement({
  description: 'A project API key. Its token is shown once, by createApiKey; only a hash of it is stored, and never shown.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'What revokeApiKey takes.' }),
    projectId: t.exposeID('projectId'),
    name: t.exposeString('name'),
    createdAt: t.field({ type: 'DateTime', resolve: (key) => key.createdAt }),
    lastUsedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        `When the key last authenticated a request; null if never. Up to about a minute behind: to keep a write off every request, each server process records a key's use at most once every ${API_KEY_USE_INTERVAL_MS / 1000} s, after the lookup and without the request waiting for it.`,
      resolve: (key) => key.lastUsedAt,
    }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKeyRef],
    description: "The project's keys, oldest first: the admin token, or a key of that project (another project's id is NOT_FOUND).",
    args: { projectId: t.arg.id({ required: true }) },
    resolve: (_root, { projectId }, ctx) => apiKeys.listApiKeys(ctx, String(projectId)),
  }),
}));

const CreatedApiKeyRef = builder.objectRef<{ apiKey: ApiKeyListing; token: string }>('CreatedApiKey').implement({
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
