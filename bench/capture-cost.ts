/**
 * `npx tsx bench/capture-cost.ts`: what change capture costs one writer, and where the floor is.
 * Single-row autocommit INSERTs, closed loop, 1, 8 and 32 writers, into identical tables that
 * differ only in their triggers (rounds interleaved, so load from other work hits all of them):
 *
 * - `captured`: made by createTable, so it has whatever capture the current code attaches;
 * - `legacy`: the capture of migration 002 (one generic function that builds its INSERT from the
 *   catalog and EXECUTEs it on every statement), attached by hand: the "before" of this run;
 * - `log_only`: the change-log rows of `captured`'s function without the commit marker (so no
 *   stamp, no lock, no NOTIFY): the most any wake-up design that keeps the log could reach;
 * - `stamp_only`: only the commit marker (deferred stamp: table lock, sequence, NOTIFY), no log row;
 * - `notify_only`: only `pg_notify` with an empty payload, no lock of ours: Postgres's own
 *   NOTIFY serialisation, the floor of any design that NOTIFYs once per transaction;
 * - `barrier`: the writer's side of an alternative design: the log rows and a commit stamp taken
 *   under a SHARED lock (writers do not wait for each other; a reader would take the lock
 *   EXCLUSIVE for an instant, wait for the stampers in flight and then read every seq up to the
 *   sequence's value: nothing skipped) and no NOTIFY per transaction (readers woken otherwise);
 * - `plain`: no trigger at all (the capture triggers of a createTable table, disabled).
 *
 * Then, from pg_stat_user_functions (track_functions = pl in the writers' sessions), the server
 * time each trigger function took per call: the per-statement cost without the WAL flush and
 * without the noise of other work on the machine.
 *
 * Env: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_ROUND_MS
 * (default 2000), BENCH_SYNCHRONOUS_COMMIT (e.g. off: the writers' commits do not wait for the
 * flush, which shows what is left when the flush is not serialised). A database is created and
 * dropped.
 */
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/db/migrate.js';
import { createProject, projectNames } from '../src/db/projects.js';
import { createTable } from '../src/db/ddl.js';
import pg from 'pg';
import { qualify, quoteLiteral } from '../src/db/identifiers.js';
import type { ColumnSpec } from '../src/db/sql/ddl.sql.js';
import { closedLoopCalls, mergeRounds, type Round } from './lib/http-load.js';
import { createBenchDatabase, rememberRoles } from './lib/setup.js';
import { fmt } from './lib/stats.js';

