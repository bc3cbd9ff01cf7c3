-- Ledger version 1: the refresh log and the retention settings.
-- {schema} is the ledger schema, quoted.
CREATE TABLE {schema}.refresh_log (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mv_oid             oid         NOT NULL,
  mv_schema          text        NOT NULL,
  mv_name            text        NOT NULL,
  started_at         timestamptz NOT NULL,
  finished_at        timestamptz,
  duration_ms        double precision,
  concurrent         boolean     NOT NULL,   -- CONCURRENTLY is a reserved word
  with_data          boolean     NOT NULL DEFAULT true,
  source             text        NOT NULL
                     CHECK (source IN ('console', 'cli', 'schedule', 'external')),
  outcome            text        NOT NULL
                     CHECK (outcome IN ('ok', 'failed', 'cancelled', 'timed_out')),
  error              text,
  rows_after         bigint,
  bytes_after        bigint,
  db_user            text        NOT NULL DEFAULT session_user,
  backend_pid        int,
  client_application text,
  -- mvtop's own runs carry a token, so an outcome checked after a lost connection is
  -- recorded once, never twice.
  run_token          text        UNIQUE
);
CREATE INDEX refresh_log_mv_started ON {schema}.refresh_log (mv_oid, started_at DESC);
CREATE INDEX refresh_log_started ON {schema}.refresh_log (started_at);

CREATE TABLE {schema}.settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO {schema}.settings VALUES ('keep_runs_per_mv', '1000'), ('keep_days', '90');

-- Every role that refreshes through mvtop records its runs; anyone may read the history.
GRANT USAGE ON SCHEMA {schema} TO PUBLIC;
GRANT SELECT ON {schema}.refresh_log, {schema}.settings TO PUBLIC;
GRANT INSERT ON {schema}.refresh_log TO PUBLIC;
