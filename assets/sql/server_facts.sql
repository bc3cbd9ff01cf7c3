-- What this server and this role allow; decides which optional sources mvtop uses.
-- $1: the ledger's version table, e.g. "mvtop".version (read only when it exists: through
-- query_to_xml, as plain SQL cannot name a table that may be missing)
SELECT current_setting('server_version_num')::int           AS version_num,
       current_setting('server_version')                    AS version,
       pg_is_in_recovery()                                  AS in_recovery,
       current_user::text                                   AS role,
       current_database()::text                             AS database,
       current_setting('track_commit_timestamp') = 'on'     AS track_commit_timestamp,
       (SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements')            AS pss_schema,
       (SELECT e.extversion FROM pg_extension e
         WHERE e.extname = 'pg_stat_statements')            AS pss_version,
       -- pg_settings hides this row from roles without pg_read_all_settings: NULL = unknown
       (SELECT setting ~ '(^|[ ,])pg_stat_statements($|[ ,])' FROM pg_settings
         WHERE name = 'shared_preload_libraries')           AS pss_preloaded,
       CASE WHEN to_regclass($1) IS NOT NULL THEN
         (xpath('/row/v/text()', query_to_xml(
            format('SELECT max(version) AS v FROM %s', to_regclass($1)), false, true, '')))[1]::text::int
       END                                                  AS ledger_version,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS reads_all_stats,
       -- what the write counters count from: the last statistics reset, else the start
       coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                pg_postmaster_start_time())                 AS stats_since
