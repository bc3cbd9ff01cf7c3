//! Per-MV refresh statistics from the ledger.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::Ledger;

const STATS_SQL: &str = include_str!("../../assets/sql/ledger/stats.sql");

#[derive(Debug, Clone, PartialEq)]
pub struct LedgerStats {
    pub ok_count: i64,
    pub failures: i64,
    pub last_refresh: Option<DateTime<Utc>>,
    pub last_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// `ok`, `failed`, `cancelled` or `timed_out`: the latest run's.
    pub last_outcome: String,
    pub last_error: Option<String>,
    /// The base tables' write counters when the last successful run began (mvtop's runs).
    pub base_writes: Option<i64>,
}

impl Ledger {
    pub async fn stats(
        &self,
        client: &Client,
    ) -> Result<HashMap<u32, LedgerStats>, tokio_postgres::Error> {
        let rows = client.query(&self.sql(STATS_SQL), &[]).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let s = LedgerStats {
                    ok_count: r.get("ok_count"),
                    failures: r.get("failures"),
                    last_refresh: r.get("last_refresh"),
                    last_ms: r.get("last_ms"),
                    avg_ms: r.get("avg_ms"),
                    p95_ms: r.get("p95_ms"),
                    last_outcome: r.get("last_outcome"),
                    last_error: r.get("last_error"),
                    base_writes: r.get("base_writes"),
                };
                (r.get("oid"), s)
            })
            .collect())
    }
}
