-- The cheap half of the sessions poll, run every console tick: sessions that are not idle,
-- except this one. Only when one of them waits for a lock does sessions.sql run too.
SELECT a.pid, a.usename::text AS usename, a.application_name, host(a.client_addr) AS client_addr,
       a.datname::text AS datname, a.backend_type, a.state, a.wait_event_type, a.wait_event,
       a.query,
       (extract(epoch FROM clock_timestamp() - a.query_start) * 1000)::float8 AS query_ms,
       (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8  AS xact_ms
FROM pg_stat_activity a
WHERE a.state <> 'idle' AND a.pid <> pg_backend_pid()
ORDER BY query_ms DESC NULLS LAST, a.pid
