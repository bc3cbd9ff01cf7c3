//! What one refresh cost: the figures as recorded (`RunCost`), and the read-only queries
//! they come from — pg_stat_statements' counters of the refresh's own statement, read
//! before and after it (`probe`, `statement_counters`). The deltas are taken by
//! `refresh::cost`; the sessions a refresh blocked are sampled by `sessions::blocked`.

use serde::Serialize;
use tokio_postgres::Client;

use super::ident::quote_ident;

const PROBE_SQL: &str = include_str!("../../assets/sql/refresh_cost_probe.sql");
const COUNTERS_SQL: &str = include_str!("../../assets/sql/refresh_cost_pss.sql");

/// `cost_source` of figures from pg_stat_statements' entry of the refresh's own statement.
pub const SOURCE_PSS: &str = "pg_stat_statements";

/// What one refresh cost. Every figure may be absent (unknown, never zero for unknown);
/// `cost_note` says why the I/O figures are absent, `blocked_note` why the blocked ones
/// are. Field names are part of the JSON of `mvtop history` (flattened into each run).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunCost {
    /// WAL the refresh's statement wrote.
    pub wal_bytes: Option<i64>,
    /// Temporary files written (sorts and hashes that spilled to disk).
    pub temp_bytes: Option<i64>,
    /// Shared buffers read from outside shared_buffers (OS cache or disk), in bytes.
    pub shared_read_bytes: Option<i64>,
    /// Shared buffers found in shared_buffers, in bytes.
    pub shared_hit_bytes: Option<i64>,
    /// Rows the statement processed (the MV's new row count, as pg_stat_statements counts).
    pub rows_processed: Option<i64>,
    /// Where the I/O figures come from (`pg_stat_statements`); None when there are none.
    pub cost_source: Option<String>,
    /// Why I/O figures are absent (or partial), in one line.
    pub cost_note: Option<String>,
    /// Sessions that waited for a lock the refresh held or was queued for (readers for a
    /// plain refresh, writers for CONCURRENTLY).
    pub blocked_sessions: Option<i32>,
    /// The longest of their waits.
    pub blocked_longest_ms: Option<f64>,
    /// Their waits summed.
    pub blocked_total_ms: Option<f64>,
    /// Who they were, by user and application, most waited first.
    pub blocked_who: Option<Vec<BlockedWho>>,
    /// Why the blocked figures are absent, in one line.
    pub blocked_note: Option<String>,
}

impl RunCost {
    /// Whether any I/O figure was measured.
    pub fn measured(&self) -> bool {
        self.cost_source.is_some()
    }
}

/// The sessions of one user and application that a refresh blocked.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BlockedWho {
    pub user: String,
    pub application: String,
    pub sessions: i32,
    pub total_ms: f64,
    pub longest_ms: f64,
}

/// What decides whether and how a refresh can be measured on this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub pss_schema: Option<String>,
    pub pss_preloaded: Option<bool>,
    pub track: Option<String>,
    pub track_utility: Option<String>,
    pub block_size: i64,
}

impl Probe {
    /// The view's qualified name, or the one line saying why it cannot count this refresh.
    pub fn usable(&self) -> Result<String, String> {
        let Some(schema) = &self.pss_schema else {
            return Err(
                "pg_stat_statements is not installed in this database (CREATE EXTENSION \
                 pg_stat_statements)"
                    .into(),
            );
        };
        if self.pss_preloaded == Some(false) {
            return Err(super::statements::NOT_LOADED.into());
        }
        if self.track.as_deref() == Some("none") {
            return Err("pg_stat_statements.track is none: nothing is counted".into());
        }
        if self.track_utility.as_deref() == Some("off") {
            return Err(
                "pg_stat_statements.track_utility is off: REFRESH statements are not counted"
                    .into(),
            );
        }
        Ok(format!("{}.pg_stat_statements", quote_ident(schema)))
    }
}

pub async fn probe(client: &Client) -> Result<Probe, tokio_postgres::Error> {
    let r = client.query_one(PROBE_SQL, &[]).await?;
    Ok(Probe {
        pss_schema: r.get("pss_schema"),
        pss_preloaded: r.get("pss_preloaded"),
        track: r.get("track"),
        track_utility: r.get("track_utility"),
        block_size: r.get("block_size"),
    })
}

/// One pg_stat_statements entry of a refresh statement, as counted so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementCounters {
    pub queryid: i64,
    pub calls: i64,
    pub wal_bytes: Option<i64>,
    pub temp_blks: Option<i64>,
    pub read_blks: Option<i64>,
    pub hit_blks: Option<i64>,
    pub rows: Option<i64>,
}

/// What a refresh statement is, for finding its pg_stat_statements entries.
#[derive(Debug, Clone, Copy)]
pub struct StatementKey<'a> {
    /// The exact text sent.
    pub text: &'a str,
    pub oid: u32,
    pub concurrently: bool,
    pub with_data: bool,
}

