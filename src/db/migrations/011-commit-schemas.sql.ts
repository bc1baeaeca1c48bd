/**
 * Each commit names the project schemas it changed (`change_commits.schemas`), so that a read of
 * the log for some projects passes another project's big transaction at once (issue 14, point 7).
 * Without it, a read for the projects on the hub's main lane walked every entry of a 100,000-row
 * transaction of a project read on a lane of its own, to find none of theirs: about 50 ms per
 * read on 2 shared cores, in every other project's event latency.
 *
 * - The commit stamp (trigger capture) gathers them from its own entries before it takes the
 *   commit lock, so no other commit waits while it does: about 37 ms at the commit of a
 *   100,000-entry transaction (measured on PG15 here), one index probe for a small one.
 * - The capture leader (WAL) sends them with each transaction it appends.
 * - Readers treat a commit without them (written before this migration) as possibly any schema's.
 */
export const commitSchemas = /* SQL */ `
ALTER TABLE paige.change_commits ADD COLUMN schemas text[];

/** As in 008, naming the schemas the transaction changed. */
CREATE OR REPLACE FUNCTION paige.stamp_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  written_by jsonb;
  touched text[];
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
  SELECT array_agg(DISTINCT l.schema_name) INTO touched FROM paige.change_log l WHERE l.xid = NEW.xid;
  -- Held until this transaction's commit is visible: the next stamper waits for it, so a
  -- higher seq can never become visible before a lower one.
  LOCK TABLE paige.change_commit_lock IN EXCLUSIVE MODE;
  UPDATE paige.change_commits
     SET seq = nextval('paige.change_commit_seq'), committed_at = clock_timestamp(), actor = written_by, schemas = touched
   WHERE xid = NEW.xid;
  PERFORM pg_notify(channel, '');
  RETURN NULL;
END
$fn$;
`;
