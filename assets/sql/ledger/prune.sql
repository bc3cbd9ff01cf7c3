-- Retention: keep the last keep_runs_per_mv runs of each MV, none older than keep_days.
WITH s AS (
  SELECT max(value::int) FILTER (WHERE key = 'keep_runs_per_mv') AS keep_runs,
         max(value::int) FILTER (WHERE key = 'keep_days')        AS keep_days
  FROM {schema}.settings
),
ranked AS (
  SELECT id, started_at,
         row_number() OVER (PARTITION BY mv_oid ORDER BY started_at DESC, id DESC) AS rn
  FROM {schema}.refresh_log
)
DELETE FROM {schema}.refresh_log l
USING ranked r, s
WHERE l.id = r.id
  AND (r.rn > s.keep_runs OR r.started_at < now() - make_interval(days => s.keep_days))
