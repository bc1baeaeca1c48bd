import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MATCH_BUDGET, likeMatches } from '../src/domain/like.js';
import { RAW_SQL_MATCH_BUDGET } from '../src/db/bounded-matching.js';
import { sqlAs, type Refusal } from './support/hostile.js';
import { superuserClient } from './support/postgres.js';
import { seededRandom } from './support/random.js';
import { expectError, rowApi } from './support/rows.js';
import { createTestProject, startTestServer, type GraphQLResponse, type TestProjectHandle, type TestServer } from './support/server.js';
import { ROW_CHANGES, subscribe } from './support/subscriptions.js';
import { expectUnharmed, startVictim, type Victim } from './support/victim.js';

/**
 * Issue 14, points 2, 4 and the `_like` half of 6: matching that Postgres cannot interrupt and
 * Node cannot preempt. Before migration 010 `repeat('a',1000000) LIKE '%'||repeat('a',12000)||'b'`
 * ran 11 s under the 5 s statement timeout, and cancel/terminate did not stop it; the `rows`
 * filter ran the same LIKE on a platform connection; a subscription's in-memory `_like` blocked
 * the whole process 23 s. Each attack must now end at once with an error naming the limit.
 */
let t: TestServer;
let attacker: TestProjectHandle;
let asAttacker: ReturnType<typeof sqlAs>;
let su: pg.Client;

const BIG = `repeat('a', 1000000)`;
const NEEDLE = `'b' || repeat('a', 12000)`;
const budgetMessage = new RegExp(`over the budget of ${RAW_SQL_MATCH_BUDGET} \\(subject bytes × pattern bytes\\)`);

beforeAll(async () => {
  t = await startTestServer();
  attacker = await createTestProject(t);
  asAttacker = sqlAs(t, attacker);
  su = await superuserClient();
  await rowApi(t, attacker).createTable({ name: 'notes', columns: [{ name: 'title', type: 'TEXT' }, { name: 'code', type: 'VARCHAR', maxLength: 20 }] });
});

afterAll(async () => {
  await su?.end();
});

/** The attacker's login role's statements still running: none may outlive its call. */
async function attackerBackends(): Promise<number> {
  const { rows } = await su.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active'`, [`p_${attacker.id}_login`]);
  return rows[0].n;
}

/** Runs the refusal; its error and how long it took. */
async function timedRefusal(refusal: Refusal) {
  const started = performance.now();
  const error = await asAttacker.refused(refusal);
  return { error, ms: performance.now() - started };
}

