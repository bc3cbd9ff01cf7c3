-- pg_stat_statements' counters of one refresh statement of this session's role in this
-- database (top-level only, where the version records it). Entries are keyed by (userid,
-- dbid, queryid, toplevel), and which text an entry shows depends on the version (16+
-- merges spellings of one REFRESH and keeps the first text seen): an entry counts when its
-- text is exactly $1, or when it names the same MV ($2, resolved as the server resolves
-- it) in the same mode ($3: CONCURRENTLY, $4: WITH DATA). Columns are read through
-- to_jsonb, so a column a version lacks (wal_bytes before 13, toplevel before 14) is NULL
-- instead of an error. {pss} is the view's qualified name.
SELECT s.queryid::int8                                        AS queryid,
       s.calls::int8                                          AS calls,
       (j->>'wal_bytes')::numeric::int8                       AS wal_bytes,
       (j->>'temp_blks_written')::int8                        AS temp_blks,
       (j->>'shared_blks_read')::int8                         AS read_blks,
       (j->>'shared_blks_hit')::int8                          AS hit_blks,
       (j->>'rows')::int8                                     AS rows
FROM {pss} s
CROSS JOIN LATERAL to_jsonb(s) AS j
WHERE s.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)
  AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND coalesce((j->>'toplevel')::bool, true)
  AND s.queryid IS NOT NULL
  AND (s.query = $1
       OR (s.query ~* '^(\s|--[^\n]*(\n|$)|/\*([^*]|\*+[^*/])*\*+/)*refresh\s+materialized\s+view\s'
           AND EXISTS (
             SELECT 1
             FROM regexp_match(regexp_replace(s.query,
                    '^(\s|--[^\n]*(\n|$)|/\*([^*]|\*+[^*/])*\*+/)*', ''),
                    '^refresh\s+materialized\s+view\s+(concurrently\s+)?'
                    '((?:"(?:[^"]|"")+"|[^\s".;]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[^\s".;]+))?)(.*)$',
                    'i') AS m
             CROSS JOIN LATERAL parse_ident(m[2], false) AS ident
             WHERE (m[1] IS NOT NULL) = $3
               AND (m[3] !~* '^\s*with\s+no\s+data') = $4
               AND to_regclass(CASE cardinality(ident)
                     WHEN 2 THEN quote_ident(ident[1]) || '.' || quote_ident(ident[2])
                     WHEN 1 THEN quote_ident(ident[1])
                   END) = $2::oid)))
