import { jsonTextDepth, MAX_JSON_DEPTH } from '../domain/json-depth.js';
import { apiValueOfText } from './pool.js';

/**
 * A decoded column value as the trigger capture would have logged it (to_jsonb of the typed
 * value, bigint and numeric as text, timestamptz in UTC with its "Z"). pgoutput only sends the
 * value's text and its type's oid: for the types below the text is enough, and the value is
 * encoded here; for any other type (arrays, enums, composites, domains, extension types) only
 * Postgres knows what to_jsonb makes of it, so the text is kept and the leader's append has
 * Postgres encode it (paige.encode_wal_values, migration 007).
 */

/** Types whose to_jsonb is what apiValueOfText makes of their text (booleans, numbers, JSON, timestamptz). */
const ENCODED_HERE = new Set([16, 20, 21, 23, 700, 701, 114, 1700, 1184, 3802]);

/**
 * Built-in scalar types whose to_jsonb is their text as it is: text, varchar, char, name, uuid,
 * date, time, timetz, interval, bytea, inet, cidr, macaddr, macaddr8, oid, money, bit, varbit,
 * xml, point, line, lseg, box, path, polygon, circle, tsvector, tsquery, int4range, int8range,
 * numrange, tsrange, tstzrange, daterange, pg_lsn.
 */
const TEXT_AS_IS = new Set([
  25, 1043, 1042, 19, 2950, 1082, 1083, 1266, 1186, 17, 869, 650, 829, 774, 26, 790, 1560, 1562, 142, 600, 628, 601, 603, 602, 604, 718, 3614, 3615, 3904, 3926,
  3906, 3908, 3910, 3912, 3220,
]);

const TIMESTAMP = 1114;
/** A timestamp to_jsonb writes as the text with a "T" (years 0001-9999 AD); any other goes to Postgres. */
const PLAIN_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?$/;

/** A value the append must have Postgres encode: its text, and its type for `walTypes`. */
export interface TextForPostgres {
  text: string;
  typeOid: number;
}

const JSON_TYPES = new Set([114, 3802]);

export function walValue(typeOid: number, text: string): { value: unknown } | TextForPostgres {
  // JSON too deep for JSON.stringify, which the append uses: Postgres encodes it (and reads keep it from the API).
  if (JSON_TYPES.has(typeOid) && jsonTextDepth(text) > MAX_JSON_DEPTH) return { text, typeOid };
  if (ENCODED_HERE.has(typeOid)) return { value: apiValueOfText(typeOid, text) };
  if (TEXT_AS_IS.has(typeOid)) return { value: text };
  if (typeOid === TIMESTAMP && PLAIN_TIMESTAMP.test(text)) return { value: text.replace(' ', 'T') };
  return { text, typeOid };
}
