-- The unique indexes of MVs that REFRESH ... CONCURRENTLY accepts: valid, immediate, btree,
-- on plain columns with no WHERE clause (INCLUDE columns are fine). One scan of pg_index;
-- the MV and the index are probed by oid.
SELECT i.indrelid AS oid, ic.relname::text AS index_name
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indisunique AND i.indisvalid AND i.indimmediate
  AND i.indpred IS NULL AND i.indexprs IS NULL
  AND 0 <> ALL (i.indkey::int2[])
  AND ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
  AND (SELECT c.relkind FROM pg_class c WHERE c.oid = i.indrelid) = 'm'
