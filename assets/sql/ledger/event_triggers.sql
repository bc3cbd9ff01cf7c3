-- Records refreshes made by ANY client (cron, application code, psql, pg_cron) with their
-- duration, including the time spent waiting for the lock. Needs superuser (rds_superuser
-- on RDS). SECURITY DEFINER so that any role's REFRESH can write the row, and every error
-- is swallowed: bookkeeping must never break a user's REFRESH. A failed REFRESH fires no
-- ddl_command_end, so only successes are seen here; mvtop records its own runs itself
-- (sessions with mvtop.recording = on) and they are skipped.
-- {schema} is the ledger schema, quoted; {start}/{end} the event trigger names, quoted.
CREATE OR REPLACE FUNCTION {schema}.record_external_refresh() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  started timestamptz;
BEGIN
  IF current_setting('mvtop.recording', true) = 'on' THEN
    RETURN;
  END IF;
  IF TG_EVENT = 'ddl_command_start' THEN
    PERFORM set_config('mvtop.refresh_started_at', clock_timestamp()::text, true);
    RETURN;
  END IF;
  started := coalesce(nullif(current_setting('mvtop.refresh_started_at', true), '')::timestamptz,
                      clock_timestamp());
  INSERT INTO {schema}.refresh_log (mv_oid, mv_schema, mv_name, started_at, finished_at,
                                    duration_ms, concurrent, with_data, source, outcome,
                                    backend_pid, client_application)
  SELECT c.oid, n.nspname, c.relname, started, clock_timestamp(),
         extract(epoch FROM clock_timestamp() - started) * 1000,
         current_query() ~* '\mconcurrently\M', c.relispopulated, 'external', 'ok',
         pg_backend_pid(), current_setting('application_name')
  FROM pg_event_trigger_ddl_commands() d
  JOIN pg_class c ON c.oid = d.objid
  JOIN pg_namespace n ON n.oid = c.relnamespace;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'mvtop could not record this refresh: % (%)', SQLERRM, SQLSTATE;
END $fn$;
REVOKE ALL ON FUNCTION {schema}.record_external_refresh() FROM PUBLIC;
DROP EVENT TRIGGER IF EXISTS {start};
DROP EVENT TRIGGER IF EXISTS {end};
CREATE EVENT TRIGGER {start} ON ddl_command_start
  WHEN TAG IN ('REFRESH MATERIALIZED VIEW') EXECUTE FUNCTION {schema}.record_external_refresh();
CREATE EVENT TRIGGER {end} ON ddl_command_end
  WHEN TAG IN ('REFRESH MATERIALIZED VIEW') EXECUTE FUNCTION {schema}.record_external_refresh();