describe('raw SQL: quadratic matching has a cost budget', () => {
  const overBudget: Refusal[] = [
    [`select ${BIG} like '%' || repeat('a', 12000) || 'b'`, 'BAD_USER_INPUT', /^LIKE: matching 1000000 bytes against a pattern of 12002 bytes costs up to 12002000000, over the budget of 50000000/],
    [`select ${BIG} ilike '%' || repeat('a', 12000) || 'b'`, 'BAD_USER_INPUT', /^ILIKE: /],
    [`select ${BIG} not like '%' || repeat('a', 12000) || 'b'`, 'BAD_USER_INPUT', /^NOT LIKE: /],
    [`select ${BIG} not ilike '%' || repeat('a', 12000) || 'b'`, 'BAD_USER_INPUT', /^NOT ILIKE: /],
    [`select ${BIG} like '%' || repeat('a', 12000) || '#b' escape '#'`, 'BAD_USER_INPUT', /^LIKE: /],
    [`select ${BIG} like any (array['%' || repeat('a', 12000) || 'b'])`, 'BAD_USER_INPUT', /^LIKE: /],
    [`select ${BIG}::char(1000000) like '%' || repeat('a', 12000) || 'b'`, 'BAD_USER_INPUT', /^LIKE: /],
    [`select convert_to(${BIG}, 'UTF8') like convert_to('%' || repeat('a', 12000) || 'b', 'UTF8')`, 'BAD_USER_INPUT', /^LIKE: /],
    [`select strpos(${BIG}, ${NEEDLE})`, 'BAD_USER_INPUT', /^strpos: /],
    [`select replace(${BIG}, ${NEEDLE}, 'x')`, 'BAD_USER_INPUT', /^replace: /],
    [`select split_part(${BIG}, ${NEEDLE}, 2)`, 'BAD_USER_INPUT', /^split_part: /],
    [`select string_to_array(${BIG}, ${NEEDLE})`, 'BAD_USER_INPUT', /^string_to_array: /],
    [`select count(*) from string_to_table(${BIG}, ${NEEDLE})`, 'BAD_USER_INPUT', /^string_to_table: /],
    [`select btrim(${BIG}, 'b' || repeat('c', 12000) || 'a')`, 'BAD_USER_INPUT', /^btrim: /],
    [`select translate(${BIG}, repeat('c', 12000) || 'a', 'x')`, 'BAD_USER_INPUT', /^translate: /],
    [`select ltrim(convert_to(${BIG}, 'UTF8'), convert_to('b' || repeat('c', 12000) || 'a', 'UTF8'))`, 'BAD_USER_INPUT', /^ltrim: /],
    // A column of the project's own, through a DO block: the same wrapper.
    [`do $$ begin perform 1 where ${BIG} like '%' || repeat('a', 12000) || 'b'; end $$`, 'BAD_USER_INPUT', /^LIKE: /],
  ];

  it.each(overBudget)('%s is refused at once, naming the budget and both lengths', async (...refusal) => {
    const { error, ms } = await timedRefusal(refusal);
    expect(error.message).toMatch(budgetMessage);
    expect(error.extensions?.sqlState).toBe('54000');
    // Unbounded, each of these ran for seconds (the LIKE 11 s); a generous bound for a loaded machine.
    expect(ms).toBeLessThan(2_000);
    expect(await attackerBackends()).toBe(0);
  }, 60_000);

  const refusedBuiltins: Refusal[] = [
    [`select position((${NEEDLE}) in ${BIG})`, 'FORBIDDEN', /^position: this built-in is not available to raw SQL.*use strpos\(string, substring\)/],
    [`select 'abc' operator(pg_catalog.~~) 'a%'`, 'FORBIDDEN', /^textlike: .*the LIKE operator/],
    [`select 'abc' operator(pg_catalog.~~*) 'a%'`, 'FORBIDDEN', /^texticlike: .*the ILIKE operator/],
    [`select pg_catalog.textlike(${BIG}, '%' || repeat('a', 12000) || 'b')`, 'FORBIDDEN', /^textlike: /],
    [`select pg_catalog.like('abc', 'a%')`, 'FORBIDDEN', /^like: /],
    [`select pg_catalog.strpos('abc', 'b')`, 'FORBIDDEN', /^strpos: .*without "pg_catalog\."/],
    [`select pg_catalog.replace('abc', 'b', 'c')`, 'FORBIDDEN', /^replace: /],
    [`select trim(both 'x' from 'xax')`, 'FORBIDDEN', /^btrim: .*TRIM\(BOTH c FROM s\) is btrim\(s, c\)/],
    [`select position('\\x62'::bytea in '\\x6162'::bytea)`, 'FORBIDDEN', /^position: /],
    [`select convert_to('a', 'UTF8') operator(pg_catalog.~~) convert_to('a', 'UTF8')`, 'FORBIDDEN', /^bytealike: /],
  ];

  it.each(refusedBuiltins)('%s: the built-in itself is refused (FORBIDDEN), naming what to use', async (...refusal) => {
    await asAttacker.refused(refusal);
  });

  it('matches within the budget answer as the built-ins do (LIKE, ESCAPE, NULL, char, varchar, bytea, the searches)', async () => {
    await asAttacker.ok(`insert into notes (title, code) values ('Hello World', 'x_y'), (null, null), ('50% off', 'AB')`);
    const checks = [
      `select title like 'Hello%' a, title ilike '%WORLD' b, title not like '%o_' c, title not ilike 'h%' d, code like 'x\\_y' e, code ilike 'ab' f, title like '50#%%' escape '#' g, code::char(5) like 'AB%' h, code::char(5) like 'AB' i from notes order by title`,
      `select strpos('hello', 'll') a, replace('hello', 'l', 'L') b, split_part('a,b,c', ',', 2) c, string_to_array('a,b', ',') d, string_to_array('abc', null) e, btrim('xxhixx', 'x') f, ltrim('xxhi', 'x') g, rtrim('hixx', 'x') h, translate('hello', 'el', 'ip') i, trim('  a  ') j, ltrim('  a') k`,
      `select array(select string_to_table('a,b,,c', ',', '')) a, convert_to('hi', 'UTF8') like convert_to('h%', 'UTF8') b, convert_to('hi', 'UTF8') not like convert_to('%x', 'UTF8') c, 'pg_class'::name like 'pg\\_%' d, 'PG'::name ilike 'pg' e`,
      `select ${BIG} like 'a%' a, ${BIG} like '%' b, strpos(${BIG}, 'b') c, replace(${BIG}, 'a', '') = '' d, length(btrim(${BIG}, 'a')) e`,
      `select 'aa' like any (array['b%', 'a%']) a, 'aa' like all (array['b%', 'a%']) b, null::text like 'a' c, 'a' like null d, strpos(null, 'a') e`,
    ];
    for (const text of checks) {
      const bounded = await asAttacker.ok(text);
      const builtIn = await su.query(text.replace(/\bnotes\b/, `"${attacker.schema}".notes`));
      expect(bounded.rows, text).toEqual(JSON.parse(JSON.stringify(builtIn.rows)));
    }
  });

  it('500 random LIKE and ILIKE patterns answer as the built-ins do', async () => {
    const { int, pick } = seededRandom(14);
    const pieces = ['a', 'b', 'A', '%', '_', '\\%', '\\_', '\\\\', 'é', 'É', '😀', '.', '*'];
    const patterns = Array.from({ length: 500 }, () => Array.from({ length: 1 + int(6) }, () => pick(pieces)).join(''));
    const subjects = Array.from({ length: 500 }, () => Array.from({ length: int(8) }, () => pick(['a', 'b', 'A', 'B', '%', '_', '\\', 'é', 'É', '😀', '.'])).join(''));
    const text = `select s like p l, s ilike p i, s not like p nl, s not ilike p ni from unnest($1::text[], $2::text[]) with ordinality x(s, p, n) order by n`;
    const bounded = await asAttacker.ok(text, [subjects, patterns]);
    const builtIn = await su.query(text, [subjects, patterns]);
    expect(bounded.rows).toEqual(builtIn.rows);
    // The in-memory matcher of subscriptions answers the same.
    subjects.forEach((subject, i) => {
      expect(likeMatches(patterns[i]!, subject, false), `${subject} LIKE ${patterns[i]}`).toBe(builtIn.rows[i].l);
      expect(likeMatches(patterns[i]!, subject, true), `${subject} ILIKE ${patterns[i]}`).toBe(builtIn.rows[i].i);
    });
  });

  it('the planner still estimates LIKE with its own selectivity function, and the platform (a superuser) keeps the built-ins', async () => {
    const plan = await asAttacker.ok(`explain select * from notes where title like 'Hello%'`);
    expect(JSON.stringify(plan.rows)).toMatch(/Filter: \(title ~~ 'Hello%'::text\)/);
    const { rows } = await su.query(`select 'abc' operator(pg_catalog.~~) 'a%' a, position('b' in 'abc') b`);
    expect(rows[0]).toEqual({ a: true, b: 2 });
  });
});

