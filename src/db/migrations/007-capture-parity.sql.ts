/**
 * What capture from the WAL and capture by triggers need to give the same events and to stay small.
 *
 * - `paige.encode_wal_values(row, types)`: the capture leader appends decoded rows whose values
 *   of some types are still Postgres's text (src/db/wal-values.ts: arrays, enums, composites,
 *   domains, extension types; pgoutput sends only the text and the type's oid). Each such value
 *   is read back as its type and encoded with to_jsonb in UTC, as the trigger capture encodes it
 *   from the typed column. A value that no longer reads as its type (the type was dropped or
 *   changed since the write) keeps its text: the leader must never stop on one value.
 * - `paige.transaction_actors` holds a row per marked transaction in trigger mode. The commit
 *   stamp now takes its transaction's row out as it copies the actor, and
 *   `paige.prune_transaction_actors()` (run with the change log's prune) removes the rows of
 *   transactions that were marked but wrote nothing captured (a raw `sql` read).
 * - Only the platform marks a transaction's actor. `paige_actor.mark(actor)` is for the
 *   platform's own sessions (the API, dbServices; superusers, who could write any mark anyway).
 *   A project's login role runs raw `sql` for the API and may also be reached straight (its
 *   password is its own to change): the API marks those transactions with
 *   `paige_actor.mark(actor, proof)`, the proof derived from the platform secret and the login
 *   role (src/db/actor.ts, actorMarkProof), which the role can neither read nor guess. Anything
 *   else is refused (42501), so a tenant's session cannot name any actor.
 */
export const captureParity = /* SQL */ `
CREATE FUNCTION paige.encode_wal_values(row_value jsonb, types jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET "TimeZone" = 'UTC' AS $fn$
DECLARE
  col record;
  encoded jsonb;
  result jsonb := row_value;
BEGIN
  IF row_value IS NULL OR jsonb_typeof(row_value) <> 'object' THEN
    RETURN row_value;
  END IF;
  FOR col IN SELECT t.key, t.value::text::oid AS type FROM jsonb_each(types) t LOOP
    CONTINUE WHEN jsonb_typeof(result -> col.key) IS DISTINCT FROM 'string';
    BEGIN
      -- regtype prints the type's name quoted and qualified as needed (search_path is pg_catalog).
      EXECUTE format('SELECT to_jsonb($1::%s)', col.type::regtype) INTO encoded USING result ->> col.key;
      result := jsonb_set(result, ARRAY[col.key], encoded);
    EXCEPTION WHEN OTHERS THEN
      NULL;
    END;
  END LOOP;
  RETURN result;
END
$fn$;

/** As in 006; the transaction's actor row is taken out (before the lock: it is the transaction's own row). */
CREATE OR REPLACE FUNCTION paige.stamp_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  written_by jsonb;
BEGIN
  DELETE FROM paige.transaction_actors a WHERE a.xid = NEW.xid RETURNING a.actor INTO written_by;
  -- Held until this transaction's commit is visible: the next stamper waits for it, so a
  -- higher seq can never become visible before a lower one.
  LOCK TABLE paige.change_commit_lock IN EXCLUSIVE MODE;
  UPDATE paige.change_commits
     SET seq = nextval('paige.change_commit_seq'), committed_at = clock_timestamp(), actor = written_by
   WHERE xid = NEW.xid;
  PERFORM pg_notify('paige_changes', '');
  RETURN NULL;
END
$fn$;

/**
 * Removes the actor rows of ended transactions. A row another session can see belongs to a
 * transaction that committed (a rolled-back one's row is gone with it; a running one's is not
 * visible yet), so its commit stamp, which ran inside it, has already taken what it needed.
 */
CREATE FUNCTION paige.prune_transaction_actors() RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $fn$
  WITH gone AS (DELETE FROM paige.transaction_actors a WHERE pg_xact_status(a.xid) IS DISTINCT FROM 'in progress' RETURNING 1)
  SELECT count(*) FROM gone;
$fn$;

-- Rows left by marked transactions before this migration.
SELECT paige.prune_transaction_actors();

/** The mark of 006, behind the two doors below. */
ALTER FUNCTION paige_actor.mark(jsonb) RENAME TO record_actor;
ALTER FUNCTION paige_actor.record_actor(jsonb) SET SCHEMA paige;
REVOKE ALL ON FUNCTION paige.record_actor(jsonb) FROM PUBLIC;

CREATE FUNCTION paige_actor.mark(actor jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  -- current_user is the platform role here (the owner); session_user whoever logged in.
  IF session_user <> current_user AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
    RAISE EXCEPTION 'only the platform marks who wrote a transaction' USING ERRCODE = '42501';
  END IF;
  PERFORM paige.record_actor(actor);
END
$fn$;

CREATE FUNCTION paige_actor.mark(actor jsonb, proof text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF proof IS DISTINCT FROM (SELECT encode(sha256(convert_to(s.value || ':actor-mark:' || session_user, 'UTF8')), 'hex')
                               FROM paige.settings s WHERE s.key = 'role_secret') THEN
    RAISE EXCEPTION 'only the platform marks who wrote a transaction' USING ERRCODE = '42501';
  END IF;
  PERFORM paige.record_actor(actor);
END
$fn$;

REVOKE ALL ON FUNCTION paige_actor.mark(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige_actor.mark(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION paige_actor.mark(jsonb) TO PUBLIC;
GRANT EXECUTE ON FUNCTION paige_actor.mark(jsonb, text) TO PUBLIC;

REVOKE ALL ON FUNCTION paige.encode_wal_values(jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.prune_transaction_actors() FROM PUBLIC;
`;
