/**
 * Structural changes made outside the API (an operator's ALTER TABLE in psql, as superuser) are
 * followed like the API's own: an event trigger at the end of every ALTER TABLE of a captured
 * table records an ALTERED table change through `paige.record_table_change` (which rewrites the
 * table's capture function, so events carry the new columns and a dropped column cannot break
 * writes) and tells every process's metadata cache to forget the schema's tables.
 *
 * - The API's DDL sets `paige.api_ddl` for its transaction and records its own changes (CREATED,
 *   RENAMED, ALTERED) itself: the event trigger then does nothing, so nothing is announced twice.
 * - The metadata notification carries the same HMAC tag as the service's (metadata-notify.ts):
 *   HMAC-SHA-256 under "metadata-cache:" || role_secret of "tables:<schema>", its first 12 bytes
 *   in base64url, then "#" and a 12-hex-digit nonce. sha256() is built in (no pgcrypto needed).
 * - A table renamed outside the API is announced as ALTERED under its new name: subscribers of
 *   the old name are not moved (the API's rename announces RENAMED, which moves them).
 * - Only a superuser may create an event trigger: under a CREATEROLE role the trigger is left out.
 */
export const outsideDdl = /* SQL */ `
/** The payload the service sends on paige_metadata for a change of \`kind\` to \`id\`. */
CREATE FUNCTION paige.metadata_payload(kind text, id text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  secret bytea;
  inner_pad bytea;
  outer_pad bytea;
BEGIN
  SELECT convert_to('metadata-cache:' || s.value, 'UTF8') INTO STRICT secret FROM paige.settings s WHERE s.key = 'role_secret';
  IF length(secret) > 64 THEN secret := sha256(secret); END IF;
  secret := secret || decode(repeat('00', 64 - length(secret)), 'hex');
  inner_pad := secret;
  outer_pad := secret;
  FOR i IN 0..63 LOOP
    inner_pad := set_byte(inner_pad, i, get_byte(secret, i) # 54); -- 0x36
    outer_pad := set_byte(outer_pad, i, get_byte(secret, i) # 92); -- 0x5c
  END LOOP;
  RETURN translate(encode(substr(sha256(outer_pad || sha256(inner_pad || convert_to(kind || ':' || id, 'UTF8'))), 1, 12), 'base64'), '+/', '-_')
      || '#' || substr(md5(random()::text || clock_timestamp()::text), 1, 12);
END
$fn$;

CREATE FUNCTION paige.follow_outside_alter() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  altered record;
BEGIN
  IF current_setting('paige.api_ddl', true) = 'on' THEN
    RETURN;
  END IF;
  FOR altered IN
    SELECT DISTINCT n.nspname AS schema_name, c.relname AS table_name
      FROM pg_event_trigger_ddl_commands() d
      JOIN pg_class c ON c.oid = d.objid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     -- Any object_type: RENAME COLUMN reports 'table column' (objid is still the table's oid).
     WHERE d.classid = 'pg_class'::regclass
       AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'paige_capture_insert')
  LOOP
    PERFORM paige.record_table_change(altered.schema_name, altered.table_name, 'ALTERED', NULL);
    PERFORM pg_notify('paige_metadata', paige.metadata_payload('tables', altered.schema_name));
  END LOOP;
END
$fn$;

-- Only a superuser may create an event trigger. Under a CREATEROLE role the service still runs;
-- an ALTER TABLE outside the API then needs SELECT paige.refresh_capture(...) as before.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    CREATE EVENT TRIGGER paige_follow_outside_alter ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
      EXECUTE FUNCTION paige.follow_outside_alter();
  ELSE
    RAISE NOTICE 'not a superuser: ALTER TABLE outside the API is not followed (run paige.refresh_capture after one)';
  END IF;
END
$$;

REVOKE ALL ON FUNCTION paige.metadata_payload(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION paige.follow_outside_alter() FROM PUBLIC;
`;
