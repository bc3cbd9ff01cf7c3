//! Every materialized view the role can see, with what PostgreSQL itself can tell about it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::graph;
use super::server::ServerFacts;
use super::status::{MvStatus, StatusInput, status};
use super::writes::{TableWrites, writes_of};

/// Where a refresh figure comes from; every figure carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsSource {
    Ledger,
    /// Runs of this mvtop process, kept in memory when no ledger is installed.
    Session,
    PgStatStatements,
    CommitTimestamp,
    /// The ledger's runs (if any) and pg_cron's `job_run_details`, each run once.
    PgCron,
}

impl StatsSource {
    /// How screens name it next to a figure.
    pub fn label(self) -> &'static str {
        match self {
            StatsSource::Ledger => "ledger",
            StatsSource::Session => "this session's runs",
            StatsSource::PgStatStatements => "pg_stat_statements",
            StatsSource::CommitTimestamp => "commit timestamp",
            StatsSource::PgCron => "pg_cron",
        }
    }
}

/// One materialized view. Field names are the JSON contract of `mvtop list`: later work
/// adds fields, never renames them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatView {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `schema.name`, quoted only where SQL needs it.
    pub qualified_name: String,
    pub owner: String,
    pub populated: bool,
    /// Null while an ACCESS EXCLUSIVE lock is held or queued on it (sizing would wait).
    pub total_bytes: Option<i64>,
    pub heap_bytes: Option<i64>,
    pub index_bytes: Option<i64>,
    pub size_skipped_locked: bool,
    pub rows_estimate: Option<i64>,
    pub concurrent_ready: bool,
    /// The unique index that makes REFRESH CONCURRENTLY possible.
    pub unique_index: Option<String>,
    /// Relations it reads directly.
    pub depends_on: Vec<String>,
    pub depends_on_functions: Vec<String>,
    /// MVs it reads, directly or through plain views.
    pub upstream_mvs: Vec<String>,
    pub downstream_mvs: Vec<String>,
    pub in_cycle: bool,
    /// Refresh in ascending level order: upstream MVs first.
    pub refresh_level: u32,
    pub refreshing_pids: Vec<i32>,
    /// Other sessions holding a lock on it now (readers a plain refresh would block).
    pub lock_holders: i64,
    pub lock_holder_pids: Vec<i32>,
    pub last_refresh: Option<DateTime<Utc>>,
    pub last_refresh_source: Option<StatsSource>,
    pub last_refresh_ms: Option<f64>,
    pub avg_refresh_ms: Option<f64>,
    pub max_refresh_ms: Option<f64>,
    pub p95_refresh_ms: Option<f64>,
    pub refresh_count: Option<i64>,
    /// Failed, cancelled and timed-out runs (ledger only).
    pub refresh_failures: Option<i64>,
    pub last_refresh_outcome: Option<String>,
    pub last_refresh_error: Option<String>,
    pub refresh_stats_source: Option<StatsSource>,
    pub status: MvStatus,
    /// Rows written to its base tables (read directly or through views) since statistics
    /// were reset; compared with `base_writes_at_refresh` for fresh / stale.
    pub base_writes: Option<i64>,
    /// The same counters when its last successful refresh began (ledger, mvtop's runs).
    pub base_writes_at_refresh: Option<i64>,
    /// Null while it, or a relation it reads, is under an ACCESS EXCLUSIVE lock: reading the
    /// definition locks them all and would wait.
    pub definition: Option<std::sync::Arc<str>>,
    pub definition_skipped_locked: bool,
    /// What its refreshes cost lately (WAL, spill, I/O, sessions blocked), from the ledger
    /// or this session's runs; null when none was recorded.
    pub refresh_cost: Option<super::cost::CostSummary>,
    #[serde(skip)]
    pub upstream_oids: Vec<u32>,
    /// The tables whose writes make it stale (leaf partitions for partitioned tables).
    #[serde(skip)]
    pub base_tables: Vec<u32>,
    /// Its pg_class row's xmin: moves with every REFRESH and ALTER of it, so what was read
    /// of an MV whose row did not move need not be read again.
    #[serde(skip)]
    pub row_version: i64,
}

