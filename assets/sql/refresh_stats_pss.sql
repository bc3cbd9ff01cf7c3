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
-- Each name is resolved as the server would resolve it for this session (to_regclass: an
-- unqualified name through OUR search_path, best effort), one catalog lookup per entry: no
-- join with pg_class, which with unanalyzed catalogs rescanned every schema for each entry.
SELECT o.oid::oid AS oid,
       sum(r.calls)::int8                              AS calls,
       (sum(r.total_ms) / nullif(sum(r.calls), 0))::float8 AS avg_ms,
       max(r.max_ms)::float8                           AS max_ms
FROM r
CROSS JOIN LATERAL to_regclass(CASE cardinality(r.ident)
         WHEN 2 THEN quote_ident(r.ident[1]) || '.' || quote_ident(r.ident[2])
         WHEN 1 THEN quote_ident(r.ident[1])
       END) AS o(oid)
WHERE (SELECT c.relkind FROM pg_class c WHERE c.oid = o.oid) = 'm'
GROUP BY o.oid
