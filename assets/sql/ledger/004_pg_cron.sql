-- Ledger version 5: refreshes run by pg_cron are recorded like mvtop's own, failures included.
-- A pg_cron job that mvtop makes runs `CALL {schema}.pg_cron_refresh('"s"."mv"', 'auto')`.
-- The procedure takes mvtop's per-MV advisory lock (so it never overlaps a refresh by mvtop),
-- refreshes (CONCURRENTLY as `mode` says: auto = when populated with a qualifying
-- unique index), records the outcome in the refresh log with source 'pg_cron' and, on
-- failure, COMMITs the failure row before raising the error again, so pg_cron marks the run
-- failed with the error's own message and the ledger keeps it too (a failed REFRESH fires no
-- event trigger, and a row written before the error would be rolled back with it).
-- A plain refresh waits at most 5 s for its lock per attempt, 4 attempts, as mvtop's own.
-- SECURITY INVOKER: the job's user refreshes with its own rights. A procedure with a SET
-- clause may not COMMIT, so the search path is set transaction-locally inside.
-- {schema} is the ledger schema, quoted.
ALTER TABLE {schema}.refresh_log DROP CONSTRAINT refresh_log_source_check;
ALTER TABLE {schema}.refresh_log ADD CONSTRAINT refresh_log_source_check
  CHECK (source IN ('console', 'cli', 'schedule', 'external', 'pg_cron'));

CREATE PROCEDURE {schema}.pg_cron_refresh(mv text, mode text DEFAULT 'auto')
LANGUAGE plpgsql AS $fn$
DECLARE
  rel oid;
  sch text;
  nam text;
  populated boolean;
  conc boolean;
  started timestamptz;
  began timestamptz;
  attempt int := 0;
  err text;
  state text;
  detail text;
  hint text;
  outcome text;
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
  -- The event trigger skips sessions that record their own runs.
  PERFORM pg_catalog.set_config('mvtop.recording', 'on', true);
  started := pg_catalog.clock_timestamp();
  IF mode IS NULL OR mode NOT IN ('auto', 'always', 'never') THEN
    RAISE EXCEPTION 'mvtop: the mode must be auto, always or never (as --concurrently), not %', mode
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT c.oid, n.nspname, c.relname, c.relispopulated INTO rel, sch, nam, populated
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = pg_catalog.to_regclass(mv) AND c.relkind = 'm';
  IF rel IS NULL THEN
    RAISE EXCEPTION 'mvtop: materialized view % does not exist (dropped or renamed?)', mv
      USING ERRCODE = 'undefined_table';
  END IF;
  conc := CASE mode
    WHEN 'always' THEN true
    WHEN 'never' THEN false
    ELSE populated AND EXISTS (
      SELECT 1 FROM pg_catalog.pg_index i
       WHERE i.indrelid = rel AND i.indisunique AND i.indisvalid AND i.indimmediate
         AND i.indpred IS NULL AND i.indexprs IS NULL AND 0 <> ALL (i.indkey::int2[]))
  END;
  IF NOT pg_catalog.pg_try_advisory_xact_lock((1836479599::int8 << 32) | rel::int8) THEN
    -- mvtop refreshes it right now: this run is skipped, as mvtop's scheduler skips a claim.
    RAISE NOTICE 'mvtop: %.% is already being refreshed; this run is skipped',
      pg_catalog.quote_ident(sch), pg_catalog.quote_ident(nam);
    RETURN;
  END IF;
  IF NOT conc THEN
    PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
  END IF;
  LOOP
    attempt := attempt + 1;
    err := NULL;
    BEGIN
      began := pg_catalog.clock_timestamp();
      EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %s%I.%I',
                                CASE WHEN conc THEN 'CONCURRENTLY ' ELSE '' END, sch, nam);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE,
                              detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    END;
    EXIT WHEN err IS NULL OR state <> '55P03' OR attempt >= 4;
    PERFORM pg_catalog.pg_sleep(power(2, attempt - 1));
  END LOOP;
  outcome := CASE WHEN err IS NULL THEN 'ok'
                  WHEN state = '55P03' THEN 'timed_out'
                  WHEN state = '57014' THEN 'cancelled'
                  ELSE 'failed' END;
  INSERT INTO {schema}.refresh_log
    (mv_oid, mv_schema, mv_name, started_at, finished_at, duration_ms, concurrent, with_data,
     source, outcome, error, rows_after, bytes_after, backend_pid, client_application)
  SELECT rel, sch, nam, started, pg_catalog.clock_timestamp(),
         extract(epoch FROM pg_catalog.clock_timestamp() - began) * 1000, conc, true,
         'pg_cron', outcome, err,
         CASE WHEN err IS NULL THEN (SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END
                                     FROM pg_catalog.pg_class c WHERE c.oid = rel) END,
         CASE WHEN err IS NULL THEN pg_catalog.pg_total_relation_size(rel) END,
         pg_catalog.pg_backend_pid(), pg_catalog.current_setting('application_name');
  IF err IS NOT NULL THEN
    COMMIT;
    RAISE EXCEPTION USING MESSAGE = err, ERRCODE = state,
      DETAIL = coalesce(detail, ''), HINT = coalesce(hint, '');
  END IF;
END $fn$;
GRANT EXECUTE ON PROCEDURE {schema}.pg_cron_refresh(text, text) TO PUBLIC;