impl MatView {
    /// An MV known only by name: nothing measured yet (the inventory fills the rest).
    pub fn named(oid: u32, schema: String, name: String, qualified_name: String) -> MatView {
        MatView {
            oid,
            schema,
            name,
            qualified_name,
            owner: String::new(),
            populated: true,
            total_bytes: None,
            heap_bytes: None,
            index_bytes: None,
            size_skipped_locked: false,
            rows_estimate: None,
            concurrent_ready: false,
            unique_index: None,
            depends_on: Vec::new(),
            depends_on_functions: Vec::new(),
            upstream_mvs: Vec::new(),
            downstream_mvs: Vec::new(),
            in_cycle: false,
            refresh_level: 0,
            refreshing_pids: Vec::new(),
            lock_holders: 0,
            lock_holder_pids: Vec::new(),
            last_refresh: None,
            last_refresh_source: None,
            last_refresh_ms: None,
            avg_refresh_ms: None,
            max_refresh_ms: None,
            p95_refresh_ms: None,
            refresh_count: None,
            refresh_failures: None,
            last_refresh_outcome: None,
            last_refresh_error: None,
            refresh_stats_source: None,
            status: MvStatus::Populated,
            base_writes: None,
            base_writes_at_refresh: None,
            definition: None,
            definition_skipped_locked: false,
            refresh_cost: None,
            upstream_oids: Vec::new(),
            base_tables: Vec::new(),
            row_version: 0,
        }
    }
}

/// The inventory plus the one-line notes about sources that could not be used. It is read by
/// `Inventory::fetch` in the top-level `inventory` module, above this module and the ledger, which merges
/// in the ledger's statistics.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub facts: ServerFacts,
    pub views: Vec<MatView>,
    pub hints: Vec<String>,
}

impl Inventory {
    /// The catalog part alone (names, readiness, dependencies, base tables): no sizes, no
    /// definitions, no statistics. What the scheduler needs, at a fraction of the cost.
    pub async fn catalog_only(client: &Client) -> Result<Vec<MatView>, tokio_postgres::Error> {
        super::matviews::read(client).await
    }
}

/// Each MV's status from what is known of it now: `writes` the base tables' counters,
/// `at_refresh_start` the counters when each running refresh was first seen; on a
/// `standby` the counters are its own, and freshness is unknown.
pub fn settle_statuses(
    views: &mut [MatView],
    writes: &TableWrites,
    at_refresh_start: &HashMap<u32, i64>,
    standby: bool,
) {
    let refreshed: HashMap<u32, Option<DateTime<Utc>>> =
        views.iter().map(|v| (v.oid, v.last_refresh)).collect();
    for v in views.iter_mut() {
        if !v.base_tables.is_empty() && !writes.is_empty() {
            v.base_writes = writes_of(&v.base_tables, writes);
        }
        let upstream_newer = v.last_refresh.is_some_and(|own| {
            v.upstream_oids.iter().filter(|o| **o != v.oid).any(|o| {
                refreshed
                    .get(o)
                    .copied()
                    .flatten()
                    .is_some_and(|up| up > own)
            })
        });
        v.status = status(&StatusInput {
            populated: v.populated,
            refreshing: !v.refreshing_pids.is_empty(),
            last_failed: matches!(
                v.last_refresh_outcome.as_deref(),
                Some("failed" | "timed_out")
            ),
            writes_now: v.base_writes,
            writes_at_refresh: v.base_writes_at_refresh,
            writes_at_refresh_start: at_refresh_start.get(&v.oid).copied(),
            upstream_newer,
            standby,
        });
    }
}

/// Fills levels, cycles, and upstream/downstream names from the upstream oids.
pub(super) fn link_graph(views: &mut [MatView]) {
    let oids: Vec<u32> = views.iter().map(|v| v.oid).collect();
    let ups: Vec<Vec<u32>> = views.iter().map(|v| v.upstream_oids.clone()).collect();
    let facts = graph::analyse(&oids, &ups);
    let names: HashMap<u32, String> = views
        .iter()
        .map(|v| (v.oid, v.qualified_name.clone()))
        .collect();
    let named = |list: &[u32], own: u32| -> Vec<String> {
        let mut out: Vec<String> = list
            .iter()
            .filter(|&&o| o != own)
            .filter_map(|o| names.get(o).cloned())
            .collect();
        out.sort();
        out
    };
    for (v, f) in views.iter_mut().zip(facts) {
        v.upstream_mvs = named(&v.upstream_oids, v.oid);
        v.downstream_mvs = named(&f.downstream, v.oid);
        v.in_cycle = f.in_cycle;
        v.refresh_level = f.level;
    }
}
