-- Ledger version 3: a row in the refresh log cannot be forged for someone else's MV.
-- Every role may INSERT (each records its own runs), so without this any role could write
-- an 'ok' run of any MV: the console would call a stale MV fresh, and the on-change
-- scheduler would take the forged write counters for the last refresh's and skip runs.
-- Now, for every role but the ledger's owner (and the event trigger, which runs as it):
--  * db_user and backend_pid are the inserting session's, whatever the row says;
--  * an 'ok' run only of an MV the role may refresh (owns it; on PostgreSQL 17+ or has
--    MAINTAIN on it), and mv_schema/mv_name are taken from mv_oid;
--  * failed runs stay allowed: mvtop records a refused refresh too (and the failure of an MV
--    dropped meanwhile), and the row names who.
-- {schema} is the ledger schema, quoted.
CREATE FUNCTION {schema}.guard_run() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  mv record;
BEGIN
  IF pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
    RETURN NEW;
  END IF;
  NEW.db_user := session_user;
  NEW.backend_pid := pg_backend_pid();
  SELECT n.nspname, c.relname, c.relowner INTO mv
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = NEW.mv_oid AND c.relkind = 'm';
  IF NOT FOUND THEN
    -- A failure of an MV dropped meanwhile is still recorded, under the names given.
    IF NEW.outcome = 'ok' THEN
      RAISE EXCEPTION 'mvtop ledger: % is not a materialized view', NEW.mv_oid
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  NEW.mv_schema := mv.nspname;
  NEW.mv_name := mv.relname;
  IF NEW.outcome = 'ok'
     AND NOT pg_has_role(current_user, mv.relowner, 'USAGE')
     AND NOT (current_setting('server_version_num')::int >= 170000
              AND has_table_privilege(current_user, NEW.mv_oid, 'MAINTAIN')) THEN
    RAISE EXCEPTION 'mvtop ledger: role % may not refresh %.% and cannot record a run of it',
      current_user, quote_ident(mv.nspname), quote_ident(mv.relname)
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $fn$;
REVOKE ALL ON FUNCTION {schema}.guard_run() FROM PUBLIC;
CREATE TRIGGER guard_run BEFORE INSERT ON {schema}.refresh_log
  FOR EACH ROW EXECUTE FUNCTION {schema}.guard_run();
-- Nothing but INSERT and SELECT for others: no UPDATE or DELETE of history.
REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.refresh_log FROM PUBLIC;
