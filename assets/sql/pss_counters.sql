-- pg_stat_statements' counters for this database, summed by queryid, without the query text:
-- pg_stat_statements(false) does not read the query text file, so this stays cheap with
-- thousands of entries. The placeholders in braces: the view's qualified name; the time
-- column (total_exec_time from 13, total_time before); on 14+ a filter on top-level
-- statements (nested ones are counted inside their caller), empty before.
SELECT s.queryid, sum(s.calls)::int8 AS calls, sum(s.{total})::float8 AS total_ms,
       sum(s.rows)::int8 AS rows
FROM {pss}(false) s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.queryid IS NOT NULL {toplevel}
GROUP BY s.queryid
