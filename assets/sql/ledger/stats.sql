-- Refresh statistics per MV from the ledger: successful runs give the durations, the
-- latest failure its error.
SELECT mv_oid                                                           AS oid,
       count(*) FILTER (WHERE outcome = 'ok')::int8                     AS ok_count,
       count(*) FILTER (WHERE outcome <> 'ok')::int8                    AS failures,
       max(finished_at) FILTER (WHERE outcome = 'ok')                   AS last_refresh,
       (array_agg(duration_ms ORDER BY started_at DESC)
          FILTER (WHERE outcome = 'ok'))[1]                             AS last_ms,
       avg(duration_ms) FILTER (WHERE outcome = 'ok')                   AS avg_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
          FILTER (WHERE outcome = 'ok')                                 AS p95_ms,
       (array_agg(outcome ORDER BY started_at DESC))[1]                 AS last_outcome,
       (array_agg(base_writes ORDER BY started_at DESC)
          FILTER (WHERE outcome = 'ok'))[1]                             AS base_writes,
       (array_agg(error ORDER BY started_at DESC)
          FILTER (WHERE outcome <> 'ok'))[1]                            AS last_error
FROM {schema}.refresh_log
GROUP BY mv_oid
