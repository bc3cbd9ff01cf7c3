//! What the ledger adds to the catalog's types: whether its version is current, into
//! `ServerFacts`, and its per-MV statistics (or the memory log's), into `MatView`.

use tokio_postgres::Client;

use crate::catalog::{Inventory, MatView, ServerFacts, StatsSource};
use crate::format::round1;
use crate::ledger::{LATEST_VERSION, Ledger, LedgerStats, MemoryLog};

impl ServerFacts {
    /// The server facts, with whether `ledger` is installed at the version this mvtop needs
    /// (`ledger_installed`) or at an older one (`ledger_outdated`).
    pub async fn fetch(
        client: &Client,
        ledger: &Ledger,
    ) -> Result<ServerFacts, tokio_postgres::Error> {
        let mut facts = ServerFacts::read(client, ledger.schema()).await?;
        facts.ledger_installed = facts.ledger_version.is_some_and(|v| v >= LATEST_VERSION);
        facts.ledger_outdated = facts.ledger_version.is_some_and(|v| v < LATEST_VERSION);
        Ok(facts)
    }
}

impl Inventory {
    /// Without a ledger: this process's own runs stand in for it.
    pub fn apply_memory_log(&mut self, log: &MemoryLog) {
        if self.facts.ledger_installed {
            return;
        }
        let stats = log.stats();
        let costs = log.cost_summaries();
        for v in &mut self.views {
            if let Some(l) = stats.get(&v.oid) {
                apply_ledger(v, l, StatsSource::Session);
            }
            if let Some(c) = costs.get(&v.oid) {
                v.refresh_cost = Some(c.clone());
            }
        }
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
