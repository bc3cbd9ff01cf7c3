-- The unique indexes of MVs that REFRESH ... CONCURRENTLY accepts: valid, immediate, btree,
-- on plain columns with no WHERE clause (INCLUDE columns are fine). From the MVs listed
-- ($1), not from every index (a database's tables have far more): each MV's indexes by
-- their indrelid.
SELECT m.oid, k.index_name
FROM unnest($1::oid[]) AS m(oid)
CROSS JOIN LATERAL (
  SELECT ic.relname::text AS index_name
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indrelid = m.oid
    AND i.indisunique AND i.indisvalid AND i.indimmediate
    AND i.indpred IS NULL AND i.indexprs IS NULL
    AND 0 <> ALL (i.indkey::int2[])
    AND ic.relam = 403                                  -- btree (BTREE_AM_OID, fixed)
  OFFSET 0                     -- probes by indrelid, never a hash of every index there is
) k
