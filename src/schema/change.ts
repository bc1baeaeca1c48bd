import { DomainError } from '../domain/errors.js';
import type { RowChangeEvent, TableChangeEvent } from '../live/change-events.js';
import type { Actor } from '../domain/actor.js';
import * as changes from '../resolvers/changes.js';
import { builder } from './builder.js';

export const ChangeOpEnum = builder.enumType('ChangeOp', { values: ['INSERT', 'UPDATE', 'DELETE', 'CLEAR'] as const });
export const TableChangeKindEnum = builder.enumType('TableChangeKind', { values: ['CREATED', 'DROPPED', 'RENAMED', 'ALTERED'] as const });

export const ChangeActorKindEnum = builder.enumType('ChangeActorKind', {
  values: {
    ADMIN: { description: 'The admin token.' },
    API_KEY: { description: "A project's API key (apiKeyId, apiKeyName)." },
    IN_PROCESS: { description: 'Bot code through dbServices in its own process.' },
  } as const,
});

export const ChangeActorRef = builder.objectRef<Actor>('ChangeActor').implement({
  description: 'Who made a change through the API or dbServices.',
  fields: (t) => ({
    kind: t.field({ type: ChangeActorKindEnum, resolve: (actor) => actor.kind }),
    apiKeyId: t.id({ nullable: true, resolve: (actor) => (actor.kind === 'API_KEY' ? actor.apiKeyId : null) }),
    apiKeyName: t.string({ nullable: true, description: 'As the key was named when it wrote.', resolve: (actor) => (actor.kind === 'API_KEY' ? actor.apiKeyName : null) }),
  }),
});

/** The actor as the API shows it: one a process of ours wrote, else null (an operator can write any mark). */
const knownActor = (actor: Actor | null): Actor | null => (actor && ['ADMIN', 'API_KEY', 'IN_PROCESS'].includes(actor.kind) ? actor : null);
const ACTOR_DESCRIPTION = 'Who made the change: null for a write made outside the API (psql, another program).';

export const RowChangeRef = builder.objectRef<RowChangeEvent>('RowChange').implement({
  description: 'One committed change of one row (or a CLEAR of the whole table), in commit order.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `since` to resume after this change.' }),
    projectId: t.exposeID('projectId'),
    table: t.exposeString('table'),
    op: t.field({ type: ChangeOpEnum, resolve: (change) => change.op }),
    row: t.field({ type: 'JSONObject', nullable: true, description: 'The new row (INSERT, UPDATE).', resolve: (change) => change.row }),
    oldRow: t.field({ type: 'JSONObject', nullable: true, description: 'The old row (UPDATE, DELETE).', resolve: (change) => change.oldRow }),
    changedColumns: t.exposeStringList('changedColumns', { nullable: true, description: 'UPDATE only.' }),
    omittedColumns: t.exposeStringList('omittedColumns', {
      description:
        'Columns whose value is not in row / oldRow because the row is over 2 MB (its largest values are left out until it fits): read them with Table.rows. Empty for most changes.',
    }),
    at: t.field({ type: 'DateTime', description: 'When the change was made.', resolve: (change) => change.at }),
    actor: t.field({ type: ChangeActorRef, nullable: true, description: ACTOR_DESCRIPTION, resolve: (change) => knownActor(change.actor) }),
  }),
});

export const TableChangeRef = builder.objectRef<TableChangeEvent>('TableChange').implement({
  description: 'A table created, dropped, renamed or altered, so an open dashboard can refresh its columns.',
  fields: (t) => ({
    projectId: t.exposeID('projectId'),
    table: t.exposeString('table'),
    kind: t.field({ type: TableChangeKindEnum, resolve: (change) => change.kind }),
    newName: t.exposeString('newName', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (change) => change.at }),
    actor: t.field({ type: ChangeActorRef, nullable: true, description: ACTOR_DESCRIPTION, resolve: (change) => knownActor(change.actor) }),
  }),
});

/** The hub ends a stream it cannot continue with an error item: raise it as this event's error. */
function unwrap<T>(item: T | DomainError): T {
  if (item instanceof DomainError) throw item;
  return item;
}

builder.subscriptionType({});

builder.subscriptionFields((t) => ({
  rowChanges: t.field({
    type: RowChangeRef,
    description: 'Live changes of one table; `where` filters like Table.rows (a DELETE by its old row, an UPDATE by either); `since` resumes after a cursor.',
    args: {
      projectId: t.arg.id({ required: true }),
      table: t.arg.string({ required: true }),
      where: t.arg({ type: 'JSON' }),
      since: t.arg.string(),
    },
    subscribe: (_root, args, ctx) =>
      changes.subscribeRowChanges(ctx, { projectId: String(args.projectId), table: args.table, where: args.where, since: args.since }),
    resolve: (item: RowChangeEvent | DomainError) => unwrap(item),
  }),
  tableChanges: t.field({
    type: TableChangeRef,
    description: 'Tables of the project created, dropped, renamed or altered.',
    args: { projectId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => changes.subscribeTableChanges(ctx, String(args.projectId)),
    resolve: (item: TableChangeEvent | DomainError) => unwrap(item),
  }),
}));
