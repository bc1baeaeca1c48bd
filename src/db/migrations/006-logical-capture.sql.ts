/**
 * Capture from the write-ahead log (DESIGN.md "Live changes"), beside the trigger capture of 002
 * and 003, which stays as the fallback. Which one a database runs is `paige.settings`
 * 'capture_mode' ('triggers' or 'logical'), switched by src/db/capture-mode.ts; every function
 * here that depends on it reads it.
 *
 * - The publication `paige_changes` holds every project schema (ADD TABLES IN SCHEMA, PG 15+),
 *   in both modes, so a switch needs no backfill; never the platform schema. Project tables get
 *   REPLICA IDENTITY FULL, so updates and deletes carry the whole old row. Only a superuser may
 *   publish a schema: under a CREATEROLE role the publication is left out and the mode stays
 *   'triggers'.
 * - Who wrote a transaction: `paige_actor.mark(actor)` is the first thing an API transaction does.
 *   In logical mode it emits a transactional logical message 'paige.actor' (the decoder keeps the
 *   first one of a transaction); in trigger mode it records the actor in
 *   `paige.transaction_actors`, which the commit stamp copies into `paige.change_commits.actor`.
 *   The first mark of a transaction wins in both, so raw SQL, whose transaction the API has
 *   already marked, cannot name another actor. pg_logical_emit_message itself is taken from
 *   PUBLIC: a tenant can neither forge a message nor fill the WAL with them.
 * - Table changes (CREATED, ALTERED, ...) in logical mode travel as a transactional logical message
 *   'paige.table_change', so DDL commits carry no commit stamp, lock or NOTIFY either.
 * - A leader appends decoded transactions with their commit LSN (`change_commits.commit_lsn`) and
 *   per-transaction entry ids, so a replay after a crash writes nothing twice.
 * - A table created in a project schema outside the API (an operator's psql) gets REPLICA
 *   IDENTITY FULL (and capture triggers in trigger mode), and is announced CREATED.
 */
