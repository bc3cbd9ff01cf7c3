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

/// The refresh log's columns the statistics read, for runs kept elsewhere (pg_cron's).
const EXTRA_RUNS: &str = "SELECT * FROM unnest($1::oid[], $2::text[], $3::timestamptz[], \
     $4::float8[], $5::timestamptz[], $6::int8[], $7::text[]) \
     AS x(mv_oid, outcome, finished_at, duration_ms, started_at, base_writes, error)";

impl Ledger {
    /// The same statistics over the ledger's runs of `oids` (none: `with_ledger` false)
    /// together with `extra` runs kept elsewhere (pg_cron's, not recorded in the ledger).
    pub async fn stats_with_runs(
        &self,
        client: &Client,
        oids: &[u32],
        extra: &[super::RefreshRecord],
        with_ledger: bool,
    ) -> Result<HashMap<u32, LedgerStats>, tokio_postgres::Error> {
        let source = if with_ledger {
            format!(
                "(SELECT mv_oid, outcome, finished_at, duration_ms, started_at, base_writes, error
                  FROM {{schema}}.refresh_log WHERE mv_oid = ANY($8) UNION ALL {EXTRA_RUNS})"
            )
        } else {
            format!("({EXTRA_RUNS})")
        };
        let sql = STATS_SQL.replace("FROM {schema}.refresh_log", &format!("FROM {source} AS l"));
        let col = |f: fn(&super::RefreshRecord) -> String| extra.iter().map(f).collect::<Vec<_>>();
        let oid: Vec<u32> = extra.iter().map(|r| r.mv_oid).collect();
        let outcome = col(|r| r.outcome.clone());
        let finished: Vec<Option<DateTime<Utc>>> = extra.iter().map(|r| r.finished_at).collect();
        let ms: Vec<Option<f64>> = extra.iter().map(|r| r.duration_ms).collect();
        let started: Vec<DateTime<Utc>> = extra.iter().map(|r| r.started_at).collect();
        let writes: Vec<Option<i64>> = vec![None; extra.len()];
        let error: Vec<Option<String>> = extra.iter().map(|r| r.error.clone()).collect();
        let sql = self.sql(&sql);
        let rows = if with_ledger {
            client
                .query(
                    &sql,
                    &[
                        &oid, &outcome, &finished, &ms, &started, &writes, &error, &oids,
                    ],
                )
                .await?
        } else {
            client
                .query(
                    &sql,
                    &[&oid, &outcome, &finished, &ms, &started, &writes, &error],
                )
                .await?
        };
        Ok(rows.iter().map(|r| (r.get("oid"), from_row(r))).collect())
    }

    pub async fn stats(
        &self,
        client: &Client,
    ) -> Result<HashMap<u32, LedgerStats>, tokio_postgres::Error> {
        let rows = client.query(&self.sql(STATS_SQL), &[]).await?;
        Ok(rows.iter().map(|r| (r.get("oid"), from_row(r))).collect())
    }
}

fn from_row(r: &tokio_postgres::Row) -> LedgerStats {
    LedgerStats {
        ok_count: r.get("ok_count"),
        failures: r.get("failures"),
        last_refresh: r.get("last_refresh"),
        last_ms: r.get("last_ms"),
        avg_ms: r.get("avg_ms"),
        p95_ms: r.get("p95_ms"),
        last_outcome: r.get("last_outcome"),
        last_error: r.get("last_error"),
        base_writes: r.get("base_writes"),
    }
}
