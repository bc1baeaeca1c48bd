/**
 * What one tenant could hold that every other project needs (issue 14, points 1, 3 and 8).
 *
 * - The commit stamp (trigger capture) takes `paige.change_commit_lock` EXCLUSIVE until its
 *   transaction ends. It is a deferred trigger so that this is the commit itself, but
 *   `SET CONSTRAINTS ALL IMMEDIATE` fires it early: `DO $$ ... INSERT ...; SET CONSTRAINTS ALL
 *   IMMEDIATE; PERFORM pg_sleep(4.5) $$` held every project's commits for 4.5 s. A session that
 *   is not the platform's (a project's login role, through `sql` or its own connection) may now
 *   stamp only at a commit, checked before the lock is taken so the refused statement holds
 *   nothing:
 *   * at an explicit `COMMIT` / `END` (what the API sends for raw SQL, which it always marks);
 *   * a transaction the API marked (raw `sql`) nowhere else;
 *   * an unmarked session (the login role's own connection) also at the implicit commit of a
 *     statement outside a transaction block, told apart from an early firing by the stamp having
 *     no caller (a DO block or EXECUTE shows in PG_CONTEXT) and the statement not naming
 *     CONSTRAINTS (a keyword that cannot be quoted or escaped, so a top-level SET CONSTRAINTS
 *     always spells it) or PREPARE (PREPARE TRANSACTION also fires deferred triggers and would
 *     keep the lock until COMMIT PREPARED).
 *   Refused with SQLSTATE 55000, which raw SQL reports as BAD_USER_INPUT.
 * - Postgres' lock table is one per cluster, sized max_locks_per_transaction × connections, and
 *   a lock Postgres cannot fit in it fails whatever asked for it ("out of shared memory", 53200),
 *   in every database. Advisory locks (one entry per key, as many keys as a DO loop likes) and
 *   large objects (DROP OWNED takes a lock per object, so 30,000 of them made the project
 *   undeletable) are taken from PUBLIC. The platform is a superuser: it keeps both.
 * - The statistics views and functions (pg_stat_all_tables and relatives, pg_stat_get_*(oid))
 *   showed every project's row counts and write counters and the platform's table sizes to any
 *   role; they are taken from PUBLIC too. SECURITY.md promises names only.
 * - The platform's NOTIFY channels are named after the platform secret
 *   (`paige.notify_channel(base)`, src/db/notify-channels.ts): a tenant's 380,000 forged
 *   notifications on paige_metadata, each answered by every process, delayed another project's
 *   insertRows to 4.8 s. The stamp and the outside-DDL trigger notify the new names.
 */
