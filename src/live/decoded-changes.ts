import type { DecodedEntry, TableChangeKind } from '../db/change-log.js';
import { apiValueOfText } from '../db/pool.js';
import { UNCHANGED, type ColumnText, type PgoutputMessage, type Relation } from '../db/pgoutput.js';

/** A change as the log keeps it, before the leader numbers it within its transaction. */
export type ChangeEntryDraft = Omit<DecodedEntry, 'id'>;

type RowMessage = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>;

/** The logical messages the API's transactions carry (src/db/migrations/006-logical-capture.sql.ts). */
const ACTOR_PREFIX = 'paige.actor';
const TABLE_CHANGE_PREFIX = 'paige.table_change';
const TABLE_CHANGE_KINDS = new Set<string>(['CREATED', 'DROPPED', 'RENAMED', 'ALTERED']);

/** A row as the API encodes it, from the text of each column. */
function rowOf(relation: Relation, values: readonly ColumnText[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  relation.columns.forEach((column, i) => {
    const text = values[i];
    row[column.name] = text === null || text === undefined || text === UNCHANGED ? null : apiValueOfText(column.typeOid, text);
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
  const entry = (relation: Relation, op: DecodedEntry['op'], row: DecodedEntry['row'], oldRow: DecodedEntry['oldRow'], changedColumns: string[] | null): ChangeEntryDraft => ({
    schema: relation.schema,
    table: relation.name,
    op,
    row,
    oldRow,
    changedColumns,
    newName: null,
  });
  switch (message.tag) {
    case 'insert':
      return { entries: [entry(message.relation, 'INSERT', rowOf(message.relation, message.values), null, null)], bytes: sizeOf(message.values) };
    case 'delete':
      return { entries: [entry(message.relation, 'DELETE', null, rowOf(message.relation, message.old), null)], bytes: sizeOf(message.old) };
    case 'update': {
      const { relation, old } = message;
      const values = message.values.map((text, i) => (text === UNCHANGED ? (old?.[i] ?? UNCHANGED) : text));
      const changed = relation.columns.filter((_, i) => message.values[i] !== UNCHANGED && (!old || old[i] !== values[i])).map((column) => column.name);
      return {
        entries: [entry(relation, 'UPDATE', rowOf(relation, values), old ? rowOf(relation, old) : null, changed)],
        bytes: sizeOf(values) + (old ? sizeOf(old) : 0),
      };
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
