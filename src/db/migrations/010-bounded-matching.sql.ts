/**
 * Matching whose cost has a bound (issue 14, points 2 and 4): Postgres checks for interrupts
 * rarely inside LIKE and the substring searches, so `repeat('a',1000000) LIKE '%'||repeat('a',
 * 12000)||'b'` ran 11 s under a 5 s statement_timeout and pg_cancel_backend/pg_terminate_backend
 * could not stop it. The timeout and a cancel act between two calls, never inside one: a bound
 * on each call's cost is what bounds a statement.
 *
 * - Schema `paige_bounded` (USAGE to PUBLIC): a wrapper for each built-in whose cost is
 *   (subject bytes × pattern bytes) with no interrupt check, under the same name and arguments:
 *   the LIKE operators (`~~ ~~* !~~ !~~*` on text, bpchar and name; `~~ !~~` on bytea) and
 *   strpos, replace, split_part, string_to_array, string_to_table, btrim/ltrim/rtrim (text and
 *   bytea) and translate. Each refuses a call whose cost is over MATCH_BUDGET with SQLSTATE
 *   54000 (program_limit_exceeded) naming the budget and both lengths, and otherwise calls the
 *   built-in. A pattern whose only `%` are at its end, a needle or trim set of one byte, cost
 *   nothing: those matches are linear.
 * - Raw SQL's search_path is `<schema>, paige_bounded, pg_catalog` (src/db/project-sql.ts):
 *   pg_catalog last, so unqualified operators and functions resolve to the wrappers.
 * - EXECUTE on the built-ins is taken from PUBLIC (by their C symbol, so aliases such as
 *   `like(text,text)` and `position(text,text)` go too): `OPERATOR(pg_catalog.~~)`,
 *   `pg_catalog.textlike()`, and the SQL syntax compiled straight to pg_catalog
 *   (`POSITION(a IN b)`, `TRIM(BOTH x FROM y)`) are refused (42501) for project roles.
 *   Superusers (the platform) are unaffected; the wrappers are SECURITY DEFINER (owned by the
 *   migrating superuser) so they may call the built-ins. Their bodies name everything with its
 *   schema, so the caller's search_path cannot reach into them; project roles cannot create
 *   functions or operators anywhere.
 * - `paige.filter_over_budget` raises the same error for the API's `_like`/`_ilike` filter, which
 *   checks the budget itself before matching (src/db/where.sql.ts).
 *
 * The budget is 50,000,000 (≈ 70 ms of LIKE at worst on this machine's Postgres 15, so a cancel
 * or the statement timeout is at most that late): RAW_SQL_MATCH_BUDGET in
 * src/db/bounded-matching.ts, which tests/hostile-cost.test.ts checks against the error.
 */

const BUDGET = 50_000_000;

/** A LIKE pattern costs subject × pattern when it has a `%` before its end (a trailing `%` ends the match). */
const likeCosts = (subject: string, pattern: string, bytea: boolean) =>
  bytea
    ? `pg_catalog.position(pg_catalog.rtrim(${pattern}, '\\x25'::pg_catalog.bytea), '\\x25'::pg_catalog.bytea) OPERATOR(pg_catalog.>) 0`
    : `pg_catalog.strpos(pg_catalog.rtrim(${pattern}, '%'), '%') OPERATOR(pg_catalog.>) 0`;

interface Wrapper {
  name: string;
  /** What the error calls it. */
  label: string;
  /** Argument names and types, as the built-in's. */
  args: [string, string][];
  returns: string;
  /** The argument whose length is the subject's, and the one(s) whose lengths make the pattern's. */
  subject: string;
  pattern: string[];
  /** An extra condition under which the call costs subject × pattern (a LIKE's `%`). */
  costly?: string;
  /** Strict built-ins return NULL on a NULL argument without being called. */
  strict: boolean;
  setof?: boolean;
}

const like = (name: string, label: string, subjectType: string, patternType: string): Wrapper => ({
  name,
  label,
  args: [['subject', subjectType], ['pattern', patternType]],
  returns: 'bool',
  subject: 'subject',
  pattern: ['pattern'],
  costly: likeCosts('subject', 'pattern', patternType === 'bytea'),
  strict: true,
});

