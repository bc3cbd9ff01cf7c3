//! The inventory as mvtop shows it: the catalog's MVs (`catalog`), with the refresh
//! statistics of pg_stat_statements and, winning over them, the ledger's. It sits above
//! `catalog` and `ledger` so that `catalog` reads PostgreSQL alone and imports no ledger.

mod merge;

use std::collections::HashMap;

use tokio_postgres::Client;

pub use merge::apply_ledger;

use crate::catalog::inventory::settle_statuses;
use crate::catalog::per_mv::{self, DetailsCache, PerMv};
use crate::catalog::server::PssAvailability;
use crate::catalog::writes::{table_writes, writes_of};
use crate::catalog::{Inventory, ServerFacts, StatsSource, matviews};
use crate::format::round1;
use crate::ledger::Ledger;
use crate::pgconn::Session;

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
        let (facts, listed) =
            tokio::join!(ServerFacts::fetch(main, &with.ledger), matviews::list(main));
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
        let links = matviews::links(main, &oids);
        let per_mv = per_mv::fetch(main, helper, &mvs, &facts, with.definitions, cache);
        // On the main session too, after the per-MV statements: the ledger's statistics.
        let ledger = async {
            if facts.ledger_installed {
                let (stats, costs) = tokio::join!(
                    with.ledger.stats(main),
                    with.ledger.cost_summaries(main, &oids)
                );
                Some(stats.and_then(|s| Ok((s, costs?))))
            } else {
                None
            }
        };
        let (links, per_mv, ledger) = tokio::join!(links, per_mv, ledger);
        let PerMv {
            details,
            stats,
            own_pids,
        } = per_mv;
        let mut views = matviews::assemble(listed, links?);
        for v in &mut views {
            // mvtop's own sessions sized it meanwhile: no reader.
            v.lock_holder_pids.retain(|p| !own_pids.contains(p));
            v.lock_holders = v.lock_holder_pids.len() as i64;
        }
        let mut details = details?;
        let mut hints = Vec::new();
        let (ledger, costs) = match ledger {
            Some(Ok(both)) => both,
            Some(Err(e)) => {
                hints.push(format!(
                    "refresh ledger unreadable ({}): figures come from PostgreSQL alone",
                    crate::pgconn::one_line(&e)
                ));
                (HashMap::new(), HashMap::new())
            }
            None if facts.ledger_outdated => {
                hints.push(
                    with.ledger
                        .why_not_current(facts.ledger_version)
                        .unwrap_or_default(),
                );
                (HashMap::new(), HashMap::new())
            }
            None => {
                hints.push(format!(
                    "no refresh ledger in schema {}: `mvtop install` keeps a refresh history \
                     (PostgreSQL records none)",
                    with.ledger.schema()
                ));
                (HashMap::new(), HashMap::new())
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
            v.refresh_cost = costs.get(&v.oid).cloned();
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
