-- Refresh statistics per MV from pg_stat_statements. Utility statements are keyed by their
-- exact text, so one MV may have several entries (case, quoting, CONCURRENTLY, comments
-- sent before it in the same batch); parse_ident() normalises quoting and case.
-- The name is matched as an identifier chain first, so no odd text can make parse_ident()
-- fail the whole query. {pss} is the view's qualified name, {toplevel} a filter that is
-- empty before PG 14, {total}/{max} the time columns of the version.
WITH r AS (
  SELECT s.calls, s.{total} AS total_ms, s.{max} AS max_ms,
         parse_ident(m[2], false) AS ident
  FROM {pss} s
  CROSS JOIN LATERAL regexp_replace(s.query,                -- leading comments and blanks
       '^(\s|--[^\n]*(\n|$)|/\*([^*]|\*+[^*/])*\*+/)*', '') AS stmt
  CROSS JOIN LATERAL regexp_match(stmt,
       '^refresh\s+materialized\s+view\s+(concurrently\s+)?'
       '((?:"(?:[^"]|"")+"|[^\s".;]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[^\s".;]+))?)(.*)$', 'i') AS m
  WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    {toplevel}
    AND m IS NOT NULL
    AND m[3] !~* '^\s*with\s+no\s+data'                  -- WITH NO DATA is no refresh
)
SELECT c.oid,
       sum(r.calls)::int8                              AS calls,
       (sum(r.total_ms) / nullif(sum(r.calls), 0))::float8 AS avg_ms,
       max(r.max_ms)::float8                           AS max_ms
FROM r
JOIN pg_class c ON c.relkind = 'm'
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (cardinality(r.ident) = 2 AND r.ident[1] = n.nspname AND r.ident[2] = c.relname)
   OR (cardinality(r.ident) = 1 AND r.ident[1] = c.relname
       AND pg_table_is_visible(c.oid))                -- unqualified: best effort, OUR search_path
GROUP BY c.oid
