/**
 * Every table of the given schemas with its columns, in ONE statement, so listing all tables of
 * all projects with their columns costs one round-trip whatever their number. Types are reported
 * by the catalog itself (format_type/typname), so the API cannot drift from Postgres.
 * $1: schema names (text[]); $2: table names to keep, or NULL for all.
 */
export const tablesSql = /* SQL */ `
SELECT n.nspname AS "schema",
       c.relname AS "name",
       coalesce((
         SELECT json_agg(json_build_object(
                  'name', a.attname,
                  'typeName', t.typname,
                  'typmod', a.atttypmod,
                  'notNull', a.attnotnull,
                  'identity', a.attidentity <> '',
                  'defaultSql', pg_get_expr(d.adbin, d.adrelid),
                  -- A sequence the column owns (what pg_get_serial_sequence finds), read from the
                  -- statement's own snapshot: resolving the table by name would fail for a table
                  -- another session dropped since.
                  'serial', a.attidentity = '' AND EXISTS (
                    SELECT 1 FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid
                     WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
                       AND dep.refobjid = c.oid AND dep.refobjsubid = a.attnum
                       AND dep.deptype IN ('a', 'i') AND s.relkind = 'S'),
                  'unique', EXISTS (
                    SELECT 1 FROM pg_index i
                     WHERE i.indrelid = c.oid AND i.indisunique AND i.indnatts = 1 AND i.indkey[0] = a.attnum
                       AND i.indpred IS NULL AND i.indexprs IS NULL)
                ) ORDER BY a.attnum)
           FROM pg_attribute a
           JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       ), '[]'::json) AS "columns",
       coalesce((
         SELECT json_agg(a.attname ORDER BY k.ord)
           FROM pg_constraint p
           CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
          WHERE p.conrelid = c.oid AND p.contype = 'p'
       ), '[]'::json) AS "primaryKey"
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY($1::text[])
   AND c.relkind IN ('r', 'p')
   AND ($2::text[] IS NULL OR c.relname = ANY($2::text[]))
 ORDER BY n.nspname, c.relname`;
