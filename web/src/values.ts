import type { Column, ColumnType } from './api/documents.js';

/**
 * Values typed by a person, turned into the API's encoding, and back. Numbers are kept exact:
 * bigint and numeric travel as the strings typed (never through a JS number); integer and serial
 * are JSON numbers. What the API would refuse anyway (a bigint out of range, a date that does not
 * exist) is left to it: its error names the column and shows next to the field.
 */

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

const ok = (value: unknown): Parsed => ({ ok: true, value });
const bad = (error: string): Parsed => ({ ok: false, error });

/** The text of a non-null value, as an input shows it. */
export function formatValue(value: unknown, type: ColumnType): string {
  if (value === null || value === undefined) return '';
  if (type === 'JSONB') return JSON.stringify(value);
  return String(value);
}

/** A cell's short display text (null shown apart by the caller). */
export const displayValue = (value: unknown, type: ColumnType) => formatValue(value, type);

/** Parses the text of an input for a column (empty text of a nullable non-text column is null). */
export function parseInput(text: string, column: Pick<Column, 'type' | 'nullable' | 'name'>): Parsed {
  const trimmed = text.trim();
  switch (column.type) {
    case 'TEXT':
    case 'VARCHAR':
      return ok(text);
    case 'INTEGER':
    case 'SERIAL':
      if (trimmed === '' && column.nullable) return ok(null);
      if (!/^[+-]?\d+$/.test(trimmed)) return bad(`expected a whole number, got ${JSON.stringify(text)}`);
      return ok(Number(trimmed));
    case 'BIGINT':
      if (trimmed === '' && column.nullable) return ok(null);
      if (!/^[+-]?\d+$/.test(trimmed)) return bad(`expected a whole number, got ${JSON.stringify(text)}`);
      return ok(trimmed);
    case 'NUMERIC':
      if (trimmed === '' && column.nullable) return ok(null);
      if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(trimmed)) return bad(`expected a decimal number such as 12.50, got ${JSON.stringify(text)}`);
      return ok(trimmed);
    case 'BOOLEAN':
      if (trimmed === '' && column.nullable) return ok(null);
      if (trimmed === 'true' || trimmed === 'false') return ok(trimmed === 'true');
      return bad('expected true or false');
    case 'JSONB':
      if (trimmed === '' && column.nullable) return ok(null);
      try {
        return ok(JSON.parse(text));
      } catch (error) {
        return bad(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
    default:
      // date, timestamptz, uuid: strings the API checks.
      if (trimmed === '' && column.nullable) return ok(null);
      return ok(trimmed);
  }
}

/** The hint an input shows for a type. */
export const PLACEHOLDERS: Record<ColumnType, string> = {
  TEXT: 'text',
  VARCHAR: 'text',
  INTEGER: 'e.g. 42',
  SERIAL: 'automatic',
  BIGINT: 'e.g. 9007199254740993',
  NUMERIC: 'e.g. 12.50',
  BOOLEAN: 'true or false',
  DATE: 'YYYY-MM-DD',
  TIMESTAMPTZ: 'e.g. 2024-05-01T12:30:00.123456+02:00',
  UUID: 'e.g. 0b6f2c1e-8d3a-4c4e-9f51-2a7d1c9e0f00',
  JSONB: '{"any": "JSON"}',
};

/** Now as ISO 8601 with this browser's offset (what a person means by "now" in a form). */
export function nowWithOffset(date = new Date()): string {
  const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}
