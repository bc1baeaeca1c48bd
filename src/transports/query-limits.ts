import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';

/** Bounds every operation, over HTTP and WebSocket alike (both run through yoga's envelop). */
export const QUERY_LIMITS = {
  /** Deepest selection: project → tables → columns is 4; leaves room for nested system types. */
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 20,
  maxTokens: 2_000,
  maxCost: 5_000,
  /** A request body larger than this gets 413. */
  maxBodyBytes: 1_000_000,
} as const;

/** graphql-armor's maintained rules, plus introspection off when configured. */
export function queryLimitPlugins(config: Pick<Config, 'introspection'>): Plugin[] {
  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: { n: QUERY_LIMITS.maxDepth },
      maxAliases: { n: QUERY_LIMITS.maxAliases },
      maxDirectives: { n: QUERY_LIMITS.maxDirectives },
      maxTokens: { n: QUERY_LIMITS.maxTokens },
      costLimit: { maxCost: QUERY_LIMITS.maxCost },
      // Suggestions ("did you mean …") help a developer; they stay on unless introspection is off.
      blockFieldSuggestion: { enabled: !config.introspection },
    }) as Plugin,
  ];
  if (!config.introspection) plugins.push(useDisableIntrospection() as Plugin);
  return plugins;
}