describe('a bystander while the attacker matches', () => {
  /** One attacker's loop: a call, then a pause; every call must end with `code` (none: succeed). */
  interface Sender {
    send: () => Promise<GraphQLResponse>;
    pauseMs: number;
    code: string;
  }

  /** The victim measures while every sender loops; returns its figures once all have stopped. */
  async function measureWhile(victim: Victim, senders: Sender[]) {
    let sending = true;
    const loops = senders.map(async ({ send, pauseMs, code }) => {
      let refused = 0;
      while (sending) {
        const result = await send();
        expect(result.errors?.[0]?.extensions?.code ?? 'none', JSON.stringify(result).slice(0, 300)).toBe(code);
        refused++;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
      return refused;
    });
    // 100 samples: the p99 is then the second-slowest, not one scheduler hiccup.
    const figures = await victim.measure(100);
    sending = false;
    expect((await Promise.all(loops)).every((n) => n > 0)).toBe(true);
    return figures;
  }

  it('keeps its insert and delivery p99 while raw SQL LIKE/strpos and 24 rows reads with an over-budget _like run', async () => {
    const victim = await startVictim(t);
    const api = rowApi(t, attacker);
    await api.createTable({ name: 'big', columns: [{ name: 'title', type: 'TEXT' }] });
    await asAttacker.ok(`insert into big (title) values (repeat('a', 1000000))`);
    const rowsWith = (like: string, code: string): Sender => ({ send: () => api.rows('big', { where: { title: { _like: like } }, first: 1 }), pauseMs: 1_000, code });
    const sqlOf = (text: string): Sender => ({ send: () => asAttacker.run(text), pauseMs: 100, code: 'BAD_USER_INPUT' });
    // "Quiet" carries as many calls of a cheap kind (a linear _like on the same row, a division by zero):
    // on this shared 2-core machine any 40 calls a second move a p99; what is measured is the
    // attack's own cost. Unbounded, one LIKE of the attack held a core (and, in `rows`, a
    // platform connection) for 11 s, so the pauses take nothing from it: 24 reads took every
    // connection of the platform pool (20) for as long as the attack lasted.
    const cheap: Sender[] = [sqlOf('select 1/0'), sqlOf('select 1/0'), ...Array.from({ length: 24 }, () => rowsWith('x%', 'none'))];
    const attack: Sender[] = [
      sqlOf(`select ${BIG} like '%' || repeat('a', 12000) || 'b'`),
      sqlOf(`select strpos(${BIG}, ${NEEDLE})`),
      ...Array.from({ length: 24 }, () => rowsWith(`%${'a'.repeat(12000)}b`, 'BAD_USER_INPUT')),
    ];
    const quiet = await measureWhile(victim, cheap);
    const attacked = await measureWhile(victim, attack);
    expectUnharmed(quiet, attacked, 'raw SQL LIKE + strpos and 24 rows reads with an over-budget _like');
    expect(await attackerBackends()).toBe(0);
  }, 300_000);
});

describe('the _like filter', () => {
  const bigPattern = `%${'a'.repeat(5000)}b`;
  const limit = Math.floor(MATCH_BUDGET / 5002);
  const expectedMessage = `column "title": _like with a pattern of 5002 bytes (a % before its end) may only be matched against values of at most ${limit} bytes (the matching budget: value bytes × pattern bytes ≤ ${MATCH_BUDGET}); this value has 1000000 bytes. Use a shorter pattern, or filter on something shorter than the whole value`;

  it('Table.rows, updateRows and deleteRows: a value over the budget is BAD_USER_INPUT naming the column and the limit, at once', async () => {
    const project = await createTestProject(t);
    const api = rowApi(t, project);
    await api.createTable({ name: 'docs', columns: [{ name: 'title', type: 'TEXT' }, { name: 'n', type: 'INTEGER' }] });
    await sqlAs(t, project).ok(`insert into docs (title, n) values ('small', 1), (repeat('a', 1000000), 2)`);
    const started = performance.now();
    const result = await api.rows('docs', { where: { title: { _like: bigPattern } } });
    const ms = performance.now() - started;
    const error = expectError(result, 'BAD_USER_INPUT', expectedMessage);
    expect(error.extensions).toMatchObject({ column: 'title', limit: MATCH_BUDGET });
    expect(ms).toBeLessThan(2_000);
    // Whatever the rest of the filter says: the check comes first, as in rowChanges.
    expectError(await api.rows('docs', { where: { _or: [{ n: { _eq: 2 } }, { title: { _like: bigPattern } }] } }), 'BAD_USER_INPUT', expectedMessage);
    expectError(await api.update('docs', { title: { _ilike: bigPattern } }, { n: 3 }), 'BAD_USER_INPUT', expectedMessage.replace('_like', '_ilike'));
    expectError(await api.remove('docs', { title: { _like: bigPattern } }), 'BAD_USER_INPUT', expectedMessage);
    // Within the budget, and patterns that are linear whatever the value, still answer.
    expect((await api.page('docs', { where: { title: { _like: '%all' } } })).nodes).toHaveLength(1);
    expect((await api.page('docs', { where: { title: { _like: 'aaa%' } } })).nodes).toHaveLength(1);
    expectError(await api.rows('docs', { where: { n: { _eq: 1 }, title: { _like: bigPattern } } }), 'BAD_USER_INPUT', expectedMessage);
  }, 60_000);

  it('rowChanges: the subscription ends with the same error, and /healthz answers within 200 ms throughout', async () => {
    const project = await createTestProject(t);
    const api = rowApi(t, project);
    await api.createTable({ name: 'docs', columns: [{ name: 'title', type: 'TEXT' }] });
    const sub = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'docs', where: { title: { _like: bigPattern } } });
    // No value can match this pattern within the budget (it needs 5001 bytes): a small row is just not an event.
    await sqlAs(t, project).ok(`insert into docs (title) values ('aab')`);
    const health = new URL('/healthz', t.url);
    let polling = true;
    let slowest = 0;
    const poller = (async () => {
      while (polling) {
        const started = performance.now();
        expect((await fetch(health)).status).toBe(200);
        slowest = Math.max(slowest, performance.now() - started);
      }
    })();
    await sqlAs(t, project).ok(`insert into docs (title) values (repeat('a', 1000000))`);
    await sub.ended(30_000).catch(() => {});
    polling = false;
    await poller;
    expect(sub.payloads).toHaveLength(1);
    const [error] = sub.payloads[0]!.errors ?? [];
    expect(error?.message, JSON.stringify(sub.payloads[0])).toBe(expectedMessage);
    expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', column: 'title', limit: MATCH_BUDGET });
    console.log(`slowest /healthz while the hub filtered the 1 MB row: ${slowest.toFixed(0)} ms`);
    expect(slowest, 'the slowest /healthz while the hub filtered the 1 MB row').toBeLessThan(200);
    // The same filter over HTTP fails with the same words (parity of rows and rowChanges).
    expectError(await api.rows('docs', { where: { title: { _like: bigPattern } } }), 'BAD_USER_INPUT', expectedMessage);
  }, 60_000);

  it('rowChanges with since: the replayed changes before the over-budget row, then the error', async () => {
    const project = await createTestProject(t);
    const api = rowApi(t, project);
    await api.createTable({ name: 'docs', columns: [{ name: 'title', type: 'TEXT' }] });
    const first = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'docs' });
    const asProject = sqlAs(t, project);
    await asProject.ok(`insert into docs (title) values ('start')`);
    const [start] = await first.waitFor(1);
    await asProject.ok(`insert into docs (title) values ('aab')`);
    await asProject.ok(`insert into docs (title) values (repeat('a', 2000000))`);
    await first.waitFor(3);
    // `%ab%` (4 bytes) may meet values of up to 1,250,000 bytes: 'aab' matches, the 2 MB row is over.
    const replay = await subscribe(t, project.token, ROW_CHANGES, { p: project.id, t: 'docs', where: { title: { _like: '%ab%' } }, since: start!.data!.rowChanges.cursor });
    await replay.ended(30_000).catch(() => {});
    expect(replay.payloads.map((p) => p.data?.rowChanges?.row?.title ?? p.errors?.[0]?.message)).toEqual([
      'aab',
      `column "title": _like with a pattern of 4 bytes (a % before its end) may only be matched against values of at most 1250000 bytes (the matching budget: value bytes × pattern bytes ≤ ${MATCH_BUDGET}); this value has 2000000 bytes. Use a shorter pattern, or filter on something shorter than the whole value`,
    ]);
  }, 60_000);

  it('the in-memory matcher stays within ~50 ms at the budget on its slowest known inputs', () => {
    const cases = ['%ab%', '%aab%', '%a_b%', `%${'a_'.repeat(200)}b`, `%${'_'.repeat(2000)}b`, `%b${'a'.repeat(3000)}`];
    const slowest = Math.max(
      ...cases.map((pattern) => {
        const subject = Buffer.from('a'.repeat(Math.floor(MATCH_BUDGET / Buffer.byteLength(pattern)))).toString();
        const started = performance.now();
        likeMatches(pattern, subject, true);
        return performance.now() - started;
      }),
    );
    // 10-50 ms measured on this shared 2-core machine (load 3 to 14); the aim is ~50 ms for one
    // match, asserted with room for the machine's own stalls (the old matcher took 23 s).
    expect(slowest).toBeLessThan(100);
  });
});
