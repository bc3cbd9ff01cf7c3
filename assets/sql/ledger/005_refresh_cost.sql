-- Ledger version 5: what each refresh cost. All nullable: runs recorded before this version,
-- by the event trigger and by pg_cron keep NULL (unknown, not zero).
--  * wal_bytes, temp_bytes, shared_read_bytes, shared_hit_bytes, rows_processed: from
--    pg_stat_statements' entry of the refresh's own statement, read before and after it
--    (blocks times block_size); cost_source says where they come from, cost_note why they
--    are absent (no pg_stat_statements, unreadable, a failed refresh).
--  * blocked_sessions, blocked_longest_ms, blocked_total_ms, blocked_who: the sessions that
--    waited for a lock the refresh held or was queued for (readers of a plain refresh,
--    writers of a CONCURRENTLY one), sampled while it ran; blocked_who groups them by user
--    and application; blocked_note says why they are absent.
-- {schema} is the ledger schema, quoted.
ALTER TABLE {schema}.refresh_log
  ADD COLUMN wal_bytes          bigint,
  ADD COLUMN temp_bytes         bigint,
  ADD COLUMN shared_read_bytes  bigint,
  ADD COLUMN shared_hit_bytes   bigint,
  ADD COLUMN rows_processed     bigint,
  ADD COLUMN cost_source        text,
  ADD COLUMN cost_note          text,
  ADD COLUMN blocked_sessions   int,
  ADD COLUMN blocked_longest_ms double precision,
  ADD COLUMN blocked_total_ms   double precision,
  ADD COLUMN blocked_who        jsonb,
  ADD COLUMN blocked_note       text;
