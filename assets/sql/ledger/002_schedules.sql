-- Ledger version 2: schedules, shared by every console and daemon on the database, and the
-- base tables' write counters at each refresh (what "stale" is measured against).
-- {schema} is the ledger schema, quoted.
ALTER TABLE {schema}.refresh_log ADD COLUMN base_writes bigint;

CREATE TABLE {schema}.schedule (
  mv_schema     text        NOT NULL,
  mv_name       text        NOT NULL,
  kind          text        NOT NULL CHECK (kind IN ('cron', 'every', 'on_change')),
  cron          text,
  tz            text        NOT NULL DEFAULT 'UTC',
  every_ms      bigint      CHECK (every_ms >= 1000),
  quiet_ms      bigint      CHECK (quiet_ms >= 0),
  max_stale_ms  bigint      CHECK (max_stale_ms >= 0),
  window_start  time,
  window_end    time,
  concurrent_mode text      NOT NULL DEFAULT 'auto'   -- CONCURRENTLY is a reserved word
                CHECK (concurrent_mode IN ('auto', 'always', 'never')),
  from_naming   boolean     NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text        NOT NULL DEFAULT session_user,
  -- Coordination: the due instant of the last run claimed, by whom, with the base tables'
  -- write counters then. A claim is a compare-and-set on last_due: one winner per due run.
  last_due      timestamptz,
  base_writes   bigint,
  claimed_by    text,
  claimed_at    timestamptz,
  PRIMARY KEY (mv_schema, mv_name),
  CHECK ((kind = 'cron') = (cron IS NOT NULL)),
  CHECK ((kind = 'every') = (every_ms IS NOT NULL)),
  CHECK ((window_start IS NULL) = (window_end IS NULL))
);

-- The naming convention (*_hourly, *_daily, *_weekly) is opt-in: 'off' or its time zone.
INSERT INTO {schema}.settings VALUES ('naming_convention', 'off');

-- Anyone may read schedules; only the ledger's owner (or whom it grants) changes them, as a
-- schedule makes the daemon's role refresh the MV.
GRANT SELECT ON {schema}.schedule TO PUBLIC;
