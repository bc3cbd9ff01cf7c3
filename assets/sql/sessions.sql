-- The sessions poll (running statements and lock waits), prepared once on the monitoring
-- session and run every console tick. It stays cheap when nothing waits:
-- pg_blocking_pids() runs only for sessions waiting on a heavyweight lock, and pg_locks is
-- read only when at least one does (the one-time filter skips the function scan).
-- Rows: every client backend that is not idle, except this session, plus every session
-- that blocks another (an idle one holding an advisory lock, autovacuum, ...).
-- {waitstart}: l.waitstart on PG 14+, NULL before (the caller falls back to query_start).
WITH a AS MATERIALIZED (
  SELECT a.pid, a.usename::text AS usename, a.application_name, host(a.client_addr) AS client_addr,
         a.datname::text AS datname, a.backend_type, a.state, a.wait_event_type, a.wait_event,
         a.query, a.query_start, a.xact_start
  FROM pg_stat_activity a
  WHERE a.pid <> pg_backend_pid()
),
w AS MATERIALIZED (
  SELECT pid, pg_blocking_pids(pid) AS blockers FROM a WHERE wait_event_type = 'Lock'
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
)
SELECT a.pid, a.usename, a.application_name, a.client_addr, a.datname, a.backend_type,
       a.state, a.wait_event_type, a.wait_event, a.query,
       (extract(epoch FROM clock_timestamp() - a.query_start) * 1000)::float8 AS query_ms,
       (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8  AS xact_ms,
       wl.locktype                                                          AS wait_locktype,
       wl.mode                                                              AS wait_mode,
       CASE WHEN c.oid IS NOT NULL THEN format('%I.%I', n.nspname, c.relname)
            WHEN wl.rel IS NOT NULL THEN 'relation ' || wl.rel || ' of another database'
       END                                                                  AS wait_relation,
       c.relkind::text                                                      AS wait_relkind,
       c.oid                                                                AS wait_oid,
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
                  - coalesce(wl.waitstart, a.query_start)) * 1000)::float8
       END                                                                  AS waited_ms,
       wl.waitstart IS NULL AND wl.pid IS NOT NULL                          AS waited_estimated,
       (SELECT coalesce(json_agg(json_build_array(b.pid, (
                 SELECT coalesce(json_agg(DISTINCT h.mode), '[]') FROM l h
                 WHERE h.pid = b.pid AND h.granted
                   AND ((wl.rel IS NOT NULL AND h.locktype = 'relation' AND h.relation = wl.rel
                         AND h.database IS NOT DISTINCT FROM wl.reldb)
                     OR (wl.rel IS NULL AND h.locktype = wl.locktype
                         AND h.database IS NOT DISTINCT FROM wl.database
                         AND h.transactionid IS NOT DISTINCT FROM wl.transactionid
                         AND h.virtualxid IS NOT DISTINCT FROM wl.virtualxid
                         AND h.classid IS NOT DISTINCT FROM wl.classid
                         AND h.objid IS NOT DISTINCT FROM wl.objid
                         AND h.objsubid IS NOT DISTINCT FROM wl.objsubid))))
                 ORDER BY b.pid), '[]')
          FROM unnest(w.blockers) AS b(pid))                                AS blocked_by
FROM a
LEFT JOIN w ON w.pid = a.pid
LEFT JOIN wl ON wl.pid = a.pid
LEFT JOIN pg_class c ON c.oid = wl.rel
                    AND wl.reldb = (SELECT oid FROM pg_database WHERE datname = current_database())
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (a.backend_type = 'client backend' AND a.state <> 'idle')
   OR w.pid IS NOT NULL
   OR a.pid IN (SELECT unnest(blockers) FROM w)
ORDER BY waited_ms DESC NULLS LAST, query_ms DESC NULLS LAST, a.pid
