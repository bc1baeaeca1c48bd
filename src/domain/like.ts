import { DomainError } from './errors.js';

/**
 * LIKE in memory, for live subscriptions' `_like`/`_ilike` (where.ts), with the cost bound that
 * Postgres applies to the same filter (src/db/where.sql.ts) and to project roles' raw SQL
 * (migration 010): a match costs at most (value bytes × pattern bytes), and a filter whose
 * pattern would cost more on a value fails on that value instead of holding a connection, or
 * here the event loop, for seconds (issue 14: `_like: "%" + 5000 × "a" + "b"` against one
 * 1,000,000-character row blocked the process 23 s).
 */

/**
 * The most (value bytes × pattern bytes, UTF-8) one filter match may cost. The slowest case
 * measured here is a short literal between `%`s in a value of one repeated letter (`%ab%` in
 * 1.25 MB of `a`: V8's indexOf stops at every place), 15–35 ms on this 2-core machine under load;
 * in Postgres 15 any match within the budget takes under 10 ms. Raw SQL has a larger budget of
 * its own (src/db/bounded-matching.ts): there it bounds how late a cancel can be, not the event
 * loop.
 */
export const MATCH_BUDGET = 5_000_000;

/** UTF-8 length, as Postgres's octet_length counts it (a surrogate pair is one 4-byte character). */
export function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x800) bytes += unit >= 0xd800 && unit <= 0xdfff ? 1 : 2;
    else if (unit >= 0x80) bytes += 1;
  }
  return bytes;
}

/**
 * The longest value (in bytes) a pattern may be matched against, or null when its matching is
 * linear whatever the value: without a `%` before its end, nothing is ever retried. An escaped
 * `\%` counts as a `%`, as in the SQL check (which sees the same text).
 */
export function likeValueLimit(pattern: string): number | null {
  if (!pattern.replace(/%+$/, '').includes('%')) return null;
  return Math.floor(MATCH_BUDGET / utf8Bytes(pattern));
}

/**
 * The error of a filter whose `_like` meets a value over its limit, in two parts around the
 * value's byte length, so that Postgres (which alone knows that length in `Table.rows`) and the
 * in-memory filter say the same words.
 */
export function likeOverBudgetMessage(column: string, op: '_like' | '_ilike', pattern: string): [string, string] {
  return [
    `column "${column}": ${op} with a pattern of ${utf8Bytes(pattern)} bytes (a % before its end) may only be matched against values of at most ${likeValueLimit(pattern)} bytes (the matching budget: value bytes × pattern bytes ≤ ${MATCH_BUDGET}); this value has `,
    ' bytes. Use a shorter pattern, or filter on something shorter than the whole value',
  ];
}

/** A `_like` over the matching budget: the filter cannot be answered for this value. */
export class MatchBudgetError extends DomainError {
  constructor(column: string, op: '_like' | '_ilike', pattern: string, valueBytes: number) {
    const [start, end] = likeOverBudgetMessage(column, op, pattern);
    super('BAD_USER_INPUT', `${start}${valueBytes}${end}`, { column, limit: MATCH_BUDGET });
  }
}

/**
 * `subject LIKE pattern`, or ILIKE: Postgres lowercases both sides (lower(), per its LC_CTYPE) and
 * then matches case-sensitively, so this does the same with toLowerCase rather than a RegExp `i`
 * flag, whose case folding equates letters that lower() keeps apart (ſ and s, for one). The
 * caller checks the budget first (likeValueLimit).
 */
export function likeMatches(pattern: string, subject: string, caseInsensitive: boolean): boolean {
  return caseInsensitive ? matchSegments(compile(pattern.toLowerCase()), subject.toLowerCase()) : matchSegments(compile(pattern), subject);
}

/** `_`: one character (code point). */
const ONE_CHAR = Symbol('_');
type Token = string | typeof ONE_CHAR;

/**
 * The text between two `%`: its tokens, and the literal string when it has no `_`, else RegExps
 * of it (`_` as `[^]`, one code point under the `u` flag), each of at most CHUNK tokens (V8
 * cannot compile a RegExp of some thousands of terms): sticky, to match at a place, and global,
 * to find the first chunk's next match. A segment is fixed-length, so finding it costs at most
 * (value × segment), which the budget bounds; irregexp runs it several times faster than a loop
 * over the tokens.
 */
