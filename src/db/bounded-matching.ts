import { DomainError } from '../domain/errors.js';

/**
 * The most (value bytes × pattern bytes) one LIKE, strpos, replace… of a project role's raw SQL
 * may cost (migration 010 has the number): about 70 ms at worst in Postgres 15, so a cancel or
 * the statement timeout is never later than that. A filter's `_like` has its own, smaller budget
 * (MATCH_BUDGET, src/domain/like.ts), as it also runs on the event loop.
 */
export const RAW_SQL_MATCH_BUDGET = 50_000_000;

/**
 * The built-ins that migration 010 takes from project roles (their matching cannot be
 * interrupted), and what raw SQL can use instead: the wrapper of the same name in
 * `paige_bounded`, found first on raw SQL's search_path, which refuses a match over the budget.
 * A call reaches the built-in itself only when written `pg_catalog.name(...)`, as
 * `OPERATOR(pg_catalog.~~)`, or through SQL syntax that Postgres compiles straight to
 * pg_catalog: `POSITION(a IN b)` and `TRIM(... FROM ...)`.
 */
const INSTEAD = new Map<string, string>([
  ['position', 'strpos(string, substring) (POSITION(a IN b) is strpos(b, a); for bytea, compare with LIKE)'],
  ['btrim', 'btrim(string, characters) (TRIM(BOTH c FROM s) is btrim(s, c))'],
  ['ltrim', 'ltrim(string, characters) (TRIM(LEADING c FROM s) is ltrim(s, c))'],
  ['rtrim', 'rtrim(string, characters) (TRIM(TRAILING c FROM s) is rtrim(s, c))'],
  ['like', 'the LIKE operator'],
  ['notlike', 'the NOT LIKE operator'],
]);
for (const name of ['strpos', 'replace', 'split_part', 'string_to_array', 'string_to_table', 'translate']) INSTEAD.set(name, `${name}(...) without "pg_catalog."`);
for (const type of ['text', 'bpchar', 'name', 'bytea']) {
  for (const [suffix, operator] of [['like', 'LIKE'], ['nlike', 'NOT LIKE'], ['iclike', 'ILIKE'], ['icnlike', 'NOT ILIKE']] as const) {
    INSTEAD.set(`${type}${suffix}`, `the ${operator} operator (unqualified, not OPERATOR(pg_catalog....))`);
  }
}

/** `permission denied for function position` → FORBIDDEN saying why and what to use; undefined for any other refusal. */
export function refusedMatcher(message: string): DomainError | undefined {
  const name = /^permission denied for function (\w+)$/.exec(message)?.[1];
  const instead = name === undefined ? undefined : INSTEAD.get(name);
  if (instead === undefined) return undefined;
  return new DomainError(
    'FORBIDDEN',
    `${name}: this built-in is not available to raw SQL, because Postgres cannot interrupt its matching (it could outrun the statement timeout); use ${instead}, which refuses a match over the budget of ${RAW_SQL_MATCH_BUDGET} (value bytes × pattern bytes) first`,
    { function: name },
  );
}
