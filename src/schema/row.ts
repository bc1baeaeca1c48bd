import * as rows from '../resolvers/rows.js';
import type { RowPage } from '../resolvers/rows.js';
import { builder } from './builder.js';
import { selectsField } from './selection.js';
import { TableRef } from './table.js';

export const SortDirectionEnum = builder.enumType('SortDirection', { values: ['ASC', 'DESC'] as const });

export const OrderByInput = builder.inputType('OrderBy', {
  fields: (t) => ({
    column: t.string({ required: true }),
    direction: t.field({ type: SortDirectionEnum, defaultValue: 'ASC' }),
  }),
});

export const PageInfoRef = builder.objectRef<Pick<RowPage, 'hasNextPage' | 'endCursor'>>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for the next page; null when the page is empty.' }),
  }),
});

export const RowConnectionRef = builder.objectRef<RowPage>('RowConnection').implement({
  fields: (t) => ({
    nodes: t.field({ type: ['JSONObject'], resolve: (page) => page.nodes }),
    pageInfo: t.field({ type: PageInfoRef, resolve: (page) => page }),
    changesCursor: t.string({
      description:
        'The snapshot this page was read in: `rowChanges(since: changesCursor)` delivers exactly the changes the page does not show ' +
        '(none committed between the query and the subscription is missed, none already in the page comes again). ' +
        'Works with any filter and order; valid as long as the change log keeps its changes (CHANGE_RETENTION_HOURS).',
      resolve: (page) => {
        if (page.changesCursor === undefined) throw new Error('changesCursor was not read with the page');
        return page.changesCursor;
      },
    }),
    totalCount: t.int({
      description: 'Rows matching `where`, regardless of paging. Costs a count statement, run only when this field is asked for.',
      resolve: (page) => page.totalCount(),
    }),
  }),
});

builder.objectField(TableRef, 'rows', (t) =>
  t.field({
    type: RowConnectionRef,
    description:
      'where: { col: { _eq _neq _gt _gte _lt _lte _in _nin _like _ilike _isNull }, _and: [..], _or: [..], _not: {..} }. ' +
      'Ordered by orderBy, then the primary key; `after` is a pageInfo.endCursor of the same orderBy.',
    args: {
      where: t.arg({ type: 'JSON' }),
      orderBy: t.arg({ type: [OrderByInput] }),
      first: t.arg.int({ defaultValue: rows.ROW_LIMITS.defaultPageSize }),
      after: t.arg.string(),
      offset: t.arg.int(),
    },
    resolve: (table, args, ctx, info) => rows.listRows(ctx, table, { ...args, withChangesCursor: selectsField(info, 'changesCursor') }),
  }),
);

builder.mutationFields((t) => ({
  insertRows: t.field({
    type: ['JSONObject'],
    description: '1–1000 rows in one statement: all are inserted or none. Returns them as stored.',
    args: {
      projectId: t.arg.id({ required: true }),
      table: t.arg.string({ required: true }),
      rows: t.arg({ type: ['JSONObject'], required: true }),
    },
    resolve: (_root, args, ctx) => rows.insertRows(ctx, String(args.projectId), args.table, args.rows),
  }),
  updateRows: t.field({
    type: ['JSONObject'],
    description: 'Sets the given columns on every row matching `where`; returns the updated rows.',
    args: {
      projectId: t.arg.id({ required: true }),
      table: t.arg.string({ required: true }),
      where: t.arg({ type: 'JSON', required: true }),
      set: t.arg({ type: 'JSONObject', required: true }),
    },
    resolve: (_root, args, ctx) => rows.updateRows(ctx, String(args.projectId), args.table, args.where, args.set),
  }),
  deleteRows: t.field({
    type: ['JSONObject'],
    description: 'Deletes the rows matching `where` (an empty filter is refused: use clearTable); returns them.',
    args: {
      projectId: t.arg.id({ required: true }),
      table: t.arg.string({ required: true }),
      where: t.arg({ type: 'JSON', required: true }),
    },
    resolve: (_root, args, ctx) => rows.deleteRows(ctx, String(args.projectId), args.table, args.where),
  }),
  upsertRows: t.field({
    type: ['JSONObject'],
    description: 'Inserts rows, or updates the given columns of the row whose onConflict columns match; one statement.',
    args: {
      projectId: t.arg.id({ required: true }),
      table: t.arg.string({ required: true }),
      rows: t.arg({ type: ['JSONObject'], required: true }),
      onConflict: t.arg.stringList({ required: true }),
    },
    resolve: (_root, args, ctx) => rows.upsertRows(ctx, String(args.projectId), args.table, args.rows, args.onConflict),
  }),
}));
