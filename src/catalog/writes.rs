//! Write counters of base tables (pg_stat): an MV whose base tables were written since its
//! last refresh is stale.

use std::collections::HashMap;

use tokio_postgres::Client;

pub const TABLE_WRITES_SQL: &str = include_str!("../../assets/sql/table_writes.sql");

/// Table oid -> rows inserted, updated and deleted since the statistics were reset.
pub type TableWrites = HashMap<u32, i64>;

pub async fn table_writes(
    client: &Client,
    tables: &[u32],
) -> Result<TableWrites, tokio_postgres::Error> {
    if tables.is_empty() {
        return Ok(TableWrites::new());
    }
    let rows = client.query(TABLE_WRITES_SQL, &[&tables]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The sum over one MV's base tables; None when it reads no table (only functions, VALUES).
pub fn writes_of(base_tables: &[u32], writes: &TableWrites) -> Option<i64> {
    if base_tables.is_empty() {
        return None;
    }
    Some(base_tables.iter().filter_map(|t| writes.get(t)).sum())
}
