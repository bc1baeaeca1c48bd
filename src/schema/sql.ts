import type { SqlResult } from '../db/project-sql.js';
import * as sql from '../resolvers/sql.js';
import { builder } from './builder.js';

const SqlResultRef = builder.objectRef<SqlResult>('SqlResult').implement({
  fields: (t) => ({
    columns: t.exposeStringList('columns', { description: 'In order; a repeated name gets _2, _3… so row keys are unique.' }),
    rows: t.field({ type: ['JSONObject'], description: 'At most 1000, values encoded losslessly.', resolve: (result) => result.rows }),
    rowCount: t.exposeInt('rowCount', { description: 'Rows the statement returned or changed, as Postgres counts them.' }),
    truncated: t.exposeBoolean('truncated', { description: 'True when the statement returned more rows than `rows` holds (over 1000 rows, or over 8 MB of them).' }),
  }),
});

builder.mutationFields((t) => ({
  sql: t.field({
    type: SqlResultRef,
    description:
      "Runs ONE statement as the project's own login role (its tables only; unqualified names are its tables), in a " +
      'transaction of its own, with a 5 s statement timeout and at most 1000 rows returned. Several statements in one ' +
      'text are refused (BAD_USER_INPUT). Parameters are $1, $2…: an object is sent as JSON text, an array as a Postgres array.',
    args: {
      projectId: t.arg.id({ required: true }),
      text: t.arg.string({ required: true }),
      // Items may be null: a NULL parameter is as common as any other (the contract's [JSON!] widened).
      params: t.arg({ type: ['JSON'], required: { list: false, items: false } }),
    },
    resolve: (_root, { projectId, text, params }, ctx) => sql.runSql(ctx, String(projectId), text, params ?? []),
  }),
}));
