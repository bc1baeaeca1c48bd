import type { ColumnInfo, TableInfo } from '../db/catalog.js';
import * as tables from '../resolvers/tables.js';
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