const roundMs = Number(process.env.BENCH_ROUND_MS ?? 2000);
const database = await createBenchDatabase(process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const column = (name: string, type: ColumnSpec['type'], nullable = true): ColumnSpec => ({ name, type, nullable, unique: false, maxLength: null, default: null });
const columns = [column('guest', 'text', false), column('nights', 'integer'), column('amount', 'numeric')];
const kinds = ['captured', 'legacy', 'log_only', 'stamp_only', 'notify_only', 'barrier', 'plain'] as const;
type Kind = (typeof kinds)[number];

const synchronousCommit = process.env.BENCH_SYNCHRONOUS_COMMIT ?? 'on';
if (!/^(on|off|local|remote_write|remote_apply)$/.test(synchronousCommit)) throw new Error(`BENCH_SYNCHRONOUS_COMMIT=${synchronousCommit} is not a synchronous_commit value`);
// Superuser writers: track_functions (for the per-call times below) is a superuser setting.
const writers = new pg.Pool({
  connectionString: database.url,
  max: 32,
  application_name: 'paige-bench-writers',
  options: `-c track_functions=pl -c synchronous_commit=${synchronousCommit}`,
});
// An idle writer's session ending (a restart, too many clients) must not end the run unreported.
writers.on('error', (error) => console.error(`idle writer session failed: ${error.message}`));
try {
  const admin = database.admin;
  await migrate(admin, createLogger('warn'));
  const project = await createProject(admin, 'capture-cost');
  const names = projectNames(project.id);
  rememberRoles(names.owner, names.login);
  const table = (kind: Kind) => qualify(project.schemaName, kind);
  for (const kind of kinds) await createTable(admin, { kind: 'ADMIN' }, project, { name: kind, columns, primaryKey: null });
  for (const kind of kinds.filter((k) => k !== 'captured')) await admin.query(`ALTER TABLE ${table(kind)} DISABLE TRIGGER USER`);
  await admin.query(/* SQL */ `
    CREATE TRIGGER legacy_insert AFTER INSERT ON ${table('legacy')}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION paige.capture_changes();
    CREATE FUNCTION public.bench_stamp_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO paige.change_commits (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
      RETURN NULL;
    END $$;
    CREATE TRIGGER stamp_only AFTER INSERT ON ${table('stamp_only')} FOR EACH STATEMENT EXECUTE FUNCTION public.bench_stamp_only();
    CREATE FUNCTION public.bench_notify_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('paige_bench_floor', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER notify_only AFTER INSERT ON ${table('notify_only')} FOR EACH STATEMENT EXECUTE FUNCTION public.bench_notify_only();
    DO $$ BEGIN
      EXECUTE format('CREATE FUNCTION public.bench_log_only() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET "TimeZone" = %L AS %L',
        'UTC', regexp_replace(paige.capture_function_body(${quoteLiteral(table('log_only'))}::regclass), 'IF FOUND THEN.*?END IF;', ''));
    END $$;
    CREATE TRIGGER log_only AFTER INSERT ON ${table('log_only')}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.bench_log_only();
    CREATE TABLE public.bench_commits (xid xid8 PRIMARY KEY, seq bigint UNIQUE);
    CREATE SEQUENCE public.bench_commit_seq AS bigint;
    CREATE TABLE public.bench_commit_lock ();
    CREATE FUNCTION public.bench_shared_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      LOCK TABLE public.bench_commit_lock IN ROW SHARE MODE;
      UPDATE public.bench_commits SET seq = nextval('public.bench_commit_seq') WHERE xid = NEW.xid;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER bench_shared_stamp AFTER INSERT ON public.bench_commits
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.bench_shared_stamp();
    DO $$ BEGIN
      EXECUTE format('CREATE FUNCTION public.bench_barrier() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET "TimeZone" = %L AS %L',
        'UTC', replace(paige.capture_function_body(${quoteLiteral(table('barrier'))}::regclass), 'paige.change_commits', 'public.bench_commits'));
    END $$;
    CREATE TRIGGER barrier AFTER INSERT ON ${table('barrier')}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.bench_barrier();`);
  const { rows: triggers } = await admin.query<{ table: string; triggers: string }>(
    `SELECT c.relname AS "table", string_agg(t.tgname || ' → ' || t.tgfoid::regproc || CASE t.tgenabled WHEN 'D' THEN ' (disabled)' ELSE '' END, ', ' ORDER BY t.tgname) AS triggers
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal AND (t.tgname LIKE '%insert%' OR t.tgname IN ('log_only', 'stamp_only', 'notify_only', 'barrier')) GROUP BY 1 ORDER BY 1`,
    [project.schemaName],
  );
  for (const t of triggers) console.log(`${t.table}: ${t.triggers}`);

  const insert = (kind: Kind) => async (i: number) => {
    await writers.query(`INSERT INTO ${table(kind)} (guest, nights, amount) VALUES ($1, $2, $3)`, [`writer ${i}`, i % 14, `${i}.50`]);
  };
  for (const kind of kinds) await closedLoopCalls(32, 300, insert(kind));
  console.log(`\nsingle-row autocommit inserts, ${roundMs} ms rounds, 2 rounds each, interleaved`);
  for (const count of [1, 8, 32]) {
    const rounds = new Map<Kind, Round[]>(kinds.map((k) => [k, []]));
    for (let r = 0; r < 2; r++) {
      for (const kind of r % 2 === 0 ? kinds : [...kinds].reverse()) rounds.get(kind)!.push(await closedLoopCalls(count, roundMs, insert(kind)));
    }
    const plain = mergeRounds(rounds.get('plain')!).rps;
    for (const kind of kinds) {
      const result = mergeRounds(rounds.get(kind)!);
      console.log(
        `${String(count).padStart(2)} writers ${kind.padEnd(11)} ${fmt(result.rps).padStart(6)} inserts/s  ${(result.rps / plain).toFixed(2)}× plain  ` +
          `p50 ${fmt(result.p50)} ms  p99 ${fmt(result.p99)} ms  ${result.failures} failed${result.firstFailure ? ` (${result.firstFailure})` : ''}`,
      );
    }
  }
  // The captured tables must have logged every insert, and exactly once.
  const { rows } = await admin.query<{ table: string; rows: string; logged: string }>(
    `SELECT t.name AS "table", t.n AS rows,
            (SELECT count(*) FROM paige.change_log l WHERE l.schema_name = $1 AND l.table_name = t.name AND l.op = 'INSERT') AS logged
       FROM (SELECT 'captured' AS name, (SELECT count(*) FROM ${table('captured')}) AS n
             UNION ALL SELECT 'legacy', (SELECT count(*) FROM ${table('legacy')})) t`,
    [project.schemaName],
  );
  for (const r of rows) console.log(`${r.table}: ${r.rows} rows, ${r.logged} logged${r.rows === r.logged ? '' : '  CHECK FAILED'}`);
  // Sessions report their function statistics when idle for a second.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const { rows: functions } = await admin.query<{ name: string; calls: string; total: number; self: number }>(
    `SELECT schemaname || '.' || funcname AS name, calls, total_time / calls AS total, self_time / calls AS self
       FROM pg_stat_user_functions WHERE calls > 0 ORDER BY total_time DESC`,
  );
  console.log(`\nserver time per call (synchronous_commit ${synchronousCommit}):`);
  for (const f of functions) console.log(`  ${f.name.padEnd(34)} ${String(f.calls).padStart(7)} calls  ${f.total.toFixed(3)} ms total, ${f.self.toFixed(3)} ms self`);
} finally {
  await writers.end();
  await database.drop();
}
