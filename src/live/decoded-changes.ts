import type { DecodedEntry, TableChangeKind } from '../db/change-log.js';
import { walValue } from '../db/wal-values.js';
import { UNCHANGED, type ColumnText, type PgoutputMessage, type Relation } from '../db/pgoutput.js';

/** A change as the log keeps it, before the leader numbers it within its transaction. */
export type ChangeEntryDraft = Omit<DecodedEntry, 'id'>;

type RowMessage = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>;

/** The logical messages the API's transactions carry (src/db/migrations/006-logical-capture.sql.ts). */
const ACTOR_PREFIX = 'paige.actor';
const TABLE_CHANGE_PREFIX = 'paige.table_change';
const TABLE_CHANGE_KINDS = new Set<string>(['CREATED', 'DROPPED', 'RENAMED', 'ALTERED']);

/**
 * A row as the API encodes it, from the text of each column. A value only Postgres can encode
 * keeps its text, and its column is named in `walTypes` with its type (the append encodes it).
 */
function rowOf(relation: Relation, values: readonly ColumnText[], walTypes: Record<string, number>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  relation.columns.forEach((column, i) => {
    const text = values[i];
    if (text === null || text === undefined || text === UNCHANGED) {
      row[column.name] = null;
      return;
    }
    const encoded = walValue(column.typeOid, text);
    if ('value' in encoded) row[column.name] = encoded.value;
    else {
      row[column.name] = encoded.text;
      walTypes[column.name] = encoded.typeOid;
    }
  });
  return row;
}

const sizeOf = (values: readonly ColumnText[]) => values.reduce((sum: number, text) => sum + (typeof text === 'string' ? text.length : 0), 0);

/**
 * The log entries of one decoded row change, encoded exactly as the trigger capture encodes them:
 * an INSERT's new row; a DELETE's old row (REPLICA IDENTITY FULL puts it whole in the WAL); an
 * UPDATE's new row (a TOASTed value it left alone is taken from the old row), its old row, and
 * the columns whose text differs; one CLEAR per table a TRUNCATE emptied.
 */
export function decodeChange(message: RowMessage): { entries: ChangeEntryDraft[]; bytes: number } {
  const walTypes: Record<string, number> = {};
  const entry = (relation: Relation, op: DecodedEntry['op'], row: DecodedEntry['row'], oldRow: DecodedEntry['oldRow'], changedColumns: string[] | null): ChangeEntryDraft => ({
    schema: relation.schema,
    table: relation.name,
    op,
    row,
    oldRow,
    changedColumns,
    newName: null,
    ...(Object.keys(walTypes).length > 0 ? { walTypes } : {}),
  });
  switch (message.tag) {
    case 'insert': {
      const row = rowOf(message.relation, message.values, walTypes);
      return { entries: [entry(message.relation, 'INSERT', row, null, null)], bytes: sizeOf(message.values) };
    }
    case 'delete': {
      const oldRow = rowOf(message.relation, message.old, walTypes);
      return { entries: [entry(message.relation, 'DELETE', null, oldRow, null)], bytes: sizeOf(message.old) };
    }
    case 'update': {
      const { relation, old } = message;
      const values = message.values.map((text, i) => (text === UNCHANGED ? (old?.[i] ?? UNCHANGED) : text));
      const changed = relation.columns.filter((_, i) => message.values[i] !== UNCHANGED && (!old || old[i] !== values[i])).map((column) => column.name);
      const row = rowOf(relation, values, walTypes);
      const oldRow = old ? rowOf(relation, old, walTypes) : null;
      return { entries: [entry(relation, 'UPDATE', row, oldRow, changed)], bytes: sizeOf(values) + (old ? sizeOf(old) : 0) };
    }
    case 'truncate':
      return { entries: message.relations.map((relation) => entry(relation, 'CLEAR', null, null, null)), bytes: 0 };
  }
}

/**
 * A transactional logical message of the API: who wrote the transaction, or a table change. Any
 * other prefix, and a message outside a transaction, means nothing to the log.
 */
export function decodeMessage(message: Extract<PgoutputMessage, { tag: 'message' }>): { actor?: unknown; entry?: ChangeEntryDraft } | undefined {
  if (!message.transactional) return undefined;
  if (message.prefix === ACTOR_PREFIX) return { actor: JSON.parse(message.content) as unknown };
  if (message.prefix !== TABLE_CHANGE_PREFIX) return undefined;
  const change = JSON.parse(message.content) as { schema: string; table: string; kind: string; newName: string | null };
  if (!TABLE_CHANGE_KINDS.has(change.kind)) return undefined;
  return {
    entry: { schema: change.schema, table: change.table, op: change.kind as TableChangeKind, row: null, oldRow: null, changedColumns: null, newName: change.newName },
  };
}
