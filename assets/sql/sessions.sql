-- The sessions poll (running statements and lock waits), prepared once on the monitoring
-- session and run every console tick. It stays near the cost of reading pg_stat_activity:
-- idle sessions are dropped first; pg_blocking_pids() runs only for sessions waiting on a
-- heavyweight lock; pg_locks is read, and idle blockers looked up, only when one does (the
-- one-time filters skip those scans); relation names are index lookups for waiters only.
-- Rows: every session that is not idle, except this one, plus every session that blocks
-- another (an idle one holding an advisory lock, autovacuum, ...).
-- {waitstart}: l.waitstart on PG 14+, NULL before (the wait is then timed from query_start).
WITH a AS MATERIALIZED (
  SELECT a.pid, a.usename::text AS usename, a.application_name, host(a.client_addr) AS client_addr,
         a.datname::text AS datname, a.backend_type, a.state, a.wait_event_type, a.wait_event,
         a.query, a.query_start, a.xact_start
  FROM pg_stat_activity a
  WHERE a.state <> 'idle' AND a.pid <> pg_backend_pid()
),
w AS MATERIALIZED (
  SELECT pid, pg_blocking_pids(pid) AS blockers FROM a WHERE wait_event_type = 'Lock'
),
s AS (
  SELECT * FROM a
  UNION ALL
  -- blockers that are idle: looked up one by one (a second scan of every backend costs more)
  SELECT b.pid, pg_get_userbyid(b.usesysid)::text, b.application_name, host(b.client_addr),
         (SELECT datname::text FROM pg_database WHERE oid = b.datid), b.backend_type, b.state,
         b.wait_event_type, b.wait_event, b.query, b.query_start, b.xact_start
  FROM (SELECT DISTINCT unnest(blockers) AS pid FROM w) bp
  CROSS JOIN LATERAL pg_stat_get_activity(bp.pid) b
  WHERE bp.pid NOT IN (SELECT pid FROM a)
),
l AS MATERIALIZED (
  SELECT locktype, database, relation, page, tuple, virtualxid, transactionid, classid, objid,
         objsubid, pid, mode, granted, {waitstart} AS waitstart
  FROM pg_locks
  WHERE EXISTS (SELECT 1 FROM w)
),
wl AS (                                   -- the lock each waiter waits for (one at most)
  SELECT l.*,
         -- a row-level wait is on a transaction id; the table is that of the tuple lock the
         -- waiter already holds
         coalesce(l.relation, tl.relation) AS rel,
         CASE WHEN l.relation IS NOT NULL THEN l.database ELSE tl.database END AS reldb
  FROM l
  LEFT JOIN LATERAL (SELECT t.relation, t.database FROM l t
                      WHERE t.pid = l.pid AND t.granted AND t.locktype = 'tuple'
                      LIMIT 1) tl ON l.relation IS NULL
  WHERE NOT l.granted AND l.pid IN (SELECT pid FROM w)
),
-- each (waiter, blocker) with what the blocker holds on the object the waiter wants: the
-- relation (for a row-level wait, the row's table), else the same lockable object
holds AS MATERIALIZED (
  SELECT wl.pid AS waiter, b.pid AS blocker,
         coalesce(array_agg(DISTINCT h.mode) FILTER (WHERE h.mode IS NOT NULL), '{}') AS modes
  FROM w
  JOIN wl ON wl.pid = w.pid
  CROSS JOIN LATERAL unnest(w.blockers) AS b(pid)
  LEFT JOIN l h ON h.pid = b.pid AND h.granted
   AND ((wl.rel IS NOT NULL AND h.locktype = 'relation' AND h.relation = wl.rel
         AND h.database IS NOT DISTINCT FROM wl.reldb)
     OR (wl.rel IS NULL AND h.locktype = wl.locktype
         AND h.database IS NOT DISTINCT FROM wl.database
         AND h.transactionid IS NOT DISTINCT FROM wl.transactionid
         AND h.virtualxid IS NOT DISTINCT FROM wl.virtualxid
         AND h.classid IS NOT DISTINCT FROM wl.classid
         AND h.objid IS NOT DISTINCT FROM wl.objid
         AND h.objsubid IS NOT DISTINCT FROM wl.objsubid))
  GROUP BY wl.pid, b.pid
)
SELECT s.pid, s.usename, s.application_name, s.client_addr, s.datname, s.backend_type,
       s.state, s.wait_event_type, s.wait_event, s.query,
       (extract(epoch FROM clock_timestamp() - s.query_start) * 1000)::float8 AS query_ms,
       (extract(epoch FROM clock_timestamp() - s.xact_start) * 1000)::float8  AS xact_ms,
       wl.locktype                                                          AS wait_locktype,
       wl.mode                                                              AS wait_mode,
       coalesce(cr.name, 'relation ' || wl.rel || ' of another database')    AS wait_relation,
       cr.relkind                                                           AS wait_relkind,
       cr.oid                                                               AS wait_oid,
       CASE wl.locktype
         WHEN 'transactionid' THEN 'transaction ' || wl.transactionid
         WHEN 'virtualxid'    THEN 'virtual transaction ' || wl.virtualxid
         WHEN 'advisory'      THEN 'advisory lock ' || wl.classid || ',' || wl.objid
         WHEN 'tuple'         THEN 'tuple (' || wl.page || ',' || wl.tuple || ')'
         WHEN 'object'        THEN 'object ' || wl.classid::regclass::text || ' ' || wl.objid
         ELSE wl.locktype
       END                                                                  AS wait_object,
       CASE WHEN wl.pid IS NOT NULL THEN
         (extract(epoch FROM clock_timestamp()
                  - coalesce(wl.waitstart, s.query_start)) * 1000)::float8
       END                                                                  AS waited_ms,
       wl.waitstart IS NULL AND wl.pid IS NOT NULL                          AS waited_estimated,
       (SELECT json_agg(json_build_array(h.blocker, h.modes) ORDER BY h.blocker)
          FROM holds h WHERE h.waiter = s.pid)                              AS blocked_by
FROM s
LEFT JOIN wl ON wl.pid = s.pid
LEFT JOIN LATERAL (
  SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS relkind, c.oid
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = wl.rel
    AND wl.reldb = (SELECT oid FROM pg_database WHERE datname = current_database())
  OFFSET 0                                -- an index lookup per waiter, never a pg_class scan
) cr ON true
ORDER BY waited_ms DESC NULLS LAST, query_ms DESC NULLS LAST, s.pid
