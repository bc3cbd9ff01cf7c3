-- Sessions waiting now for a lock that one of $1 (backend pids: running refreshes) holds or
-- is queued for ahead of them, with how long they have waited: from pg_locks.waitstart
-- (PostgreSQL 14+, read through to_jsonb so older versions get NULL), else from the start
-- of their statement. pg_blocking_pids is called for lock waiters only.
SELECT b.blocker                                              AS blocker,
       w.pid                                                  AS pid,
       coalesce(w.usename::text, '')                          AS usename,
       coalesce(w.application_name, '')                       AS application,
       w.query_start                                          AS query_start,
       (extract(epoch FROM clock_timestamp() - coalesce(
          (SELECT min((to_jsonb(l)->>'waitstart')::timestamptz)
           FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted),
          w.query_start)) * 1000)::float8                     AS waited_ms
FROM pg_stat_activity w
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS b(blocker)
WHERE w.wait_event_type = 'Lock'
  AND b.blocker = ANY($1)
