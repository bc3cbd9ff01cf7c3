-- The MVs, one row each: the first of the inventory's flat catalog reads. Each of them is a
-- scan of one catalog, probing others only through their unique oid indexes, and the rows
-- are joined in Rust (src/catalog/matviews.rs): with catalogs never analyzed (after a burst
-- of DDL, a restore, a pg_upgrade) the planner expects about one MV, and a join of such sets
-- in SQL became a nested loop over every MV for every MV. Needs no privilege on the schemas.
-- The name as SQL writes it: regnamespace quotes like format('%I'), and no join is needed.
SELECT c.oid,
       c.relnamespace                                            AS namespace,
       c.relname::text                                           AS name,
       c.relnamespace::regnamespace::text || '.' || quote_ident(c.relname) AS qualified_name,
       pg_get_userbyid(c.relowner)::text                         AS owner,
       c.relispopulated                                          AS populated,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END     AS rows_estimate,
       CASE WHEN current_setting('track_commit_timestamp') = 'on'
            THEN pg_xact_commit_timestamp(c.xmin) END            AS committed_at
FROM pg_class c
WHERE c.relkind = 'm'
