-- The text of some statements ($1: their queryids), read once per new statement.
SELECT DISTINCT ON (s.queryid) s.queryid, s.query
FROM {pss} s
WHERE s.queryid = ANY($1)
  AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.queryid
