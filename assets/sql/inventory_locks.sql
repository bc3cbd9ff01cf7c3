-- Other sessions' granted locks on MVs now: readers a plain refresh would wait for, then
-- block; `refreshing` when the holder runs a REFRESH and holds the lock it takes. The
-- sessions running a REFRESH are read once, not once per lock.
WITH refreshers AS MATERIALIZED (
  SELECT coalesce(array_agg(a.pid), '{}') AS pids
  FROM pg_stat_activity a
  WHERE a.state = 'active' AND a.query ~* '^\s*refresh\s+materialized\s+view'
)
SELECT l.relation AS oid, l.pid,
       l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')
         AND l.pid = ANY ((SELECT pids FROM refreshers)::int[]) AS refreshing
FROM pg_locks l
WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (SELECT c.relkind FROM pg_class c WHERE c.oid = l.relation) = 'm'
