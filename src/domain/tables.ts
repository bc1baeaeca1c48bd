import { columnNotFound } from './errors.js';

/** The 11 column types the API supports, lowercase as in SQL. */
export const COLUMN_TYPES = ['text', 'varchar', 'integer', 'bigint', 'numeric', 'boolean', 'date', 'timestamptz', 'uuid', 'jsonb', 'serial'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The tables every project gets; their structure never changes. */
export const SYSTEM_TABLES = ['contacts', 'conversations', 'messages'] as const;
export type SystemTableName = (typeof SYSTEM_TABLES)[number];

export const isSystemTable = (name: string): name is SystemTableName => (SYSTEM_TABLES as readonly string[]).includes(name);

export interface ColumnInfo {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** The default as Postgres prints it (`pg_get_expr`), e.g. `'x'::text`, `now()`; null when none. */
  defaultSql: string | null;
  unique: boolean;
  primaryKey: boolean;
  /** varchar(n) only. */
  maxLength: number | null;
  /** `generated ... as identity` (the added `id` key). */
  identity: boolean;
}

/** A project's table as the catalog holds it. */
export interface TableInfo {
  schema: string;
  name: string;
  system: boolean;
  columns: ColumnInfo[];
  primaryKey: string[];
}

/** A row as the API sends it: { column: value } with every value encoded exactly (see values.ts). */
export type Row = Record<string, unknown>;

/**
 * The table's column of that name, or NOT_FOUND naming both; `path` says where in the input the
 * name came from (`rows[3]`, `where.price`, `orderBy[0]`).
 */
export function findColumn(table: Pick<TableInfo, 'name' | 'columns'>, name: string, path?: string, details?: Record<string, unknown>): ColumnInfo {
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw columnNotFound(table.name, name, path, details);
  return column;
}
