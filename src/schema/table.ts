import type { ColumnInfo, TableInfo } from '../domain/tables.js';
import { decodeDefault } from '../db/column-types.js';
import * as tables from '../resolvers/tables.js';
import * as tableDdl from '../resolvers/table-ddl.js';
import { builder } from './builder.js';
import { ProjectRef } from './project.js';

export const ColumnTypeEnum = builder.enumType('ColumnType', {
  values: ['TEXT', 'VARCHAR', 'INTEGER', 'BIGINT', 'NUMERIC', 'BOOLEAN', 'DATE', 'TIMESTAMPTZ', 'UUID', 'JSONB', 'SERIAL'] as const,
});

export const ColumnRef = builder.objectRef<ColumnInfo>('Column').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.field({ type: ColumnTypeEnum, resolve: (column) => column.type.toUpperCase() as typeof ColumnTypeEnum.$inferType }),
    nullable: t.exposeBoolean('nullable'),
    default: t.field({
      type: 'JSON',
      nullable: true,
      description: 'A literal value (encoded like row values), or { "expression": "now()" } for now(), current_date, gen_random_uuid(). Null for none, and for serial and identity columns.',
      resolve: (column) => decodeDefault(column),
    }),
    unique: t.exposeBoolean('unique'),
    primaryKey: t.exposeBoolean('primaryKey'),
    maxLength: t.exposeInt('maxLength', { nullable: true, description: 'varchar only' }),
  }),
});

export const TableRef = builder.objectRef<TableInfo>('Table').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    system: t.exposeBoolean('system', { description: 'contacts, conversations, messages: structure cannot change' }),
    columns: t.field({ type: [ColumnRef], resolve: (table) => table.columns }),
    primaryKey: t.exposeStringList('primaryKey'),
  }),
});

builder.objectFields(ProjectRef, (t) => ({
  tables: t.field({
    type: [TableRef],
    args: { includeSystem: t.arg.boolean({ defaultValue: true }) },
    resolve: (project, { includeSystem }, ctx) => tables.listTables(ctx, project.schemaName, includeSystem ?? true),
  }),
  table: t.field({
    type: TableRef,
    nullable: true,
    args: { name: t.arg.string({ required: true }) },
    resolve: async (project, { name }, ctx) => (await tables.findTable(ctx, project.schemaName, name)) ?? null,
  }),
}));

export const ColumnInputRef = builder.inputType('ColumnInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    type: t.field({ type: ColumnTypeEnum, required: true }),
    nullable: t.boolean({ defaultValue: true }),
    default: t.field({ type: 'JSON', description: 'A literal of the column type, or { "expression": "now()" | "current_date" | "gen_random_uuid()" }' }),
    unique: t.boolean({ defaultValue: false }),
    maxLength: t.int({ description: 'varchar only' }),
  }),
});

export const CreateTableInputRef = builder.inputType('CreateTableInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    columns: t.field({ type: [ColumnInputRef], required: true }),
    primaryKey: t.stringList({ description: 'No key given: an `id` bigint identity column is added' }),
  }),
});

builder.mutationFields((t) => ({
  createTable: t.field({
    type: TableRef,
    description: 'Creates a custom table with its constraints and change-capture triggers in one transaction.',
    args: { projectId: t.arg.id({ required: true }), input: t.arg({ type: CreateTableInputRef, required: true }) },
    resolve: (_root, { projectId, input }, ctx) => tableDdl.createTable(ctx, String(projectId), input),
  }),
  renameTable: t.field({
    type: TableRef,
    args: { projectId: t.arg.id({ required: true }), name: t.arg.string({ required: true }), newName: t.arg.string({ required: true }) },
    resolve: (_root, { projectId, name, newName }, ctx) => tableDdl.renameTable(ctx, String(projectId), name, newName),
  }),
  dropTable: t.boolean({
    description: 'Custom tables only.',
    args: { projectId: t.arg.id({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, { projectId, name }, ctx) => tableDdl.dropTable(ctx, String(projectId), name),
  }),
  clearTable: t.int({
    description: 'Removes every row (one CLEAR change); returns how many were removed. Custom tables only.',
    args: { projectId: t.arg.id({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, { projectId, name }, ctx) => tableDdl.clearTable(ctx, String(projectId), name),
  }),
  addColumn: t.field({
    type: ColumnRef,
    args: { projectId: t.arg.id({ required: true }), table: t.arg.string({ required: true }), column: t.arg({ type: ColumnInputRef, required: true }) },
    resolve: (_root, { projectId, table, column }, ctx) => tableDdl.addColumn(ctx, String(projectId), table, column),
  }),
  renameColumn: t.field({
    type: ColumnRef,
    args: {
      projectId: t.arg.id({ required: true }),
      table: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      newName: t.arg.string({ required: true }),
    },
    resolve: (_root, { projectId, table, name, newName }, ctx) => tableDdl.renameColumn(ctx, String(projectId), table, name, newName),
  }),
  dropColumn: t.boolean({
    args: { projectId: t.arg.id({ required: true }), table: t.arg.string({ required: true }), name: t.arg.string({ required: true }) },
    resolve: (_root, { projectId, table, name }, ctx) => tableDdl.dropColumn(ctx, String(projectId), table, name),
  }),
}));
