//! `mvtop history`: the recorded runs, newest first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::Ledger;
use crate::catalog::cost::{BlockedWho, RunCost};

/// The refresh log's columns a run is read from.
const COLUMNS: &str = "id, mv_oid, mv_schema, mv_name, started_at, finished_at, duration_ms,
    concurrent, with_data, source, outcome, error, rows_after, bytes_after, db_user,
    backend_pid, client_application, wal_bytes, temp_bytes, shared_read_bytes,
    shared_hit_bytes, rows_processed, cost_source, cost_note, blocked_sessions,
    blocked_longest_ms, blocked_total_ms, blocked_who, blocked_note";

/// One recorded refresh. Field names are the JSON contract of `mvtop history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefreshRecord {
    pub id: i64,
    pub mv_oid: u32,
    pub schema: String,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<f64>,
    pub concurrently: bool,
    pub with_data: bool,
    pub source: String,
    pub outcome: String,
    pub error: Option<String>,
    pub rows_after: Option<i64>,
    pub bytes_after: Option<i64>,
    pub db_user: String,
    pub backend_pid: Option<i32>,
    pub client_application: Option<String>,
    /// What it cost (null figures: unknown, with the reason in the notes).
    #[serde(flatten)]
    pub cost: RunCost,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Only this MV (by oid).
    pub mv_oid: Option<u32>,
    /// Only runs started this long ago or later.
    pub since: Option<Duration>,
    pub limit: Option<i64>,
}

impl Ledger {
    pub async fn history(
        &self,
        client: &Client,
        filter: &HistoryFilter,
    ) -> Result<Vec<RefreshRecord>, tokio_postgres::Error> {
        let since_ms = filter.since.map(|d| d.as_millis() as f64);
        let rows = client
            .query(
                &self.sql(&format!(
                    "SELECT {COLUMNS}
                     FROM {{schema}}.refresh_log
                     WHERE ($1::oid IS NULL OR mv_oid = $1)
                       AND ($2::float8 IS NULL
                            OR started_at >= now() - make_interval(secs => $2 / 1000))
                     ORDER BY started_at DESC, id DESC
                     LIMIT $3",
                )),
                &[&filter.mv_oid, &since_ms, &filter.limit],
            )
            .await?;
        Ok(rows.iter().map(record).collect())
    }

    /// Every recorded run of `oids` started at `since` or later (to match pg_cron's runs).
    pub async fn runs_of(
        &self,
        client: &Client,
        oids: &[u32],
        since: DateTime<Utc>,
    ) -> Result<Vec<RefreshRecord>, tokio_postgres::Error> {
        let rows = client
            .query(
                &self.sql(&format!(
                    "SELECT {COLUMNS}
                     FROM {{schema}}.refresh_log
                     WHERE mv_oid = ANY($1) AND started_at >= $2",
                )),
                &[&oids, &since],
            )
            .await?;
        Ok(rows.iter().map(record).collect())
    }
}

fn record(r: &tokio_postgres::Row) -> RefreshRecord {
    RefreshRecord {
        id: r.get("id"),
        mv_oid: r.get("mv_oid"),
        schema: r.get("mv_schema"),
        name: r.get("mv_name"),
        started_at: r.get("started_at"),
        finished_at: r.get("finished_at"),
        duration_ms: r.get("duration_ms"),
        concurrently: r.get("concurrent"),
        with_data: r.get("with_data"),
        source: r.get("source"),
        outcome: r.get("outcome"),
        error: r.get("error"),
        rows_after: r.get("rows_after"),
        bytes_after: r.get("bytes_after"),
        db_user: r.get("db_user"),
        backend_pid: r.get("backend_pid"),
        client_application: r.get("client_application"),
        cost: cost_of(r),
    }
}

/// The cost columns of a refresh-log row.
pub(super) fn cost_of(r: &tokio_postgres::Row) -> RunCost {
    let who: Option<serde_json::Value> = r.get("blocked_who");
    RunCost {
        wal_bytes: r.get("wal_bytes"),
        temp_bytes: r.get("temp_bytes"),
        shared_read_bytes: r.get("shared_read_bytes"),
        shared_hit_bytes: r.get("shared_hit_bytes"),
        rows_processed: r.get("rows_processed"),
        cost_source: r.get("cost_source"),
        cost_note: r.get("cost_note"),
        blocked_sessions: r.get("blocked_sessions"),
        blocked_longest_ms: r.get("blocked_longest_ms"),
        blocked_total_ms: r.get("blocked_total_ms"),
        blocked_who: who.and_then(|w| serde_json::from_value::<Vec<BlockedWho>>(w).ok()),
        blocked_note: r.get("blocked_note"),
    }
}
