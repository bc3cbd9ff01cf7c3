-- Relations with an AccessExclusiveLock granted or queued in this database (a plain
-- REFRESH, DROP, ALTER, LOCK), and the views and MVs whose definitions read one directly:
-- sizing the first (pg_table_size opens it) or reading the definition of either
-- (pg_get_viewdef locks what the definition reads) would wait, so mv_details.sql is not asked for them.
WITH busy AS MATERIALIZED (
  SELECT DISTINCT l.relation AS oid
  FROM pg_locks l
  WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT (SELECT coalesce(array_agg(b.oid), '{}') FROM busy b)        AS busy,
       (SELECT coalesce(array_agg(DISTINCT r.ev_class), '{}')
          FROM busy b
          JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = b.oid
                          AND d.classid = 'pg_rewrite'::regclass
          JOIN pg_rewrite r ON r.oid = d.objid)                     AS reads_busy