export const logicalCapture = /* SQL */ `
ALTER TABLE paige.change_commits ADD COLUMN commit_lsn pg_lsn, ADD COLUMN actor jsonb;

CREATE TABLE paige.transaction_actors (
  xid   xid8 PRIMARY KEY,
  actor jsonb NOT NULL,
  at    timestamptz NOT NULL DEFAULT now()
);

-- Held EXCLUSIVE by the process that switches the database's capture mode.
CREATE TABLE paige.capture_switch_lock ();

INSERT INTO paige.settings (key, value) VALUES ('capture_mode', 'triggers');

CREATE FUNCTION paige.capture_mode() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT value FROM paige.settings WHERE key = 'capture_mode';
$fn$;

-- Replication slots are named per cluster: each database's capture has a slot of its own, named by its oid.
CREATE FUNCTION paige.capture_slot() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT 'paige_capture_' || oid FROM pg_database WHERE datname = current_database();
$fn$;

/**
 * The first call of a transaction names its actor; later ones change nothing. In a schema of its
 * own that every role may use, since raw SQL's transactions (run as a project's login role, which
 * may not use the paige schema) are marked too; nothing else is in it.
 */
CREATE SCHEMA paige_actor;
REVOKE ALL ON SCHEMA paige_actor FROM PUBLIC;
GRANT USAGE ON SCHEMA paige_actor TO PUBLIC;
CREATE FUNCTION paige_actor.mark(actor jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  -- Once per transaction (a later mark could not win anyway), and small: raw SQL that calls it
  -- in a loop must not fill the WAL.
  IF current_setting('paige.actor_marked', true) = 'on' THEN
    RETURN;
  END IF;
  IF octet_length(actor::text) > 1024 THEN
    RAISE EXCEPTION 'an actor is at most 1024 bytes of JSON' USING ERRCODE = '22023';
  END IF;
  PERFORM set_config('paige.actor_marked', 'on', true);
  IF paige.capture_mode() = 'logical' THEN
    PERFORM pg_logical_emit_message(true, 'paige.actor', actor::text);
  ELSE
    INSERT INTO paige.transaction_actors (xid, actor) VALUES (pg_current_xact_id(), actor) ON CONFLICT (xid) DO NOTHING;
  END IF;
END
$fn$;
GRANT EXECUTE ON FUNCTION paige_actor.mark(jsonb) TO PUBLIC;

-- The stamp is for transactions the triggers captured: a decoded transaction comes with its seq
-- (the leader's append), and must keep it, its actor and its commit time.
DROP TRIGGER stamp_commit ON paige.change_commits;
CREATE CONSTRAINT TRIGGER stamp_commit AFTER INSERT ON paige.change_commits
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.seq IS NULL) EXECUTE FUNCTION paige.stamp_commit();

/** As in 002, and the transaction's actor is copied onto its commit. */
CREATE OR REPLACE FUNCTION paige.stamp_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  -- Held until this transaction's commit is visible: the next stamper waits for it, so a
  -- higher seq can never become visible before a lower one.
  LOCK TABLE paige.change_commit_lock IN EXCLUSIVE MODE;
  UPDATE paige.change_commits
     SET seq = nextval('paige.change_commit_seq'), committed_at = clock_timestamp(),
         actor = (SELECT a.actor FROM paige.transaction_actors a WHERE a.xid = NEW.xid)
   WHERE xid = NEW.xid;
  PERFORM pg_notify('paige_changes', '');
  RETURN NULL;
END
$fn$;

/** As in 003, and in logical mode a logical message instead of a log entry and a commit stamp. */
CREATE OR REPLACE FUNCTION paige.record_table_change(schema_name text, table_name text, kind text, new_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel regclass;
BEGIN
  IF kind NOT IN ('CREATED', 'DROPPED', 'RENAMED', 'ALTERED') THEN
    RAISE EXCEPTION 'unknown table change kind %', kind;
  END IF;
  IF paige.capture_mode() = 'logical' THEN
    PERFORM pg_logical_emit_message(true, 'paige.table_change',
      json_build_object('schema', schema_name, 'table', table_name, 'kind', kind, 'newName', new_name)::text);
    IF kind = 'DROPPED' THEN
      PERFORM paige.drop_orphan_captures(schema_name);
    END IF;
    RETURN;
  END IF;
  INSERT INTO paige.change_log (schema_name, table_name, op, new_name) VALUES (schema_name, table_name, kind, new_name);
  INSERT INTO paige.change_commits (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
  IF kind = 'DROPPED' THEN
    PERFORM paige.drop_orphan_captures(schema_name);
  ELSIF kind IN ('ALTERED', 'RENAMED') THEN
    rel := to_regclass(format('%I.%I', schema_name, coalesce(new_name, table_name)));
    -- Only a table that has capture (every API table does) gets it refreshed.
    IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = rel AND t.tgname = 'paige_capture_insert') THEN
      PERFORM paige.refresh_capture(rel);
    END IF;
  END IF;
END
$fn$;

/** As in 003, by names; the table's old rows travel whole in the WAL, and triggers only in trigger mode. */
CREATE OR REPLACE FUNCTION paige.attach_capture(schema_name text, table_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  rel constant regclass := format('%I.%I', schema_name, table_name)::regclass;
BEGIN
  EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', rel);
  IF paige.capture_mode() = 'triggers' THEN
    PERFORM paige.refresh_capture(rel);
  END IF;
END
$fn$;

/** Removes a table's capture triggers (logical mode has none); the functions go with drop_orphan_captures. */
CREATE FUNCTION paige.detach_capture(rel regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS paige_capture_insert ON %1$s;
                  DROP TRIGGER IF EXISTS paige_capture_update ON %1$s;
                  DROP TRIGGER IF EXISTS paige_capture_delete ON %1$s;
                  DROP TRIGGER IF EXISTS paige_capture_truncate ON %1$s', rel);
END
$fn$;

/** Adds a project schema to the publication (no-op without one, or when it is there already). */
CREATE FUNCTION paige.publish_schema(schema_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'paige_changes')
     AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
                      WHERE p.pubname = 'paige_changes' AND pn.pnnspid = schema_name::regnamespace) THEN
    EXECUTE format('ALTER PUBLICATION paige_changes ADD TABLES IN SCHEMA %I', schema_name);
  END IF;
END
$fn$;

CREATE FUNCTION paige.unpublish_schema(schema_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
              WHERE p.pubname = 'paige_changes' AND pn.pnnspid = schema_name::regnamespace) THEN
    EXECUTE format('ALTER PUBLICATION paige_changes DROP TABLES IN SCHEMA %I', schema_name);
  END IF;
END
$fn$;

/**
 * Records the database's capture mode and makes every project table fit it, in the caller's
 * transaction: in logical mode no capture trigger remains; in trigger mode every table has them.
 * Every table keeps REPLICA IDENTITY FULL and every project schema its place in the publication.
 */
CREATE FUNCTION paige.enter_capture_mode(mode text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  t record;
BEGIN
  IF mode NOT IN ('logical', 'triggers') THEN
    RAISE EXCEPTION 'unknown capture mode %', mode;
  END IF;
  UPDATE paige.settings SET value = mode WHERE key = 'capture_mode';
  FOR t IN
    SELECT c.oid::regclass AS rel, n.nspname AS schema_name, c.relname AS table_name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname IN (SELECT schema_name FROM paige.projects)
     ORDER BY c.oid
  LOOP
    IF mode = 'logical' THEN
      PERFORM paige.detach_capture(t.rel);
      EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', t.rel);
    ELSE
      PERFORM paige.attach_capture(t.schema_name, t.table_name);
    END IF;
  END LOOP;
  IF mode = 'logical' THEN
    FOR t IN SELECT schema_name FROM paige.projects LOOP
      PERFORM paige.drop_orphan_captures(t.schema_name);
      PERFORM paige.publish_schema(t.schema_name);
    END LOOP;
  END IF;
END
$fn$;

/** An ALTER TABLE outside the API (migration 004), and now also a CREATE TABLE in a project schema. */
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
    PERFORM pg_notify('paige_metadata', paige.metadata_payload('tables', changed.schema_name));
  END LOOP;
END
$fn$;

DO $$
DECLARE
  project record;
  rel regclass;
  fn regprocedure;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'paige_follow_outside_alter') THEN
    ALTER EVENT TRIGGER paige_follow_outside_alter DISABLE;
    DROP EVENT TRIGGER paige_follow_outside_alter;
    CREATE EVENT TRIGGER paige_follow_outside_ddl ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
      EXECUTE FUNCTION paige.follow_outside_alter();
  END IF;
  FOR rel IN
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname IN (SELECT schema_name FROM paige.projects)
  LOOP
    EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', rel);
  END LOOP;
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    CREATE PUBLICATION paige_changes;
    FOR project IN SELECT schema_name FROM paige.projects LOOP
      EXECUTE format('ALTER PUBLICATION paige_changes ADD TABLES IN SCHEMA %I', project.schema_name);
    END LOOP;
    -- Every signature of the function (PG 17 adds one with a flush flag).
    FOR fn IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.proname = 'pg_logical_emit_message' AND p.pronamespace = 'pg_catalog'::regnamespace LOOP
      EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
  ELSE
    RAISE NOTICE 'not a superuser: no publication, changes are captured by triggers';
  END IF;
END
$$;

REVOKE ALL ON FUNCTION paige.capture_mode() FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.capture_slot() FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.publish_schema(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.unpublish_schema(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.enter_capture_mode(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.detach_capture(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.attach_capture(text, text) FROM PUBLIC;
`;
