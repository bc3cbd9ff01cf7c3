//! The indexes of one MV, and whether each lets REFRESH ... CONCURRENTLY run.

use serde::Serialize;
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MvIndex {
    pub name: String,
    /// `CREATE UNIQUE INDEX ...` as pg_get_indexdef gives it.
    pub definition: String,
    pub unique: bool,
    /// None when this index makes CONCURRENTLY possible; else why it does not.
    pub not_concurrent_because: Option<String>,
}

impl MvIndex {
    pub fn qualifies(&self) -> bool {
        self.not_concurrent_because.is_none()
    }
}

/// The same rules as the inventory's `ukeys` (and PostgreSQL's own check).
pub async fn indexes_of(client: &Client, oid: u32) -> Result<Vec<MvIndex>, tokio_postgres::Error> {
    let rows = client
        .query(
            // pg_get_indexdef queues behind a plain REFRESH's ACCESS EXCLUSIVE lock (the
            // monitoring session, and every poll on it, would wait): not while one is
            // held or queued on the MV.
            "SELECT ic.relname::text,
                    CASE WHEN EXISTS (SELECT 1 FROM pg_locks l
                                      WHERE l.locktype = 'relation' AND l.relation = $1
                                        AND l.mode = 'AccessExclusiveLock')
                      THEN '(definition not read: a refresh holds the MV''s lock)'
                      ELSE pg_get_indexdef(i.indexrelid)
                    END,
                    i.indisunique,
                    CASE
                      WHEN NOT i.indisunique THEN 'not unique'
                      WHEN am.amname <> 'btree' THEN 'not a btree index'
                      WHEN NOT i.indisvalid THEN 'not valid (a failed CREATE INDEX CONCURRENTLY?)'
                      WHEN NOT i.indimmediate THEN 'deferrable'
                      WHEN i.indpred IS NOT NULL THEN 'partial (has a WHERE clause)'
                      WHEN i.indexprs IS NOT NULL OR 0 = ANY (i.indkey::int2[]) THEN 'on an expression'
                    END
             FROM pg_index i
             JOIN pg_class ic ON ic.oid = i.indexrelid
             JOIN pg_am am ON am.oid = ic.relam
             WHERE i.indrelid = $1
             ORDER BY 4 NULLS FIRST, 1",
            &[&oid],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| MvIndex {
            name: r.get(0),
            definition: r.get(1),
            unique: r.get(2),
            not_concurrent_because: r.get(3),
        })
        .collect())
}
