-- What the current role may do, for `mvtop doctor`. $1: the ledger's schema name.
-- MAINTAIN (PostgreSQL 17+) is asked about only inside CASE: older servers reject the word.
-- No join with pg_namespace: with catalogs never analyzed it was rescanned for every MV.
WITH mv AS (
  SELECT c.oid, c.relnamespace, c.relname,
         has_schema_privilege(c.relnamespace, 'USAGE') AS usage,
         pg_has_role(c.relowner, 'USAGE')
           OR CASE WHEN current_setting('server_version_num')::int >= 170000
                   THEN has_table_privilege(c.oid, 'MAINTAIN') ELSE false END AS may_refresh
  FROM pg_class c
  WHERE c.relkind = 'm'
),
ledger AS (
  SELECT to_regclass(format('%I.refresh_log', $1::text)) AS log,
         to_regclass(format('%I.schedule', $1::text))    AS schedule
),
pss AS (
  SELECT n.nspname::text AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  WHERE e.extname = 'pg_stat_statements'
)
SELECT current_user::text                                            AS role,
       current_setting('server_version_num')::int                    AS version_num,
       pg_is_in_recovery()                                           AS in_recovery,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)  AS superuser,
       coalesce((SELECT pg_has_role(oid, 'USAGE') FROM pg_roles
                 WHERE rolname = 'rds_superuser'), false)            AS rds_superuser,
       has_database_privilege(current_database(), 'CREATE')          AS create_on_database,
       (SELECT count(*) FROM mv)::int8                               AS mvs,
       (SELECT count(*) FROM mv WHERE NOT usage)::int8               AS mvs_without_usage,
       (SELECT count(*) FROM mv WHERE NOT may_refresh)::int8         AS mvs_not_refreshable,
       (SELECT coalesce(array_agg(q), '{}') FROM (
          SELECT relnamespace::regnamespace::text || '.' || quote_ident(relname) AS q
          FROM mv WHERE NOT may_refresh
          ORDER BY 1 LIMIT 5) x)                                     AS not_refreshable_examples,
       pg_has_role('pg_read_all_stats', 'USAGE')                     AS read_all_stats,
       pg_has_role('pg_signal_backend', 'USAGE')                     AS signal_backend,
       (SELECT log IS NOT NULL FROM ledger)                          AS ledger_installed,
       (SELECT schedule IS NOT NULL FROM ledger)                     AS ledger_current,
       (SELECT CASE WHEN log IS NOT NULL THEN has_table_privilege(log, 'SELECT') END
          FROM ledger)                                               AS ledger_readable,
       (SELECT CASE WHEN log IS NOT NULL THEN has_table_privilege(log, 'INSERT') END
          FROM ledger)                                               AS ledger_recordable,
       (SELECT CASE WHEN schedule IS NOT NULL
                    THEN has_table_privilege(schedule, 'INSERT')
                         AND has_table_privilege(schedule, 'UPDATE')
                         AND has_table_privilege(schedule, 'DELETE') END
          FROM ledger)                                               AS schedules_changeable,
       (SELECT pg_get_userbyid(c.relowner)::text FROM ledger l JOIN pg_class c ON c.oid = l.log)
                                                                     AS ledger_owner,
       EXISTS (SELECT 1 FROM pg_event_trigger t JOIN pg_proc p ON p.oid = t.evtfoid
               JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = $1::text AND p.proname = 'record_external_refresh')
                                                                     AS event_triggers_installed,
       (SELECT schema FROM pss)                                      AS pss_schema,
       -- hidden from roles without pg_read_all_settings: NULL = unknown
       (SELECT setting ~ '(^|[ ,])pg_stat_statements($|[ ,])' FROM pg_settings
         WHERE name = 'shared_preload_libraries')                    AS pss_preloaded,
       (SELECT has_function_privilege(
                 format('%I.pg_stat_statements(boolean)', schema)::regprocedure, 'EXECUTE')
               AND has_table_privilege(format('%I.pg_stat_statements', schema), 'SELECT')
          FROM pss)                                                  AS pss_readable
