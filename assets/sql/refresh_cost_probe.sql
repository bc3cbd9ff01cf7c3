-- Before a refresh is measured: where pg_stat_statements lives (NULL: not installed in
-- this database), whether the library is loaded (NULL: pg_settings hides it from this
-- role), whether it counts utility statements (REFRESH is one), and the block size that
-- turns its block counters into bytes.
SELECT (SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements')                    AS pss_schema,
       (SELECT setting ~ '(^|[ ,])pg_stat_statements($|[ ,])' FROM pg_settings
         WHERE name = 'shared_preload_libraries')                   AS pss_preloaded,
       current_setting('pg_stat_statements.track', true)            AS track,
       current_setting('pg_stat_statements.track_utility', true)    AS track_utility,
       current_setting('block_size')::int8                          AS block_size
