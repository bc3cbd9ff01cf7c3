-- Rows inserted, updated and deleted in each table since statistics were reset: what the
-- staleness of an MV is measured with. $1: table oids (leaf partitions, not their parents).
-- Plain function calls, no catalog scan: cheap enough for every poll.
SELECT t AS oid,
       (pg_stat_get_tuples_inserted(t) + pg_stat_get_tuples_updated(t)
        + pg_stat_get_tuples_deleted(t))::int8 AS writes
FROM unnest($1::oid[]) AS t