const search = (name: string, args: [string, string][], returns: string, subject: string, pattern: string[], strict = true, setof = false): Wrapper =>
  ({ name, label: name, args, returns, subject, pattern, strict, setof });

const LIKE_OPERATORS: { op: string; fn: string; label: string; negator: string; restrict: string; join: string }[] = [
  { op: '~~', fn: 'like', label: 'LIKE', negator: '!~~', restrict: 'likesel', join: 'likejoinsel' },
  { op: '!~~', fn: 'nlike', label: 'NOT LIKE', negator: '~~', restrict: 'nlikesel', join: 'nlikejoinsel' },
  { op: '~~*', fn: 'iclike', label: 'ILIKE', negator: '!~~*', restrict: 'iclikesel', join: 'iclikejoinsel' },
  { op: '!~~*', fn: 'icnlike', label: 'NOT ILIKE', negator: '~~*', restrict: 'icnlikesel', join: 'icnlikejoinsel' },
];

/** The operand types of each LIKE operator family, and the built-in functions' name prefix. */
const LIKE_TYPES: { prefix: string; left: string; right: string; ops: string[] }[] = [
  { prefix: 'text', left: 'text', right: 'text', ops: ['~~', '!~~', '~~*', '!~~*'] },
  { prefix: 'bpchar', left: 'bpchar', right: 'text', ops: ['~~', '!~~', '~~*', '!~~*'] },
  { prefix: 'name', left: 'name', right: 'text', ops: ['~~', '!~~', '~~*', '!~~*'] },
  { prefix: 'bytea', left: 'bytea', right: 'bytea', ops: ['~~', '!~~'] },
];

const likeWrappers = LIKE_TYPES.flatMap(({ prefix, left, right, ops }) =>
  LIKE_OPERATORS.filter((o) => ops.includes(o.op)).map((o) => ({ ...o, left, right, wrapper: like(`${prefix}${o.fn}`, o.label, left, right) })),
);

const T = 'text';
const searchWrappers: Wrapper[] = [
  search('strpos', [['haystack', T], ['needle', T]], 'int4', 'haystack', ['needle']),
  search('replace', [['subject', T], ['search', T], ['replacement', T]], T, 'subject', ['search']),
  search('split_part', [['subject', T], ['delimiter', T], ['n', 'int4']], T, 'subject', ['delimiter']),
  search('string_to_array', [['subject', T], ['delimiter', T]], 'text[]', 'subject', ['delimiter'], false),
  search('string_to_array', [['subject', T], ['delimiter', T], ['null_string', T]], 'text[]', 'subject', ['delimiter'], false),
  search('string_to_table', [['subject', T], ['delimiter', T]], T, 'subject', ['delimiter'], false, true),
  search('string_to_table', [['subject', T], ['delimiter', T], ['null_string', T]], T, 'subject', ['delimiter'], false, true),
  search('btrim', [['subject', T], ['characters', T]], T, 'subject', ['characters']),
  search('ltrim', [['subject', T], ['characters', T]], T, 'subject', ['characters']),
  search('rtrim', [['subject', T], ['characters', T]], T, 'subject', ['characters']),
  search('btrim', [['subject', 'bytea'], ['characters', 'bytea']], 'bytea', 'subject', ['characters']),
  search('ltrim', [['subject', 'bytea'], ['characters', 'bytea']], 'bytea', 'subject', ['characters']),
  search('rtrim', [['subject', 'bytea'], ['characters', 'bytea']], 'bytea', 'subject', ['characters']),
  search('translate', [['subject', T], ['from_chars', T], ['to_chars', T]], T, 'subject', ['from_chars', 'to_chars']),
];

/** The built-ins (by C symbol) taken from PUBLIC: every pg_catalog function implemented by one. */
const REVOKED_SYMBOLS = [
  'textlike', 'textnlike', 'texticlike', 'texticnlike', 'bpcharlike', 'bpcharnlike', 'namelike', 'namenlike', 'nameiclike',
  'nameicnlike', 'bytealike', 'byteanlike', 'textpos', 'byteapos', 'replace_text', 'split_part', 'text_to_array',
  'text_to_array_null', 'text_to_table', 'text_to_table_null', 'btrim', 'ltrim', 'rtrim', 'byteatrim', 'bytealtrim',
  'byteartrim', 'translate',
];

