import { badInput } from '../domain/errors.js';
import { decodeCursor } from '../db/change-log.js';
import { decodePageSnapshot } from '../db/page-snapshot.js';
import { canonicalJson } from '../domain/value-order.js';
import { requireProject } from './access.js';
import type { Context } from './context.js';
import { withTable } from './tables.js';
import { isMatchAll, parseWhere } from '../domain/where.js';

export interface RowChangesArgs {
  projectId: string;
  table: string;
  where?: unknown;
  since?: string | null;
}

/**
 * `rowChanges`: checks access (another project's table is NOT_FOUND, as everywhere), validates
 * the filter against the table with the row-query parser and the cursor, then joins the
 * process's fan-out. With `since` (an event's cursor, or a page's changesCursor), replays what it
 * missed before going live. Returns the subscriber's own queue of events: graphql-js executes
 * each, or a transport that executes them once per group of identical subscriptions takes it
 * with createSourceEventStream.
 */
export async function subscribeRowChanges(ctx: Context, args: RowChangesArgs) {
  // The filter is checked against fresh metadata before it is refused (see withTable).
  const { table, parsed } = await withTable(ctx, args.projectId, args.table, async (table) => ({
    table,
    parsed: args.where === undefined || args.where === null ? null : parseWhere(table, args.where),
  }));
  const where = parsed && !isMatchAll(parsed) ? parsed : null;
  let since;
  let snapshot;
  if (args.since !== undefined && args.since !== null) {
    since = decodeCursor(args.since);
    snapshot = since ? undefined : decodePageSnapshot(args.since);
    if (!since && !snapshot) throw badInput(`since: ${JSON.stringify(args.since)} is not a cursor of a row change nor a changesCursor of Table.rows`, { field: 'since' });
  }
  return ctx.changes.subscribeRows({
    schema: table.schema,
    table: table.name,
    where,
    whereKey: where ? canonicalJson(args.where) : '',
    since,
    snapshot,
  });
}

/** `tableChanges`: structural changes of one project's tables, live. */
export async function subscribeTableChanges(ctx: Context, projectId: string) {
  const project = await requireProject(ctx, projectId);
  return ctx.changes.subscribeTables(project.schemaName);
}
