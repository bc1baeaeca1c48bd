import type { SqlResult } from '../db/project-sql.js';
import { mapUserSqlError } from '../db/pg-errors.js';
import { badInput } from '../domain/errors.js';
import { requireProject } from './access.js';
import type { Context } from './context.js';

/** Longest statement text accepted, in characters. */
const MAX_TEXT = 100_000;
/** Most parameters of one statement (Postgres allows 65535; more here is a mistake). */
const MAX_PARAMS = 1000;

/** node-postgres sends a lone UTF-16 surrogate as U+FFFD: a string holding one would be stored as another string. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The path of the first string in a parameter (strings of arrays included) that holds a lone surrogate. */
function loneSurrogateAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = loneSurrogateAt(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Raw SQL from bot code or a dashboard console, as the project's login role. Postgres errors are
 * mapped here rather than left to the server's masking, so dbServices in-process (which calls
 * `execute` without yoga) reports the same codes: permission denied → FORBIDDEN, syntax → BAD_USER_INPUT.
 */
export async function runSql(ctx: Context, projectId: string, text: string, params: readonly unknown[]): Promise<SqlResult> {
  const project = await requireProject(ctx, projectId);
  if (text.trim().length === 0) throw badInput('text: cannot be empty', { field: 'text' });
  if (text.length > MAX_TEXT) throw badInput(`text: at most ${MAX_TEXT} characters`, { field: 'text' });
  if (text.includes('\0')) throw badInput('text: cannot contain a NUL byte', { field: 'text' });
  if (params.length > MAX_PARAMS) throw badInput(`params: at most ${MAX_PARAMS} parameters`, { field: 'params' });
  if (LONE_SURROGATE.test(text)) throw badInput('text: cannot contain a lone UTF-16 surrogate', { field: 'text' });
  // Objects are sent as JSON text, where JSON.stringify escapes a lone surrogate losslessly.
  const broken = params.map((param, i) => loneSurrogateAt(param, `params[${i}]`)).find(Boolean);
  if (broken) throw badInput(`${broken}: a string cannot contain a lone UTF-16 surrogate`, { field: broken });
  try {
    return await ctx.projectSql.run(project.id, ctx.actor, text, params);
  } catch (error) {
    throw mapUserSqlError(error) ?? error;
  }
}
