-- One run recorded by mvtop. $4 is the REFRESH's own duration in ms as the client measured
-- it; rows and bytes are read only after a successful run, when this transaction holds the
-- MV's lock (sizing never waits then). $12 to $23: what it cost (005_refresh_cost.sql).
INSERT INTO {schema}.refresh_log
  (mv_oid, mv_schema, mv_name, started_at, finished_at, duration_ms, concurrent, with_data,
   source, outcome, error, rows_after, bytes_after, backend_pid, client_application, run_token,
   base_writes, wal_bytes, temp_bytes, shared_read_bytes, shared_hit_bytes, rows_processed,
   cost_source, cost_note, blocked_sessions, blocked_longest_ms, blocked_total_ms, blocked_who,
   blocked_note)
SELECT $1, $2, $3,
       clock_timestamp() - make_interval(secs => coalesce($4::float8, 0) / 1000),
       clock_timestamp(), $4, $5, $6, $7, $8, $9,
       CASE WHEN $8 = 'ok' THEN (SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END
                                 FROM pg_class c WHERE c.oid = $1) END,
       CASE WHEN $8 = 'ok' THEN pg_total_relation_size($1) END,
       pg_backend_pid(), current_setting('application_name'), $10, $11,
       $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23
