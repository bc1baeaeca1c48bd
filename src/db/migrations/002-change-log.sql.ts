/**
 * The change log behind live subscriptions (DESIGN.md "Live changes").
 *
 * - `paige.capture_changes()` is the trigger function every project table gets (statement level,
 *   with transition tables). It is SECURITY DEFINER with a pinned search_path, so a project role
 *   that fires it writes the log without having any privilege on `paige`, and cannot redirect it.
 *   It runs with TimeZone = UTC, and turns bigint/numeric values into JSON strings and timestamptz
 *   into `...Z` ISO text, so an event's row is encoded exactly as `Table.rows` encodes it.
 * - Each writing transaction also inserts one marker row into `paige.change_commits`. A deferred
 *   constraint trigger on that table fires once at commit: it takes an EXCLUSIVE lock on
 *   `paige.change_commit_lock` (held until the commit is visible), stamps the transaction with the
 *   next commit sequence number and sends one NOTIFY without payload. So seq order is commit
 *   order, and a reader at "seq > last" never skips a transaction that committed late.
 *   A table lock (not an advisory lock) because no project role can take it: advisory-lock keys
 *   are readable in pg_proc and pg_advisory_lock is granted to PUBLIC, so a tenant could stall
 *   every commit of every project.
 */
export const changeLog = /* SQL */ `
CREATE TABLE paige.change_log (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
  schema_name     text NOT NULL,
  table_name      text NOT NULL,
  -- row changes: INSERT UPDATE DELETE CLEAR; table changes: CREATED DROPPED RENAMED ALTERED
  op              text NOT NULL,
  row_key         jsonb,
  new_row         jsonb,
  old_row         jsonb,
  changed_columns text[],
  new_name        text,
  written_by      text NOT NULL DEFAULT session_user,
  at              timestamptz NOT NULL DEFAULT statement_timestamp()
);
CREATE INDEX change_log_by_xid ON paige.change_log (xid, id);
CREATE INDEX change_log_by_schema ON paige.change_log (schema_name);

CREATE TABLE paige.change_commits (
  xid          xid8 PRIMARY KEY,
  seq          bigint UNIQUE,
  committed_at timestamptz
);
CREATE SEQUENCE paige.change_commit_seq AS bigint;
CREATE TABLE paige.change_commit_lock ();

-- Everything after this sequence number has been pruned away: older cursors get CURSOR_EXPIRED.
INSERT INTO paige.settings (key, value) VALUES ('change_log_pruned_through', '0');

/** A row as the API encodes it: bigint/numeric as strings, timestamptz as ISO with Z. */
CREATE FUNCTION paige.api_row(r jsonb, string_cols text[], ts_cols text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT CASE WHEN cardinality(string_cols) + cardinality(ts_cols) = 0 THEN r ELSE
    r || coalesce((
      SELECT jsonb_object_agg(c, CASE WHEN c = ANY (ts_cols)
                                      THEN to_jsonb(regexp_replace(r ->> c, '\\+00:00$', 'Z'))
                                      ELSE to_jsonb(r ->> c) END)
        FROM unnest(string_cols || ts_cols) AS c
       WHERE jsonb_typeof(r -> c) IN ('number', 'string')), '{}'::jsonb)
  END
$fn$;

CREATE FUNCTION paige.row_key(r jsonb, key_cols text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT CASE WHEN cardinality(key_cols) = 0 THEN NULL
              ELSE (SELECT jsonb_object_agg(c, r -> c) FROM unnest(key_cols) AS c) END
$fn$;

CREATE FUNCTION paige.capture_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET "TimeZone" = 'UTC' AS $fn$
DECLARE
  all_cols    text[];
  string_cols text[];
  ts_cols     text[];
  key_cols    text[];
  written     bigint := 0;
BEGIN
  -- Rows are taken as alias.* : a bare alias would resolve to a user column of that name.
  -- One catalog read per statement (not per row): column types for encoding, the key columns.
  SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}'),
         coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.atttypid IN (20, 1700)), '{}'),
         coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.atttypid = 1184), '{}')
    INTO all_cols, string_cols, ts_cols
    FROM pg_attribute a
   WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped;
  SELECT coalesce(array_agg(a.attname::text ORDER BY k.ord), '{}')
    INTO key_cols
    FROM pg_index i
   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = TG_RELID AND i.indisprimary;

  IF TG_OP = 'INSERT' THEN
    INSERT INTO paige.change_log (schema_name, table_name, op, row_key, new_row)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'INSERT', paige.row_key(s.r, key_cols), s.r
      FROM (SELECT paige.api_row(to_jsonb(n.*), string_cols, ts_cols) AS r FROM new_rows n) s;
    GET DIAGNOSTICS written = ROW_COUNT;
  ELSIF TG_OP = 'UPDATE' THEN
    -- Old and new transition rows are stored pairwise in the same order, so they pair by
    -- position; joining on the key would lose the rows whose key itself was updated.
    INSERT INTO paige.change_log (schema_name, table_name, op, row_key, new_row, old_row, changed_columns)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'UPDATE', paige.row_key(n.r, key_cols), n.r, o.r,
           ARRAY(SELECT c FROM unnest(all_cols) WITH ORDINALITY AS u(c, ord)
                  WHERE (n.r -> c) IS DISTINCT FROM (o.r -> c) ORDER BY u.ord)
      FROM (SELECT row_number() OVER () AS i, paige.api_row(to_jsonb(t.*), string_cols, ts_cols) AS r FROM new_rows t) n
      JOIN (SELECT row_number() OVER () AS i, paige.api_row(to_jsonb(t.*), string_cols, ts_cols) AS r FROM old_rows t) o
        ON o.i = n.i
     ORDER BY n.i;
    GET DIAGNOSTICS written = ROW_COUNT;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO paige.change_log (schema_name, table_name, op, row_key, old_row)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'DELETE', paige.row_key(s.r, key_cols), s.r
      FROM (SELECT paige.api_row(to_jsonb(o.*), string_cols, ts_cols) AS r FROM old_rows o) s;
    GET DIAGNOSTICS written = ROW_COUNT;
  ELSIF TG_OP = 'TRUNCATE' THEN
    INSERT INTO paige.change_log (schema_name, table_name, op) VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'CLEAR');
    written := 1;
  END IF;

  -- A statement that changed no row (UPDATE ... WHERE false) costs no commit stamp and no NOTIFY.
  IF written > 0 THEN
    INSERT INTO paige.change_commits (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
  END IF;
  RETURN NULL;
END
$fn$;

/** Fires once per writing transaction, at commit (deferred): stamps commit order, wakes listeners. */
CREATE FUNCTION paige.stamp_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  -- Held until this transaction's commit is visible: the next stamper waits for it, so a
  -- higher seq can never become visible before a lower one.
  LOCK TABLE paige.change_commit_lock IN EXCLUSIVE MODE;
  UPDATE paige.change_commits
     SET seq = nextval('paige.change_commit_seq'), committed_at = clock_timestamp()
   WHERE xid = NEW.xid;
  PERFORM pg_notify('paige_changes', '');
  RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER stamp_commit AFTER INSERT ON paige.change_commits
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION paige.stamp_commit();

/** For API DDL paths (createTable, renameTable, ...): a table-change entry in the same log. */
CREATE FUNCTION paige.record_table_change(schema_name text, table_name text, kind text, new_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF kind NOT IN ('CREATED', 'DROPPED', 'RENAMED', 'ALTERED') THEN
    RAISE EXCEPTION 'unknown table change kind %', kind;
  END IF;
  INSERT INTO paige.change_log (schema_name, table_name, op, new_name) VALUES (schema_name, table_name, kind, new_name);
  INSERT INTO paige.change_commits (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
END
$fn$;

REVOKE ALL ON FUNCTION paige.capture_changes() FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.stamp_commit() FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.record_table_change(text, text, text, text) FROM PUBLIC;
`;