/// The entries that count `key` (usually one), from the view `pss` (`Probe::usable`).
pub async fn statement_counters(
    client: &Client,
    pss: &str,
    key: StatementKey<'_>,
) -> Result<Vec<StatementCounters>, tokio_postgres::Error> {
    let sql = COUNTERS_SQL.replace("{pss}", pss);
    let rows = client
        .query(
            &sql,
            &[&key.text, &key.oid, &key.concurrently, &key.with_data],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| StatementCounters {
            queryid: r.get("queryid"),
            calls: r.get("calls"),
            wal_bytes: r.get("wal_bytes"),
            temp_blks: r.get("temp_blks"),
            read_blks: r.get("read_blks"),
            hit_blks: r.get("hit_blks"),
            rows: r.get("rows"),
        })
        .collect())
}

/// What an MV's refreshes cost lately, from its recorded runs (`ledger::cost::summarize`).
/// Part of the JSON of `mvtop list` (`refresh_cost`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostSummary {
    /// Where the runs come from (`ledger`, or this session's runs without one).
    pub source: super::StatsSource,
    /// The latest successful run's figures (with their notes), and whether it ran
    /// CONCURRENTLY.
    pub last: Option<RunCost>,
    pub last_concurrently: Option<bool>,
    /// Averages over the last successful runs (at most `runs_considered`) that have the figure.
    pub runs_considered: usize,
    pub avg_wal_bytes: Option<f64>,
    pub avg_temp_bytes: Option<f64>,
    pub avg_shared_read_bytes: Option<f64>,
    pub avg_blocked_total_ms: Option<f64>,
    /// The average WAL of the last plain and CONCURRENTLY runs, each with how many were
    /// measured: what the advice compares.
    pub plain_avg_wal_bytes: Option<f64>,
    pub plain_wal_runs: usize,
    pub concurrently_avg_wal_bytes: Option<f64>,
    pub concurrently_wal_runs: usize,
    /// What the latest plain refresh (of any outcome) with blocked figures blocked.
    pub last_plain_blocked: Option<Blocked>,
    /// The most any of the last plain runs blocked in total.
    pub max_plain_blocked_total_ms: Option<f64>,
}

/// The blocked figures of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Blocked {
    pub sessions: i32,
    pub total_ms: f64,
    pub longest_ms: f64,
}

impl RunCost {
    /// The blocked figures, when they were sampled.
    pub fn blocked(&self) -> Option<Blocked> {
        Some(Blocked {
            sessions: self.blocked_sessions?,
            total_ms: self.blocked_total_ms?,
            longest_ms: self.blocked_longest_ms?,
        })
    }
}

/// A wait as the blocked figures show it: seconds with one decimal (`0.9 s`, `3.2 s`).
pub fn wait_secs(ms: f64) -> String {
    format!("{:.1} s", ms / 1000.0)
}

impl Blocked {
    /// `14 sessions blocked, 3.2 s in total, longest 0.9 s`.
    pub fn describe(&self) -> String {
        match self.sessions {
            0 => "no session blocked".into(),
            n => format!(
                "{n} session{} blocked, {} in total, longest {}",
                if n == 1 { "" } else { "s" },
                wait_secs(self.total_ms),
                wait_secs(self.longest_ms)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_figures_read_as_the_confirm_dialog_says_them() {
        let b = Blocked {
            sessions: 14,
            total_ms: 3210.0,
            longest_ms: 870.0,
        };
        assert_eq!(
            b.describe(),
            "14 sessions blocked, 3.2 s in total, longest 0.9 s"
        );
        let one = Blocked {
            sessions: 1,
            total_ms: 40.0,
            longest_ms: 40.0,
        };
        assert_eq!(
            one.describe(),
            "1 session blocked, 0.0 s in total, longest 0.0 s"
        );
        assert_eq!(
            Blocked {
                sessions: 0,
                total_ms: 0.0,
                longest_ms: 0.0
            }
            .describe(),
            "no session blocked"
        );
    }

    #[test]
    fn a_probe_says_why_it_cannot_count() {
        let mut p = Probe {
            pss_schema: Some("ext".into()),
            pss_preloaded: None,
            track: Some("top".into()),
            track_utility: Some("on".into()),
            block_size: 8192,
        };
        assert_eq!(p.usable().unwrap(), "\"ext\".pg_stat_statements");
        p.track_utility = Some("off".into());
        assert!(p.usable().unwrap_err().contains("track_utility"));
        p.pss_preloaded = Some(false);
        assert!(p.usable().unwrap_err().contains("shared_preload_libraries"));
        p.pss_schema = None;
        assert!(p.usable().unwrap_err().contains("not installed"));
    }
}