export const tenantContention = /* SQL */ `
CREATE FUNCTION paige.notify_channel(base text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT base || '_' || substr(encode(sha256(convert_to(s.value || ':notify-channels', 'UTF8')), 'hex'), 1, 16)
    FROM paige.settings s WHERE s.key = 'role_secret';
$fn$;
REVOKE ALL ON FUNCTION paige.notify_channel(text) FROM PUBLIC;

CREATE FUNCTION paige.stamp_allowed(marked boolean) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  stack text;
BEGIN
  IF current_query() ~* '^\\s*(commit|end)(\\s+(work|transaction))?\\s*;?\\s*$' THEN
    RETURN true;
  END IF;
  IF marked THEN
    RETURN false;
  END IF;
  GET DIAGNOSTICS stack = PG_CONTEXT;
  -- At a commit the stamp is the outermost function: nothing (a DO block, an EXECUTE) above it.
  RETURN stack ~ 'PL/pgSQL function paige\\.stamp_commit\\(\\) line \\d+ at [^\\n]*$' AND current_query() !~* '(constraints|prepare)';
END
$fn$;
REVOKE ALL ON FUNCTION paige.stamp_allowed(boolean) FROM PUBLIC;

/** As in 007, refusing a stamp fired before the commit in a session that is not the platform's; the channel named after the secret. */
CREATE OR REPLACE FUNCTION paige.stamp_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  written_by jsonb;
  -- Named before the lock: every commit of the database waits while this one holds it.
  channel text := paige.notify_channel('paige_changes');
BEGIN
  DELETE FROM paige.transaction_actors a WHERE a.xid = NEW.xid RETURNING a.actor INTO written_by;
  -- current_user is the platform role here (the owner); session_user whoever logged in.
  IF session_user <> current_user AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
     AND NOT paige.stamp_allowed(written_by IS NOT NULL) THEN
    RAISE EXCEPTION 'a write by a project role is stamped at its COMMIT only: SET CONSTRAINTS ... IMMEDIATE (or PREPARE TRANSACTION) after a write would hold every project''s commits'
      USING ERRCODE = '55000', HINT = 'Leave the capture constraint deferred; outside the API, write in BEGIN ... COMMIT.';
  END IF;
  -- Held until this transaction's commit is visible: the next stamper waits for it, so a
  -- higher seq can never become visible before a lower one.
  LOCK TABLE paige.change_commit_lock IN EXCLUSIVE MODE;
  UPDATE paige.change_commits
     SET seq = nextval('paige.change_commit_seq'), committed_at = clock_timestamp(), actor = written_by
   WHERE xid = NEW.xid;
  PERFORM pg_notify(channel, '');
  RETURN NULL;
END
$fn$;

DO $revoke$
DECLARE
  fn regprocedure;
BEGIN
  FOR fn IN
    SELECT p.oid::regprocedure FROM pg_proc p
     WHERE p.pronamespace = 'pg_catalog'::regnamespace
       AND (p.proname LIKE 'pg\\_%advisory\\_%'
            OR p.proname IN ('lo_create', 'lo_creat', 'lo_from_bytea', 'lo_import')
            -- Per table, index, sequence and function (an oid); not the per-database or per-backend ones.
            OR (p.proname LIKE 'pg\\_stat\\_get\\_%' AND p.proargtypes = '26'::oidvector
                AND p.proname NOT LIKE 'pg\\_stat\\_get\\_db\\_%' AND p.proname NOT LIKE 'pg\\_stat\\_get\\_subscription%'))
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
  END LOOP;
END
$revoke$;

/** As in 006, notifying the metadata channel named after the secret. */
CREATE OR REPLACE FUNCTION paige.follow_outside_alter() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  changed record;
BEGIN
  IF current_setting('paige.api_ddl', true) = 'on' THEN
    RETURN;
  END IF;
  FOR changed IN
    SELECT DISTINCT d.command_tag, c.oid AS rel, n.nspname AS schema_name, c.relname AS table_name
      FROM pg_event_trigger_ddl_commands() d
      JOIN pg_class c ON c.oid = d.objid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     -- Any object_type: RENAME COLUMN reports 'table column' (objid is still the table's oid).
     WHERE d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p')
       AND EXISTS (SELECT 1 FROM paige.projects p WHERE p.schema_name = n.nspname)
  LOOP
    IF changed.command_tag = 'CREATE TABLE' THEN
      PERFORM set_config('paige.api_ddl', 'on', true);
      PERFORM paige.attach_capture(changed.schema_name, changed.table_name);
      PERFORM set_config('paige.api_ddl', '', true);
      PERFORM paige.record_table_change(changed.schema_name, changed.table_name, 'CREATED', NULL);
    ELSIF paige.capture_mode() = 'logical' OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = changed.rel AND t.tgname = 'paige_capture_insert') THEN
      PERFORM paige.record_table_change(changed.schema_name, changed.table_name, 'ALTERED', NULL);
    ELSE
      CONTINUE;
    END IF;
    PERFORM pg_notify(paige.notify_channel('paige_metadata'), paige.metadata_payload('tables', changed.schema_name));
  END LOOP;
END
$fn$;

REVOKE SELECT ON
  pg_catalog.pg_stat_all_tables, pg_catalog.pg_stat_user_tables, pg_catalog.pg_stat_sys_tables,
  pg_catalog.pg_stat_xact_all_tables, pg_catalog.pg_stat_xact_user_tables, pg_catalog.pg_stat_xact_sys_tables,
  pg_catalog.pg_statio_all_tables, pg_catalog.pg_statio_user_tables, pg_catalog.pg_statio_sys_tables,
  pg_catalog.pg_stat_all_indexes, pg_catalog.pg_stat_user_indexes, pg_catalog.pg_stat_sys_indexes,
  pg_catalog.pg_statio_all_indexes, pg_catalog.pg_statio_user_indexes, pg_catalog.pg_statio_sys_indexes,
  pg_catalog.pg_statio_all_sequences, pg_catalog.pg_statio_user_sequences, pg_catalog.pg_statio_sys_sequences,
  pg_catalog.pg_stat_user_functions, pg_catalog.pg_stat_xact_user_functions
FROM PUBLIC;
`;
