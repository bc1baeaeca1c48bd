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
  id              bigint GENERATED ALWAYS AS IDENTITY,
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
  at              timestamptz NOT NULL DEFAULT statement_timestamp(),
  -- The reader joins a stamped transaction to its entries, in order: the one index the log needs.
  PRIMARY KEY (xid, id)
);

CREATE TABLE paige.change_commits (
  xid          xid8 PRIMARY KEY,
  seq          bigint UNIQUE,
  committed_at timestamptz
);
CREATE SEQUENCE paige.change_commit_seq AS bigint;
CREATE TABLE paige.change_commit_lock ();

-- Everything after this sequence number has been pruned away: older cursors get CURSOR_EXPIRED.
INSERT INTO paige.settings (key, value) VALUES ('change_log_pruned_through', '0');

/**
 * The INSERT ... SELECT that logs one statement's rows of table \`rel\`, generated from the catalog
 * per statement (so renamed and added columns are always right) and run with EXECUTE; the
 * transition tables are visible to it as new_rows / old_rows. Each value is encoded as the API
 * encodes it, straight from its typed column: bigint and numeric as text, timestamptz as to_jsonb
 * prints it in UTC with its "+00:00" turned into "Z", everything else as to_jsonb. So no JSON
 * reader ever sees a bigint as a number. $1 schema, $2 table.
 */
CREATE FUNCTION paige.capture_sql(rel oid, op text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  row_n text; row_o text; key_n text; key_o text; diff text;
BEGIN
  WITH cols AS (
    SELECT a.attnum, a.attname, quote_literal(a.attname) AS label,
           a.atttypid IN (20, 1700) AS as_text, a.atttypid = 1184 AS as_utc,
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = rel AND i.indisprimary AND a.attnum = ANY (i.indkey)) AS is_key,
           -- jsonb_build_object takes at most 100 arguments: 50 columns per call, joined with ||.
           (row_number() OVER (ORDER BY a.attnum) - 1) / 50 AS chunk
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
  ), encoded AS (
    SELECT c.*, alias,
           c.label || ', ' || CASE
             WHEN c.as_text THEN format('%I.%I::text', alias, c.attname)
             WHEN c.as_utc THEN format('regexp_replace(to_jsonb(%I.%I) #>> ''{}'', ''\\+00:00$'', ''Z'')', alias, c.attname)
             ELSE format('%I.%I', alias, c.attname) END AS pair
      FROM cols c CROSS JOIN (VALUES ('n'), ('o')) AS v(alias)
  ), chunks AS (
    SELECT alias, chunk, 'jsonb_build_object(' || string_agg(pair, ', ' ORDER BY attnum) || ')' AS obj
      FROM encoded GROUP BY alias, chunk
  )
  SELECT (SELECT string_agg(obj, ' || ' ORDER BY chunk) FROM chunks WHERE alias = 'n'),
         (SELECT string_agg(obj, ' || ' ORDER BY chunk) FROM chunks WHERE alias = 'o'),
         (SELECT 'jsonb_build_object(' || string_agg(pair, ', ' ORDER BY attnum) || ')' FROM encoded WHERE alias = 'n' AND is_key),
         (SELECT 'jsonb_build_object(' || string_agg(pair, ', ' ORDER BY attnum) || ')' FROM encoded WHERE alias = 'o' AND is_key),
         -- Changed = its text differs: what a subscriber would see differ, for a value of any type.
         (SELECT string_agg(format('CASE WHEN o.%1$I::text IS DISTINCT FROM n.%1$I::text THEN %2$s END', attname, label), ', ' ORDER BY attnum) FROM cols)
    INTO row_n, row_o, key_n, key_o, diff;
  -- A table whose every column was dropped still has rows (INSERT ... DEFAULT VALUES).
  row_n := coalesce(row_n, '''{}''::jsonb');
  row_o := coalesce(row_o, '''{}''::jsonb');

  IF op = 'INSERT' THEN
    RETURN format('INSERT INTO paige.change_log (schema_name, table_name, op, row_key, new_row)
                   SELECT $1, $2, ''INSERT'', %s, %s FROM new_rows n', coalesce(key_n, 'NULL'), row_n);
  ELSIF op = 'DELETE' THEN
    RETURN format('INSERT INTO paige.change_log (schema_name, table_name, op, row_key, old_row)
                   SELECT $1, $2, ''DELETE'', %s, %s FROM old_rows o', coalesce(key_o, 'NULL'), row_o);
  END IF;
  -- Old and new transition rows are stored pairwise in the same order, so they pair by
  -- position; joining on the key would lose the rows whose key itself was updated. The position
  -- column's name has a dot: no API-created column can be called that.
  RETURN format('INSERT INTO paige.change_log (schema_name, table_name, op, row_key, new_row, old_row, changed_columns)
                 SELECT $1, $2, ''UPDATE'', %s, %s, %s, array_remove(ARRAY[%s]::text[], NULL)
                   FROM (SELECT row_number() OVER () AS "paige.pos", t.* FROM new_rows t) n
                   JOIN (SELECT row_number() OVER () AS "paige.pos", t.* FROM old_rows t) o ON o."paige.pos" = n."paige.pos"
                  ORDER BY n."paige.pos"', coalesce(key_n, 'NULL'), row_n, row_o, diff);
END
$fn$;

CREATE FUNCTION paige.capture_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET "TimeZone" = 'UTC' AS $fn$
DECLARE
  written bigint := 1;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO paige.change_log (schema_name, table_name, op) VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'CLEAR');
  ELSE
    EXECUTE paige.capture_sql(TG_RELID, TG_OP) USING TG_TABLE_SCHEMA, TG_TABLE_NAME;
    GET DIAGNOSTICS written = ROW_COUNT;
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

REVOKE ALL ON FUNCTION paige.capture_sql(oid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.capture_changes() FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.stamp_commit() FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.record_table_change(text, text, text, text) FROM PUBLIC;
`;
