//! Every materialized view the role can see, with what PostgreSQL itself can tell about it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::graph;
use super::per_mv::{DetailsCache, PerMv};
use super::server::{PssAvailability, ServerFacts};
use super::status::{MvStatus, StatusInput, status};
use super::writes::{TableWrites, table_writes, writes_of};
use crate::ledger::{Ledger, LedgerStats, MemoryLog};
use crate::pgconn::Session;

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
    pub definition: Option<String>,
    pub definition_skipped_locked: bool,
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

/// What to fetch beyond the catalog facts, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Where the refresh ledger would be; its figures win over PostgreSQL's own.
    pub ledger: Ledger,
    /// `pg_get_viewdef` for every MV: about a sixth of the cost on thousands of MVs, and
    /// most of the bytes; screens that do not show definitions leave them out.
    pub definitions: bool,
    /// From this many MVs on, a second session shares the per-MV work. It costs a
    /// connection, opened while the main session runs the catalog query.
    pub second_session_from: i64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            ledger: Ledger::default(),
            definitions: true,
            second_session_from: 1000,
        }
    }
}

impl Inventory {
    /// Without a ledger: this process's own runs stand in for it.
    pub fn apply_memory_log(&mut self, log: &MemoryLog) {
        if self.facts.ledger_installed {
            return;
        }
        let stats = log.stats();
        for v in &mut self.views {
            if let Some(l) = stats.get(&v.oid) {
                apply_ledger(v, l, StatsSource::Session);
            }
        }
    }
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
            upstream_oids: Vec::new(),
            base_tables: Vec::new(),
            row_version: 0,
        }
    }
}

/// The inventory plus the one-line notes about sources that could not be used.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub facts: ServerFacts,
    pub views: Vec<MatView>,
    pub hints: Vec<String>,
}

impl Inventory {
    /// The server facts, the catalog, sizes, definitions and refresh statistics, with as few
    /// waits as possible: the main session's queries go out pipelined (facts first, as the
    /// rest depends on them), and with many MVs a second session from `connect_more` takes
    /// part of the per-MV work at the same time.
    pub async fn fetch(
        main: &Client,
        connect_more: impl AsyncFnOnce() -> Option<Session>,
        with: FetchOptions,
    ) -> Result<Inventory, tokio_postgres::Error> {
        let mut cache = DetailsCache::default();
        Inventory::fetch_reusing(main, connect_more, with, &mut cache).await
    }

