-- The console's frequent, cheap poll: a fingerprint of the MVs (any REFRESH, CREATE, DROP
-- or ALTER changes it: each rewrites the MV's pg_class row) and what is happening on them
-- now. The full inventory is fetched again only when the fingerprint moves (a standby's
-- promotion moves it too).
WITH mv AS (
  SELECT c.oid, c.xmin FROM pg_class c WHERE c.relkind = 'm'
),
here AS (SELECT oid FROM pg_database WHERE datname = current_database()),
refreshing AS (
  SELECT l.relation AS oid, array_agg(DISTINCT l.pid) AS pids
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'relation' AND l.granted
    AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')
    AND l.database = (SELECT oid FROM here)
    AND a.state = 'active'
    AND a.query ~* '^\s*refresh\s+materialized\s+view'
  GROUP BY l.relation
),
holders AS (
  SELECT l.relation AS oid, array_agg(DISTINCT l.pid) AS pids
  FROM pg_locks l
  WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
    AND l.database = (SELECT oid FROM here)
  GROUP BY l.relation
)
SELECT (SELECT count(*) FROM mv)                                   AS mv_count,
       (SELECT coalesce(sum(xmin::text::int8), 0)::text FROM mv)   AS xmin_sum,
       pg_is_in_recovery()                                         AS in_recovery,
       (SELECT coalesce(json_agg(json_build_array(r.oid, r.pids)), '[]')
          FROM refreshing r JOIN mv ON mv.oid = r.oid)             AS refreshing,
       (SELECT coalesce(json_agg(json_build_array(h.oid, h.pids)), '[]')
          FROM holders h JOIN mv ON mv.oid = h.oid)                AS holders
