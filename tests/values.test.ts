import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { compareCodePoints, compareDecimals, timestampMicros } from '../src/domain/value-order.js';
import { columnSchema } from '../src/domain/values.js';
import { likeMatches } from '../src/domain/like.js';
import { superuserClient } from './support/postgres.js';
import { seededRandom } from './support/random.js';

/**
 * The in-memory comparisons that live-change filters use, checked against Postgres itself on
 * many generated values: decimals, timestamps in many offsets, code point order, LIKE.
 */
let client: pg.Client;
beforeAll(async () => {
  client = await superuserClient();
});

const { int, pick } = seededRandom(7);
const digits = (n: number) => Array.from({ length: n }, () => int(10)).join('');

describe('in-memory comparisons agree with Postgres', () => {
  it('numeric: 500 pairs of decimals (38 digits, scales, exponents, signs, zeros)', async () => {
    const decimal = () =>
      pick(['', '-', '+']) +
      pick([digits(1 + int(38)), `${digits(1 + int(20))}.${digits(int(18))}`, `.${digits(1 + int(5))}`, `${digits(1 + int(3))}e${pick(['', '-', '+'])}${int(40)}`, '0', '0.000', pick(['1.5', '1.50', '0.15e1'])]);
    const pairs = Array.from({ length: 500 }, () => [decimal(), decimal()] as const);
    for (const [a, b] of pairs) expect(columnSchema({ type: 'numeric', maxLength: null }).safeParse(a).success, a).toBe(true);
    const { rows } = await client.query(`SELECT sign(a::numeric - b::numeric)::int AS s FROM unnest($1::text[], $2::text[]) AS p(a, b)`, [
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
    ]);
    pairs.forEach(([a, b], i) => expect(compareDecimals(a, b), `${a} vs ${b}`).toBe(rows[i].s));
    expect(compareDecimals('NaN', '1e100')).toBe(1);
    expect(compareDecimals('-Infinity', '-1e100')).toBe(-1);
  });

  it('timestamptz: 300 timestamps in many offsets, to the microsecond', async () => {
    const stamps = Array.from({ length: 300 }, () => {
      const date = `${String(1 + int(9998)).padStart(4, '0')}-${String(1 + int(12)).padStart(2, '0')}-${String(1 + int(28)).padStart(2, '0')}`;
      const time = `${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}`;
      const fraction = pick(['', `.${digits(1 + int(6))}`]);
      const offset = pick(['Z', '+00:00', '-00:00', '+05:30', '-09:30', '+14:00', '-12:00', '+0545', '+01']);
      return `${date}T${time}${fraction}${offset}`;
    });
    const { rows } = await client.query(
      `SELECT (extract(epoch FROM s::timestamptz) * 1000000)::numeric(30,0)::text AS micros FROM unnest($1::text[]) AS s`,
      [stamps],
    );
    stamps.forEach((stamp, i) => expect(timestampMicros(stamp)?.toString(), stamp).toBe(rows[i].micros));
  });

  it('text: code point order is COLLATE "C"', async () => {
    const alphabet = ['a', 'B', 'é', 'É', 'z', '😀', '\uffff', '\ue000', '𝄞', ' ', '0', '~', 'ß'];
    const words = Array.from({ length: 300 }, () => Array.from({ length: int(4) }, () => pick(alphabet)).join(''));
    const { rows } = await client.query(`SELECT w FROM unnest($1::text[]) AS w ORDER BY w COLLATE "C"`, [words]);
    expect([...words].sort(compareCodePoints)).toEqual(rows.map((r) => r.w));
  });

  it('LIKE: 500 patterns and strings, with % _ and escapes', async () => {
    const pieces = ['a', 'b', '%', '_', '\\%', '\\_', '\\\\', '😀', '.', '*', '(', '[', '\n'];
    const patterns = Array.from({ length: 500 }, () => Array.from({ length: 1 + int(4) }, () => pick(pieces)).join(''));
    const subjects = Array.from({ length: 500 }, () => Array.from({ length: int(5) }, () => pick(['a', 'b', '%', '_', '\\', '😀', '.', '*', '(', '[', '\n'])).join(''));
    const { rows } = await client.query(`SELECT s LIKE p AS m FROM unnest($1::text[], $2::text[]) AS x(s, p)`, [subjects, patterns]);
    subjects.forEach((subject, i) => expect(likeMatches(patterns[i]!, subject, false), `${JSON.stringify(subject)} LIKE ${JSON.stringify(patterns[i])}`).toBe(rows[i].m));
  });

  it('LIKE: many % against a long value answers at once (a backtracking RegExp never returned)', () => {
    const long = 'a'.repeat(5000);
    expect(likeMatches('%a%a%a%a%a%a%a%a%b', long, false)).toBe(false);
    expect(likeMatches('%A%A%A%A%A%A%A%A%', long, true)).toBe(true);
    expect(likeMatches('%a_%a\\%%', `${long}%`, false)).toBe(true);
  }, 2000);
});

describe('ILIKE beyond ASCII', () => {
  it('agrees with Postgres on letters whose case rules differ between lower() and case folding', async () => {
    const letters = ['s', 'S', 'ſ', 'k', 'K', '\u212a', 'é', 'É', 'ß', 'ẞ', 'σ', 'Σ', 'ς', 'ǆ', 'ǅ', 'Ǆ', 'a', 'A', 'ÿ', 'Ÿ'];
    const subjects = letters.flatMap((a) => letters.map(() => a));
    const patterns = letters.flatMap(() => letters);
    const { rows } = await client.query(`SELECT s ILIKE p AS m FROM unnest($1::text[], $2::text[]) AS x(s, p)`, [subjects, patterns]);
    const disagreements = subjects.flatMap((subject, i) => (likeMatches(patterns[i]!, subject, true) === rows[i].m ? [] : [`${subject} ILIKE ${patterns[i]}: ${rows[i].m}`]));
    expect(disagreements).toEqual([]);
  });
});

describe('codecs', () => {
  const parse = (type: string, value: unknown, maxLength: number | null = null) => columnSchema({ type: type as never, maxLength }).safeParse(value);
  it('accept the documented forms and normalise where Postgres would', () => {
    expect(parse('bigint', '-0009').data).toBe('-9');
    expect(parse('bigint', -42).data).toBe('-42');
    expect(parse('numeric', 1e21).data).toBe('1e+21');
    expect(parse('uuid', 'ABCDEF00-0000-0000-0000-000000000000').data).toBe('abcdef00-0000-0000-0000-000000000000');
    expect(parse('jsonb', [1, 'a']).data).toBe('[1,"a"]');
    expect(parse('timestamptz', '2024-05-01 12:30:00+0200').success).toBe(true);
    expect(parse('date', '2000-02-29').success).toBe(true);
    expect(parse('varchar', '😀😀', 2).success).toBe(true);
  });
  it('refuse what Postgres would not store exactly', () => {
    expect(parse('date', '1900-02-29').success).toBe(false);
    expect(parse('numeric', '1e1001').success).toBe(false);
    expect(parse('text', 'lone \ud800 surrogate').success).toBe(false);
    expect(parse('jsonb', { 'key\u0000': 1 }).success).toBe(false);
    expect(parse('timestamptz', '2024-05-01T12:30:00+16:00').success).toBe(false);
    expect(parse('integer', Number.NaN).success).toBe(false);
  });
});
