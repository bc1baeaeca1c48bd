import { DomainError } from './errors.js';

/**
 * How deep a JSON value the API returns may nest. Postgres stores jsonb nested far deeper (raw SQL
 * wrote one 10,000 levels deep), JSON.parse reads it, but JSON.stringify recurses and overflowed
 * the stack between 3,000 and 5,000 levels: yoga masked it as a 500 and graphql-ws sent
 * "Maximum call stack size exceeded"; in logical capture the leader failed its append on it again
 * and again, and every project's events stopped. The API itself writes at most 200 levels
 * (values.ts).
 */
export const MAX_JSON_DEPTH = 1000;

/** How deep a JSON text nests its arrays and objects, in one pass over its characters (no recursion, no parse). */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * What a read gets instead of a JSON value nested deeper than MAX_JSON_DEPTH: the GraphQL scalars
 * turn it into a clear error for the field that holds it; anything else that would serialise it
 * gets the same error rather than a value it would take for the data.
 */
export class TooDeepJson {
  constructor(readonly depth: number) {}

  toJSON(): never {
    throw tooDeepJsonError(this);
  }
}

export function tooDeepJsonError(value: TooDeepJson, column?: string): DomainError {
  return new DomainError(
    'BAD_USER_INPUT',
    `${column ? `column "${column}": ` : ''}a JSON value nested ${value.depth} levels deep cannot be returned (at most ${MAX_JSON_DEPTH}): select a part of it (->, #>) or its text (::text)`,
    { ...(column ? { column } : {}), limit: MAX_JSON_DEPTH },
  );
}

/** JSON text as a value: parsed, or a TooDeepJson when it nests deeper than MAX_JSON_DEPTH. */
export function parseReturnableJson(text: string): unknown {
  const depth = jsonTextDepth(text);
  return depth > MAX_JSON_DEPTH ? new TooDeepJson(depth) : (JSON.parse(text) as unknown);
}
