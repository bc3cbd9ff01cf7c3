-- The latest runs of each MV in $1, of each mode (plain, CONCURRENTLY; at most $2 each,
-- WITH NO DATA left out), with what they cost: what `ledger::cost::summarize` averages.
-- Two probes of the (mv_oid, started_at) index per MV, never a scan of the whole log.
SELECT l.mv_oid, l.concurrent, l.outcome, l.started_at, l.wal_bytes, l.temp_bytes,
       l.shared_read_bytes, l.shared_hit_bytes, l.rows_processed, l.cost_source, l.cost_note,
       l.blocked_sessions, l.blocked_longest_ms, l.blocked_total_ms, l.blocked_who,
       l.blocked_note
FROM unnest($1::oid[]) AS m(oid)
CROSS JOIN (VALUES (false), (true)) AS c(concurrent)
CROSS JOIN LATERAL (
  SELECT * FROM {schema}.refresh_log r
  WHERE r.mv_oid = m.oid AND r.concurrent = c.concurrent AND r.with_data
  ORDER BY r.started_at DESC
  LIMIT $2) AS l
