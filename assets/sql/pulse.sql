-- The console's frequent, cheap poll: a fingerprint of the MVs (any REFRESH, CREATE, DROP
-- or ALTER changes it: each rewrites the MV's pg_class row) and what is happening on them
-- now. The full inventory is fetched again only when the fingerprint moves. Locks are
-- matched to MVs by an oid probe per lock, never a join with the set of all MVs (which,
-- with catalogs never analyzed, was rescanned for every lock).
WITH refreshers AS MATERIALIZED (
  SELECT coalesce(array_agg(a.pid), '{}') AS pids
  FROM pg_stat_activity a
  WHERE a.state = 'active' AND a.query ~* '^\s*refresh\s+materialized\s+view'
),
fingerprint AS MATERIALIZED (       -- one scan of pg_class
  SELECT count(*) AS mv_count, coalesce(sum(xmin::text::int8), 0)::text AS xmin_sum
  FROM pg_class WHERE relkind = 'm'
),
mv_locks AS MATERIALIZED (
  SELECT l.relation AS oid, l.pid,
         l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')
           AND l.pid = ANY ((SELECT pids FROM refreshers)::int[]) AS refreshing
  FROM pg_locks l
  WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND (SELECT c.relkind FROM pg_class c WHERE c.oid = l.relation) = 'm'
)
SELECT (SELECT mv_count FROM fingerprint)                         AS mv_count,
       (SELECT xmin_sum FROM fingerprint)                         AS xmin_sum,
       (SELECT coalesce(json_agg(json_build_array(r.oid, r.pids)), '[]')
          FROM (SELECT oid, array_agg(DISTINCT pid) AS pids FROM mv_locks
                WHERE refreshing GROUP BY oid) r)                  AS refreshing,
       (SELECT coalesce(json_agg(json_build_array(h.oid, h.pids)), '[]')
          FROM (SELECT oid, array_agg(DISTINCT pid) AS pids FROM mv_locks
                GROUP BY oid) h)                                   AS holders
