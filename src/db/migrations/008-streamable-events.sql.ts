/**
 * A bound on what one change event holds (issue 14, point 5): `paige.streamable_row(row, max)`
 * returns a logged row as the change readers stream it. A row whose JSON is at most `max_bytes`
 * comes whole. A larger one keeps its smallest values, smallest first, while they fit in
 * `max_bytes` together, and names the others in `omitted`: the event says which values were too
 * large to stream (they are read with Table.rows). `bytes` is what is kept, so a reader can bound
 * a page of entries by bytes as well as by count.
 *
 * The log itself keeps every row whole, and both capture modes write it the same way: the bound
 * applies when the log is read, so the events of the two modes stay the same. Large values are
 * detoasted here, in Postgres, and never reach the server process.
 */
export const streamableEvents = /* SQL */ `
CREATE FUNCTION paige.streamable_row(row_value jsonb, max_bytes bigint, OUT kept jsonb, OUT omitted text[], OUT bytes bigint)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  omitted := '{}';
  IF row_value IS NULL THEN
    bytes := 0;
    RETURN;
  END IF;
  bytes := octet_length(row_value::text);
  IF bytes <= max_bytes OR jsonb_typeof(row_value) <> 'object' THEN
    kept := row_value;
    RETURN;
  END IF;
  -- Smallest values first (then by name, so the choice is the same on every read).
  SELECT coalesce(jsonb_object_agg(v.key, v.value) FILTER (WHERE v.running <= max_bytes), '{}'),
         coalesce(array_agg(v.key ORDER BY v.key) FILTER (WHERE v.running > max_bytes), '{}'),
         coalesce(max(v.running) FILTER (WHERE v.running <= max_bytes), 0)
    INTO kept, omitted, bytes
    FROM (SELECT e.key, e.value, sum(octet_length(e.key) + octet_length(e.value::text) + 4) OVER (ORDER BY octet_length(e.value::text), e.key) AS running
            FROM jsonb_each(row_value) e) v;
END
$fn$;
`;