interface Segment {
  tokens: Token[];
  literal: string | null;
  chunks: { at: RegExp; find: RegExp }[];
}

const CHUNK = 256;
const escapeRegExp = (char: string) => char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

function segmentOf(tokens: Token[]): Segment {
  if (!tokens.includes(ONE_CHAR)) return { tokens, literal: tokens.join(''), chunks: [] };
  const chunks: Segment['chunks'] = [];
  for (let i = 0; i < tokens.length; i += CHUNK) {
    const source = tokens
      .slice(i, i + CHUNK)
      .map((token) => (token === ONE_CHAR ? '[^]' : escapeRegExp(token)))
      .join('');
    chunks.push({ at: new RegExp(source, 'uy'), find: new RegExp(source, 'ug') });
  }
  return { tokens, literal: null, chunks };
}

const compiled = new Map<string, Segment[]>();

/** LIKE's pattern split at each `%` (`\` escapes the next character). */
function compile(pattern: string): Segment[] {
  let segments = compiled.get(pattern);
  if (segments) return segments;
  const runs: Token[][] = [[]];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (char === '\\') {
      if (i + 1 < chars.length) runs[runs.length - 1]!.push(chars[++i]!);
    } else if (char === '%') runs.push([]);
    else runs[runs.length - 1]!.push(char === '_' ? ONE_CHAR : char);
  }
  // `a%%b` is `a%b`: an empty run between two `%` is dropped (never the first or the last).
  segments = runs
    .filter((tokens, i) => tokens.length > 0 || i === 0 || i === runs.length - 1)
    .map(segmentOf);
  if (compiled.size > 1000) compiled.clear();
  compiled.set(pattern, segments);
  return segments;
}

const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** The index after the code point at `i`. */
const nextCodePoint = (s: string, i: number) => (isHigh(s.charCodeAt(i)) && isLow(s.charCodeAt(i + 1)) ? i + 2 : i + 1);

/** Where a segment that starts at `i` ends in `s`, or -1 when it does not match there. */
function matchAt(segment: Segment, s: string, i: number): number {
  if (segment.literal !== null) return s.startsWith(segment.literal, i) ? i + segment.literal.length : -1;
  for (const { at } of segment.chunks) {
    at.lastIndex = i;
    if (!at.test(s)) return -1;
    i = at.lastIndex;
  }
  return i;
}

/** The end of the segment's leftmost match at or after `from`, or -1. */
function findFrom(segment: Segment, s: string, from: number): number {
  if (segment.literal !== null) {
    const at = s.indexOf(segment.literal, from);
    return at < 0 ? -1 : at + segment.literal.length;
  }
  const [first, ...rest] = segment.chunks;
  for (let start = from; ; ) {
    first!.find.lastIndex = start;
    const found = first!.find.exec(s);
    if (!found) return -1;
    let i = first!.find.lastIndex;
    for (const { at } of rest) {
      at.lastIndex = i;
      i = at.test(s) ? at.lastIndex : -1;
      if (i < 0) break;
    }
    if (i >= 0) return i;
    start = nextCodePoint(s, found.index);
  }
}

/** Where the last `count` code points of `s` start. */
function startOfLast(s: string, count: number): number {
  let i = s.length;
  for (; count > 0 && i > 0; count--) i -= i >= 2 && isLow(s.charCodeAt(i - 1)) && isHigh(s.charCodeAt(i - 2)) ? 2 : 1;
  return count > 0 ? -1 : i;
}

/**
 * The first segment at the start, each middle one at its leftmost place after the previous one
 * (leftmost leaves the most room for the rest, so it is never wrong), the last one at the end.
 * Literal segments are found with indexOf, the others with their RegExp: (value × segment) at
 * worst, which the budget bounds. One RegExp of the whole pattern (`.*a.*a.*b`) would backtrack
 * exponentially in the number of `%`.
 */
function matchSegments(segments: Segment[], s: string): boolean {
  const first = segments[0]!;
  if (segments.length === 1) return matchAt(first, s, 0) === s.length;
  let at = matchAt(first, s, 0);
  for (let k = 1; at >= 0 && k < segments.length - 1; k++) at = findFrom(segments[k]!, s, at);
  if (at < 0) return false;
  const last = segments[segments.length - 1]!;
  if (last.tokens.length === 0) return true;
  const start = startOfLast(s, last.tokens.length);
  return start >= at && matchAt(last, s, start) === s.length;
}
