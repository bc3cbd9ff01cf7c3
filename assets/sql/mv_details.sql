-- Sizes and (when $4) definitions of the MVs whose oid modulo $1 lies in [$2, $3), so that
-- several sessions can share the work. Both need the MV's relation cache entry, which costs
-- more than everything else here; one session does both for the same MV to build it once.
--
-- Nothing here waits for a lock. pg_table_size()/pg_indexes_size() open the MV and its
-- indexes, pg_get_viewdef() locks the MV and every relation it reads: each is skipped when
-- one of those has a granted or queued AccessExclusiveLock (plain REFRESH, DROP, ALTER).
WITH busy AS MATERIALIZED (
  SELECT DISTINCT l.relation AS oid
  FROM pg_locks l
  WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
),
reads_busy AS (
  SELECT DISTINCT r.ev_class AS oid
  FROM busy b
  JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = b.oid
                  AND d.classid = 'pg_rewrite'::regclass
  JOIN pg_rewrite r ON r.oid = d.objid
)
SELECT c.oid,
       -- pg_total_relation_size() would size the indexes a second time
       CASE WHEN b.oid IS NULL THEN pg_table_size(c.oid) END                    AS table_bytes,
       CASE WHEN b.oid IS NULL THEN pg_indexes_size(c.oid) END                  AS index_bytes,
       b.oid IS NOT NULL                                                        AS size_locked,
       CASE WHEN $4 AND b.oid IS NULL AND rb.oid IS NULL
            THEN pg_get_viewdef(c.oid) END                                      AS definition,
       b.oid IS NOT NULL OR rb.oid IS NOT NULL                                  AS definition_locked
FROM pg_class c
LEFT JOIN busy b        ON b.oid = c.oid
LEFT JOIN reads_busy rb ON rb.oid = c.oid
WHERE c.relkind = 'm' AND c.oid::int8 % $1 >= $2 AND c.oid::int8 % $1 < $3