    /// `fetch`, reading sizes and definitions only of the MVs that changed since `cache`
    /// was filled (and filling it): what a caller that reads again and again uses.
    pub async fn fetch_reusing(
        main: &Client,
        connect_more: impl AsyncFnOnce() -> Option<Session>,
        with: FetchOptions,
        cache: &mut DetailsCache,
    ) -> Result<Inventory, tokio_postgres::Error> {
        // Pipelined: the facts, then the MVs by name.
        let (facts, listed) = tokio::join!(
            ServerFacts::fetch(main, &with.ledger),
            super::matviews::list(main)
        );
        let (mut facts, listed) = (facts?, listed?);
        // The fingerprint the console's pulse compares against, from the same rows.
        facts.mv_count = listed.views.len() as i64;
        facts.mv_xmin_sum = listed
            .views
            .iter()
            .map(|v| v.row_version)
            .sum::<i64>()
            .to_string();
        let mvs: Vec<(u32, i64)> = listed
            .views
            .iter()
            .map(|v| (v.oid, v.row_version))
            .collect();
        // With many MVs, a helper session shares the sizing; it connects while the main
        // session reads the rest of the catalog.
        let helper = async {
            if facts.mv_count >= with.second_session_from {
                connect_more().await
            } else {
                None
            }
        };
        let oids: Vec<u32> = mvs.iter().map(|m| m.0).collect();
        let links = super::matviews::links(main, &oids);
        let per_mv = super::per_mv::fetch(main, helper, &mvs, &facts, &with, cache);
        let (links, per_mv) = tokio::join!(links, per_mv);
        let PerMv {
            details,
            stats,
            ledger,
            own_pids,
        } = per_mv;
        let mut views = super::matviews::assemble(listed, links?);
        for v in &mut views {
            // mvtop's own sessions sized it meanwhile: no reader.
            v.lock_holder_pids.retain(|p| !own_pids.contains(p));
            v.lock_holders = v.lock_holder_pids.len() as i64;
        }
        let mut details = details?;
        let mut hints = Vec::new();
        let ledger = match ledger {
            Some(Ok(ledger)) => ledger,
            Some(Err(e)) => {
                hints.push(format!(
                    "refresh ledger unreadable ({}): figures come from PostgreSQL alone",
                    crate::pgconn::one_line(&e)
                ));
                HashMap::new()
            }
            None if facts.ledger_outdated => {
                hints.push(
                    with.ledger
                        .why_not_current(facts.ledger_version)
                        .unwrap_or_default(),
                );
                HashMap::new()
            }
            None => {
                hints.push(format!(
                    "no refresh ledger in schema {}: `mvtop install` keeps a refresh history \
                     (PostgreSQL records none)",
                    with.ledger.schema()
                ));
                HashMap::new()
            }
        };
        if let PssAvailability::Missing(why) = facts.pss() {
            hints.push(why);
        }
        let stats = match stats {
            Some(Ok(stats)) => stats,
            Some(Err(e)) => {
                hints.push(format!(
                    "pg_stat_statements unreadable ({}): no refresh durations",
                    crate::pgconn::one_line(&e)
                ));
                HashMap::new()
            }
            None => HashMap::new(),
        };
        if !facts.reads_all_stats && matches!(facts.pss(), PssAvailability::Usable { .. }) {
            hints.push(
                "role lacks pg_read_all_stats: refreshes run by other roles are not counted".into(),
            );
        }
        if !facts.track_commit_timestamp && !facts.ledger_installed {
            hints.push(
                "track_commit_timestamp is off and no ledger is installed: last refresh times unknown"
                    .into(),
            );
        }
        let tables: Vec<u32> = {
            let mut all: Vec<u32> = views.iter().flat_map(|v| v.base_tables.clone()).collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        let writes = table_writes(main, &tables).await?;
        for v in &mut views {
            // An MV created after the catalog query ran has no row there; one dropped since
            // keeps nulls here. Both are ordinary races, not errors.
            if let Some(d) = details.remove(&v.oid) {
                v.heap_bytes = d.table_bytes;
                v.index_bytes = d.index_bytes;
                v.total_bytes = d.table_bytes.zip(d.index_bytes).map(|(t, i)| t + i);
                v.size_skipped_locked = d.size_locked;
                v.definition = d.definition;
                v.definition_skipped_locked = d.definition_locked;
            }
            match (ledger.get(&v.oid), stats.get(&v.oid)) {
                (Some(l), _) => apply_ledger(v, l, StatsSource::Ledger),
                (None, Some(s)) => {
                    v.refresh_count = Some(s.calls);
                    v.avg_refresh_ms = s.avg_ms.map(round1);
                    v.max_refresh_ms = s.max_ms.map(round1);
                    v.refresh_stats_source = Some(StatsSource::PgStatStatements);
                }
                (None, None) => {}
            }
            v.base_writes = writes_of(&v.base_tables, &writes);
        }
        settle_statuses(&mut views, &writes, &HashMap::new(), facts.in_recovery);
        Ok(Inventory {
            facts,
            views,
            hints,
        })
    }
}

impl Inventory {
    /// The catalog part alone (names, readiness, dependencies, base tables): no sizes, no
    /// definitions, no statistics. What the scheduler needs, at a fraction of the cost.
    pub async fn catalog_only(client: &Client) -> Result<Vec<MatView>, tokio_postgres::Error> {
        super::matviews::read(client).await
    }
}

/// The ledger's figures replace PostgreSQL's own: they are per run, with outcomes.
pub fn apply_ledger(v: &mut MatView, l: &LedgerStats, source: StatsSource) {
    v.refresh_count = Some(l.ok_count);
    v.refresh_failures = Some(l.failures);
    v.avg_refresh_ms = l.avg_ms.map(round1);
    v.p95_refresh_ms = l.p95_ms.map(round1);
    v.last_refresh_ms = l.last_ms.map(round1);
    v.last_refresh_outcome = Some(l.last_outcome.clone());
    v.last_refresh_error = l.last_error.clone();
    v.refresh_stats_source = Some(source);
    v.base_writes_at_refresh = l.base_writes;
    if l.last_refresh.is_some() {
        v.last_refresh = l.last_refresh;
        v.last_refresh_source = Some(source);
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

pub(super) fn round1(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
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
