-- Materialized-view inventory: the catalog part, one query. Sizes and definitions come from
-- mv_sizes.sql and mv_definitions.sql, which can run on other sessions at the same time.
-- Needs no privilege on the MVs' schemas. Run with jit=off (the recursive CTE's estimate
-- triggers JIT for nothing). Refresh levels, downstream MVs and cycles are derived in Rust
-- from upstream_oids (src/catalog/graph.rs).
WITH RECURSIVE
mv AS (
  SELECT c.oid, c.relnamespace, c.relname, c.relowner, c.relispopulated, c.reltuples, c.xmin
  FROM pg_class c
  WHERE c.relkind = 'm'
),
edges AS (            -- direct "reads from" edges of every view and MV (its _RETURN rule)
  SELECT DISTINCT r.ev_class AS relid, d.refobjid AS dep
  FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass
                  AND d.objid = r.oid
                  AND d.refclassid = 'pg_class'::regclass
                  AND d.refobjid <> r.ev_class
  WHERE r.rulename = '_RETURN'
),
reach AS (            -- MV -> every relation it reads, walking through plain views only
  SELECT e.relid AS mv, e.dep, ARRAY[e.relid, e.dep] AS path
  FROM edges e JOIN mv ON mv.oid = e.relid
  UNION ALL
  SELECT r.mv, e.dep, r.path || e.dep
  FROM reach r
  JOIN pg_class v ON v.oid = r.dep AND v.relkind = 'v'
  JOIN edges e ON e.relid = r.dep
  WHERE e.dep <> ALL (r.path[2:])                   -- cycle guard; reaching r.mv itself = cycle
),
ups AS (              -- upstream MVs, direct or through views; the MV itself means a cycle
  SELECT r.mv, array_agg(DISTINCT r.dep) AS upstream_oids
  FROM reach r JOIN pg_class u ON u.oid = r.dep AND u.relkind = 'm'
  GROUP BY r.mv
),
bases AS (            -- tables it reads, directly or through plain views; a partitioned
                      -- table's writes are counted on its leaf partitions
  SELECT r.mv, array_agg(DISTINCT coalesce(pt.relid::oid, r.dep)) AS base_oids
  FROM reach r
  JOIN pg_class t ON t.oid = r.dep AND t.relkind IN ('r', 'p')
  LEFT JOIN LATERAL (SELECT relid FROM pg_partition_tree(r.dep)
                     WHERE isleaf AND t.relkind = 'p') pt ON true
  GROUP BY r.mv
),
deps AS (
  SELECT e.relid,
         array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname) AS direct_deps
  FROM edges e
  JOIN mv ON mv.oid = e.relid
  JOIN pg_class c ON c.oid = e.dep
  JOIN pg_namespace n ON n.oid = c.relnamespace
  GROUP BY e.relid
),
funcs AS (            -- user-defined functions only: what they read is invisible to pg_depend
  SELECT r.ev_class AS relid, array_agg(DISTINCT d.refobjid::regprocedure::text) AS func_deps
  FROM pg_rewrite r
  JOIN mv ON mv.oid = r.ev_class
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                  AND d.refclassid = 'pg_proc'::regclass
                  AND d.refobjid >= 16384             -- FirstNormalObjectId: not built-in
  GROUP BY r.ev_class
),
refreshing AS MATERIALIZED (
  SELECT l.relation AS oid, array_agg(DISTINCT l.pid) AS pids
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'relation' AND l.granted
    AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND a.state = 'active'
    AND a.query ~* '^\s*refresh\s+materialized\s+view'
  GROUP BY l.relation
),
holders AS MATERIALIZED ( -- other sessions holding a lock on it now: a plain refresh waits for them, then blocks them
  SELECT l.relation AS oid, count(DISTINCT l.pid) AS n, array_agg(DISTINCT l.pid) AS pids
  FROM pg_locks l
  WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  GROUP BY l.relation
),
ukeys AS (            -- unique indexes REFRESH ... CONCURRENTLY accepts
  SELECT i.indrelid, array_agg(ic.relname::text ORDER BY ic.relname) AS concurrent_keys
  FROM pg_index i
  JOIN mv ON mv.oid = i.indrelid
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
  WHERE i.indisunique AND i.indisvalid AND i.indimmediate
    AND i.indpred IS NULL AND i.indexprs IS NULL
    AND 0 <> ALL (i.indkey::int2[])
  GROUP BY i.indrelid
)
SELECT mv.oid,
       n.nspname::text                       AS schema,
       mv.relname::text                      AS name,
       format('%I.%I', n.nspname, mv.relname) AS qualified_name,
       pg_get_userbyid(mv.relowner)::text    AS owner,
       mv.relispopulated                     AS populated,
       CASE WHEN mv.reltuples >= 0 THEN mv.reltuples::int8 END AS rows_estimate,
       uk.concurrent_keys,
       d.direct_deps,
       f.func_deps,
       u.upstream_oids,
       rf.pids                               AS refreshing_pids,
       coalesce(h.n, 0)::int8                AS lock_holders,
       h.pids                                AS lock_holder_pids,
       b.base_oids,
       CASE WHEN current_setting('track_commit_timestamp') = 'on'
            THEN pg_xact_commit_timestamp(mv.xmin) END AS committed_at
FROM mv
JOIN pg_namespace n  ON n.oid = mv.relnamespace
LEFT JOIN ups u      ON u.mv = mv.oid
LEFT JOIN bases b    ON b.mv = mv.oid
LEFT JOIN deps d     ON d.relid = mv.oid
LEFT JOIN funcs f    ON f.relid = mv.oid
LEFT JOIN ukeys uk   ON uk.indrelid = mv.oid
LEFT JOIN refreshing rf ON rf.oid = mv.oid
LEFT JOIN holders h  ON h.oid = mv.oid
ORDER BY n.nspname, mv.relname
