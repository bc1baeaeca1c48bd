import type { Queryable } from './pool.js';
import { tablesSql } from './sql/tables.sql.js';
import { isSystemTable, type ColumnType, type TableInfo } from '../domain/tables.js';

interface RawColumn {
  name: string;
  typeName: string;
  typmod: number;
  notNull: boolean;
  identity: boolean;
  defaultSql: string | null;
  serial: boolean;
  unique: boolean;
}

/** Maps a catalog type to the API's; a type the API did not create (raw SQL cannot create any) reads as text. */
function columnType(raw: RawColumn): ColumnType {
  switch (raw.typeName) {
    case 'int4':
      return raw.serial ? 'serial' : 'integer';
    case 'int8':
      return 'bigint';
    case 'varchar':
      return 'varchar';
    case 'numeric':
      return 'numeric';
    case 'bool':
      return 'boolean';
    case 'date':
      return 'date';
    case 'timestamptz':
      return 'timestamptz';
    case 'uuid':
      return 'uuid';
    case 'jsonb':
      return 'jsonb';
    default:
      return 'text';
  }
}

function toTableInfo(row: { schema: string; name: string; columns: RawColumn[]; primaryKey: string[] }): TableInfo {
  const primaryKey = row.primaryKey;
  return {
    schema: row.schema,
    name: row.name,
    system: isSystemTable(row.name),
    primaryKey,
    columns: row.columns.map((raw) => ({
      name: raw.name,
      type: columnType(raw),
      nullable: !raw.notNull,
      defaultSql: raw.defaultSql,
      unique: raw.unique,
      primaryKey: primaryKey.includes(raw.name),
      maxLength: raw.typeName === 'varchar' && raw.typmod > 4 ? raw.typmod - 4 : null,
      identity: raw.identity,
    })),
  };
}

/** Tables (with columns and keys) of several schemas in one statement; `names` narrows to those tables. */
export async function readTables(db: Queryable, schemas: readonly string[], names?: readonly string[]): Promise<TableInfo[]> {
  const { rows } = await db.query(tablesSql, [schemas, names ?? null]);
  return rows.map(toTableInfo);
}

/** One table, or undefined when the schema has no such table. */
export async function readTable(db: Queryable, schema: string, name: string): Promise<TableInfo | undefined> {
  const [table] = await readTables(db, [schema], [name]);
  return table;
}
