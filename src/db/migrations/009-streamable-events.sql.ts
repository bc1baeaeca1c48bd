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
DECLARE
  names text[];
  running bigint[];
  total bigint;
BEGIN
  omitted := '{}';
  bytes := 0;
  IF row_value IS NULL THEN
    RETURN;
  END IF;
  IF jsonb_typeof(row_value) <> 'object' THEN
    kept := row_value;
    bytes := octet_length(row_value::text);
    RETURN;
  END IF;
  -- Each value printed once, smallest first (then by name, so the choice is the same on every
  -- read), with the running total of "name": value pairs.
  SELECT array_agg(v.key ORDER BY v.size, v.key), array_agg(v.running ORDER BY v.size, v.key)
    INTO names, running
    FROM (SELECT e.key, e.size, sum(e.size) OVER (ORDER BY e.size, e.key) AS running
            FROM (SELECT key, octet_length(key) + octet_length(value::text) + 6 AS size FROM jsonb_each(row_value)) e) v;
  total := coalesce(running[cardinality(running)], 2);
  IF total <= max_bytes THEN
    kept := row_value;
    bytes := total;
    RETURN;
  END IF;
  FOR i IN 1 .. cardinality(names) LOOP
    IF running[i] > max_bytes THEN
      omitted := names[i:cardinality(names)];
      EXIT;
    END IF;
    bytes := running[i];
  END LOOP;
  kept := row_value - omitted;
  SELECT array_agg(o ORDER BY o) INTO omitted FROM unnest(omitted) o;
END
$fn$;
`;
