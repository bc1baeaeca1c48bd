import SchemaBuilder from '@pothos/core';
import { GraphQLError, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';
import type { Context } from '../resolvers/context.js';
import { TooDeepJson, tooDeepJsonError } from '../domain/json-depth.js';

type JsonObject = Record<string, unknown>;

/** Plugins and scalars only; every type lives in the file of its entity. */
export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: JsonObject; Output: JsonObject };
    DateTime: { Input: string; Output: string | Date };
    ID: { Input: string; Output: string | number | bigint };
  };
}>({
  defaultFieldNullability: false,
});

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A value too deep to serialise (src/domain/json-depth.ts) fails its field with a clear error. */
function returnable(value: unknown, column?: string): unknown {
  if (value instanceof TooDeepJson) throw tooDeepJsonError(value, column);
  return value;
}

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => returnable(value),
  parseValue: (value) => value,
  parseLiteral: (ast: ValueNode, variables) => valueFromASTUntyped(ast, variables ?? undefined),
});

builder.scalarType('JSONObject', {
  description: 'A row: { columnName: value }, values encoded losslessly (bigint and numeric as strings).',
  serialize: (value) => {
    if (isObject(returnable(value))) for (const [column, item] of Object.entries(value)) returnable(item, column);
    return value as JsonObject;
  },
  parseValue: (value) => {
    if (!isObject(value)) throw new GraphQLError(`JSONObject must be an object, got ${JSON.stringify(value)}`);
    return value;
  },
  parseLiteral: (ast, variables) => {
    if (ast.kind !== Kind.OBJECT) throw new GraphQLError('JSONObject must be an object literal');
    return valueFromASTUntyped(ast, variables ?? undefined) as JsonObject;
  },
});

builder.scalarType('DateTime', {
  description: 'An ISO 8601 timestamp, with microseconds where Postgres has them.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : value),
  parseValue: (value) => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new GraphQLError(`DateTime must be an ISO 8601 string, got ${JSON.stringify(value)}`);
    return value;
  },
});

builder.queryType({});
builder.mutationType({});