function wrapperSql(w: Wrapper): string {
  const signature = w.args.map(([name, type]) => `${name} pg_catalog.${type}`).join(', ');
  const patternBytes = w.pattern.map((p) => `COALESCE(pg_catalog.octet_length(${p}), 0)::pg_catalog.int8`).join(' OPERATOR(pg_catalog.+) ');
  const call = `pg_catalog.${w.name}(${w.args.map(([name]) => name).join(', ')})`;
  // IF on NULL is false: a NULL argument never counts (non-strict built-ins get it as it is).
  const over = [
    `pg_catalog.octet_length(${w.subject})::pg_catalog.int8 OPERATOR(pg_catalog.*) (${patternBytes}) OPERATOR(pg_catalog.>) ${BUDGET}`,
    w.costly ?? `(${patternBytes}) OPERATOR(pg_catalog.>) 1`,
  ].join(' AND ');
  return /* SQL */ `
CREATE FUNCTION paige_bounded.${w.name}(${signature}) RETURNS ${w.setof ? 'SETOF ' : ''}pg_catalog.${w.returns}
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE ${w.strict ? 'STRICT ' : ''}SECURITY DEFINER AS $fn$
BEGIN
  IF ${over} THEN
    PERFORM paige_bounded.over_budget('${w.label}', pg_catalog.octet_length(${w.subject}), ${patternBytes});
  END IF;
  ${w.setof ? `RETURN QUERY SELECT ${call};` : `RETURN ${call};`}
END
$fn$;`;
}

const operatorSql = (o: (typeof likeWrappers)[number]) => /* SQL */ `
CREATE OPERATOR paige_bounded.${o.op} (
  LEFTARG = pg_catalog.${o.left}, RIGHTARG = pg_catalog.${o.right}, FUNCTION = paige_bounded.${o.wrapper.name},
  NEGATOR = OPERATOR(paige_bounded.${o.negator}), RESTRICT = pg_catalog.${o.restrict}, JOIN = pg_catalog.${o.join}
);`;

export const boundedMatching = /* SQL */ `
CREATE SCHEMA paige_bounded;
GRANT USAGE ON SCHEMA paige_bounded TO PUBLIC;

/** The one error of every wrapper: the budget, both lengths, and what to do. */
CREATE FUNCTION paige_bounded.over_budget(what text, subject_bytes int8, pattern_bytes int8) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  RAISE EXCEPTION USING
    ERRCODE = 'program_limit_exceeded',
    MESSAGE = format('%s: matching %s bytes against a pattern of %s bytes costs up to %s, over the budget of ${BUDGET} (subject bytes × pattern bytes) that keeps a statement interruptible; match a shorter value (substr) or a shorter pattern',
                     what, subject_bytes, pattern_bytes, subject_bytes * pattern_bytes);
END
$fn$;

/** The API's _like/_ilike filter, past the budget (src/db/where.sql.ts): its message, with the row's length. */
CREATE FUNCTION paige.filter_over_budget(message_start text, subject_bytes int8, message_end text, column_name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'program_limit_exceeded', MESSAGE = message_start || subject_bytes || message_end, COLUMN = column_name;
END
$fn$;
REVOKE EXECUTE ON FUNCTION paige.filter_over_budget(text, int8, text, text) FROM PUBLIC;
${likeWrappers.map((o) => wrapperSql(o.wrapper)).join('\n')}
${likeWrappers.map(operatorSql).join('\n')}
${searchWrappers.map(wrapperSql).join('\n')}

-- Only a superuser may change a pg_catalog function's privileges. Under a CREATEROLE platform
-- role the wrappers still win name resolution, but the built-ins stay reachable by their names.
DO $do$
DECLARE
  fn regprocedure;
BEGIN
  IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
    RETURN;
  END IF;
  FOR fn IN
    SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prolang = 12 -- internal
       AND p.prosrc = ANY (ARRAY['${REVOKED_SYMBOLS.join("', '")}'])
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
  END LOOP;
END
$do$;
`;
