import { ApolloArmor, EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, Kind, validate, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
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
  plugins.push(variablePageSizeCost());
  return plugins;
}

/**
 * The document with each `first` / `last` given as a variable replaced by its value, as if
 * written as a literal; undefined when there is none.
 */
function withPageSizesInlined(document: DocumentNode, variables: Record<string, unknown> | null | undefined): DocumentNode | undefined {
  let inlined = false;
  const result = visit(document, {
    Argument(node) {
      if ((node.name.value !== 'first' && node.name.value !== 'last') || node.value.kind !== Kind.VARIABLE) return undefined;
      const value = variables?.[node.value.name.value];
      if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
      inlined = true;
      return { ...node, value: { kind: Kind.INT, value: String(value) } };
    },
  });
  return inlined ? result : undefined;
}

/**
 * graphql-armor's cost rule multiplies a list's cost by its `first` or `last` only when written as
 * a literal: it validates the document, before variables are known. This runs the same rule
 * again, at execution, on the document with those variables put in place, so
 * `rows(first: $n)` is held to the limit `rows(first: 5000)` is (issue 14): BAD_USER_INPUT naming
 * the limit, before any resolver runs.
 */
function variablePageSizeCost(): Plugin {
  // The rule reports through onReject, synchronously inside validate().
  const last: { rejected?: GraphQLError } = {};
  const off = { enabled: false };
  const { validationRules } = new ApolloArmor({
    costLimit: { maxCost: QUERY_LIMITS.maxCost, propagateOnRejection: false, onReject: [(_context, error) => void (last.rejected = error)] },
    maxAliases: off,
    maxDepth: off,
    maxDirectives: off,
    maxTokens: off,
    blockFieldSuggestion: off,
  }).protect();
  const check = (args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: Record<string, unknown> | null }): GraphQLError | undefined => {
    const inlined = withPageSizesInlined(args.document, args.variableValues);
    if (!inlined) return undefined;
    last.rejected = undefined;
    validate(args.schema, inlined, validationRules);
    const rejected = last.rejected as GraphQLError | undefined;
    if (!rejected) return undefined;
    const found = /found (\d+)/.exec(rejected.message)?.[1];
    return new GraphQLError(`first: with its variables this operation costs ${found ?? 'more than the limit'}, over the limit of ${QUERY_LIMITS.maxCost} (a list's cost is multiplied by first / last, as for a literal)`, {
      extensions: { code: 'BAD_USER_INPUT', limit: QUERY_LIMITS.maxCost },
    });
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
