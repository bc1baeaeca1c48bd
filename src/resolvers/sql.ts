import type { SqlResult } from '../db/project-sql.js';
import { mapPgError } from '../db/pg-errors.js';
import { badInput } from '../errors.js';
import { requireProject } from './access.js';
import type { Context } from './context.js';

/** Longest statement text accepted, in characters. */
const MAX_TEXT = 100_000;
/** Most parameters of one statement (Postgres allows 65535; more here is a mistake). */
const MAX_PARAMS = 1000;

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
  try {
    return await ctx.projectSql.run(project.id, text, params);
  } catch (error) {
    throw mapPgError(error) ?? error;
  }
}
