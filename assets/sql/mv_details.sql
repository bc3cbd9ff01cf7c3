-- Sizes and definitions of the given MVs ($1), each only where asked ($2: size it, $3: read
-- its definition): the caller leaves out those whose locks would make it wait (see
-- inventory_busy.sql), and several sessions can share the list. Both need the MV's relation
-- cache entry, which costs more than everything else here; one session does both for the
-- same MV to build it once. No join: its cost is one call per MV whatever the planner
-- believes. An MV dropped since the list was read gets nulls.
SELECT t.oid,
       -- pg_total_relation_size() would size the indexes a second time
       CASE WHEN t.sized THEN pg_table_size(t.oid) END      AS table_bytes,
       CASE WHEN t.sized THEN pg_indexes_size(t.oid) END    AS index_bytes,
       CASE WHEN t.defined THEN pg_get_viewdef(t.oid) END   AS definition
FROM unnest($1::oid[], $2::bool[], $3::bool[]) AS t(oid, sized, defined)
