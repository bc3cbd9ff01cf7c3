-- What every user view and MV reads directly (its _RETURN rule's dependencies): relations,
-- and user-defined functions (what those read is invisible to pg_depend). The walk through
-- plain views to upstream MVs and base tables is done in Rust (src/catalog/matviews.rs).
-- A partitioned table comes with its leaf partitions, on which its writes are counted.
-- pg_depend has a row per column read: DISTINCT keeps one per relation.
SELECT e.relid,
       e.dep,
       e.is_relation,
       c.relkind::text                                             AS dep_kind,
       c.relnamespace                                              AS dep_namespace,
       c.relname::text                                             AS dep_relname,
       CASE WHEN e.is_relation
            THEN c.relnamespace::regnamespace::text || '.' || quote_ident(c.relname)
            ELSE e.dep::regprocedure::text END                     AS dep_name,
       CASE WHEN c.relkind = 'p' THEN
         (SELECT array_agg(t.relid::oid) FROM pg_partition_tree(c.oid) t WHERE t.isleaf)
       END                                                         AS leaves
FROM (
  SELECT DISTINCT r.ev_class AS relid, d.refobjid AS dep,
         d.refclassid = 'pg_class'::regclass AS is_relation
  FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
  WHERE r.rulename = '_RETURN'
    AND r.ev_class >= 16384                                  -- FirstNormalObjectId: not built-in
    AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class)
      OR (d.refclassid = 'pg_proc'::regclass AND d.refobjid >= 16384))
) e
LEFT JOIN LATERAL (
  SELECT c.oid, c.relkind, c.relnamespace, c.relname FROM pg_class c
  WHERE e.is_relation AND c.oid = e.dep
  OFFSET 0                                   -- an index probe per edge, never a pg_class scan
) c ON true
