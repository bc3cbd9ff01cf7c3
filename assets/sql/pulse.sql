-- The console's frequent, cheap poll: what is happening on the MVs now, and whether the
-- full inventory must be read again. Its cost at rest does not grow with the MVs:
-- * Writes to the catalogs (pg_stat counters of pg_class, pg_index, pg_rewrite and
--   pg_namespace; they count committed and aborted DDL, flushed after it ends) decide
--   whether the MVs' fingerprint is computed at all: $1 is the count the console saw last,
--   $2 asks for the fingerprint anyway (on a standby, which replays DDL without counting).
-- * The fingerprint: any REFRESH, CREATE, DROP or ALTER of an MV rewrites its pg_class row;
--   renamed schemas and redefined views show in their catalogs' counters.
-- * The base tables' write counters ($3) only when the database's
--   own counters moved since $4: a database nobody writes to costs nothing here.
-- Locks are matched to MVs by an oid probe per lock, never a join with the set of all MVs
-- (which, with catalogs never analyzed, was rescanned for every lock).
WITH counters AS MATERIALIZED (
  SELECT (SELECT sum(pg_stat_get_tuples_inserted(t) + pg_stat_get_tuples_updated(t)
                     + pg_stat_get_tuples_deleted(t))
            FROM unnest(ARRAY['pg_catalog.pg_class'::regclass, 'pg_catalog.pg_index'::regclass]) t
         )::int8 AS catalog_writes,
         (SELECT sum(pg_stat_get_tuples_inserted(t) + pg_stat_get_tuples_updated(t)
                     + pg_stat_get_tuples_deleted(t))
            FROM unnest(ARRAY['pg_catalog.pg_rewrite'::regclass,
                              'pg_catalog.pg_namespace'::regclass]) t
         )::int8 AS definition_writes,
         (SELECT pg_stat_get_db_tuples_inserted(d.oid) + pg_stat_get_db_tuples_updated(d.oid)
                 + pg_stat_get_db_tuples_deleted(d.oid)
            FROM pg_database d WHERE d.datname = current_database())::int8 AS db_writes
),
fingerprint AS MATERIALIZED (       -- one scan of pg_class, only when asked or DDL ran
  SELECT count(*) AS mv_count, coalesce(sum(xmin::text::int8), 0)::text AS xmin_sum
  FROM pg_class
  WHERE relkind = 'm' AND ($2 OR (SELECT catalog_writes FROM counters) <> $1)
),
refreshers AS MATERIALIZED (
  SELECT coalesce(array_agg(a.pid), '{}') AS pids
  FROM pg_stat_activity a
  WHERE a.state = 'active' AND a.query ~* '^\s*refresh\s+materialized\s+view'
),
mv_locks AS MATERIALIZED (
  SELECT l.relation AS oid, l.pid,
         l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')
           AND l.pid = ANY ((SELECT pids FROM refreshers)::int[]) AS refreshing
  FROM pg_locks l
  WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND (SELECT c.relkind FROM pg_class c WHERE c.oid = l.relation) = 'm'
)
SELECT c.catalog_writes,
       c.definition_writes,
       c.db_writes,
       CASE WHEN $2 OR c.catalog_writes <> $1
            THEN (SELECT mv_count FROM fingerprint) END            AS mv_count,
       CASE WHEN $2 OR c.catalog_writes <> $1
            THEN (SELECT xmin_sum FROM fingerprint) END            AS xmin_sum,
       CASE WHEN c.db_writes <> $4 THEN
         (SELECT coalesce(array_agg(pg_stat_get_tuples_inserted(u.t) + pg_stat_get_tuples_updated(u.t)
                                    + pg_stat_get_tuples_deleted(u.t) ORDER BY u.i), '{}')::int8[]
            FROM unnest($3::oid[]) WITH ORDINALITY AS u(t, i))
       END                                                        AS table_writes,
       (SELECT coalesce(json_agg(json_build_array(r.oid::int8, r.pids)), '[]')
          FROM (SELECT oid, array_agg(DISTINCT pid) AS pids FROM mv_locks
                WHERE refreshing GROUP BY oid) r)                  AS refreshing,
       (SELECT coalesce(json_agg(json_build_array(h.oid::int8, h.pids)), '[]')
          FROM (SELECT oid, array_agg(DISTINCT pid) AS pids FROM mv_locks
                GROUP BY oid) h)                                   AS holders
FROM counters c
