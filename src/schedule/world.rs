//! What the driver reads at each look: the schedules (when their version changed), the MVs'
//! catalog (now and then, syncing the naming convention's schedules), and the writes and
//! upstream refreshes its change-driven schedules watch.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;

use super::changes::Seen;
use super::driver::Driver;
use super::events::SchedulerEvent;
use super::policy::{Policy, Schedule};
use crate::catalog::writes::{table_writes, writes_of};
use crate::catalog::{Inventory, MatView};
use crate::pgconn::one_line;

impl Driver {
    pub(super) fn unresolved(&self) -> bool {
        self.schedules.iter().any(|s| {
            !self
                .views
                .contains_key(&(s.mv_schema.clone(), s.mv_name.clone()))
        }) && self.catalog_at.is_none()
    }

    pub(super) fn client(&self) -> Result<&tokio_postgres::Client, String> {
        self.session
            .as_ref()
            .map(|s| &s.client)
            .ok_or_else(|| "scheduler: not connected".to_string())
    }

    pub(super) fn ledger_error(&self, e: &tokio_postgres::Error) -> String {
        let gone = [SqlState::UNDEFINED_TABLE, SqlState::INVALID_SCHEMA_NAME];
        if e.code().is_some_and(|c| gone.contains(c)) {
            format!(
                "{}; meanwhile the schedules last read run uncoordinated and outcomes are \
                 kept in memory only",
                self.options
                    .ledger
                    .why_not_current(None)
                    .unwrap_or_default()
            )
        } else {
            format!("reading schedules: {}", one_line(e))
        }
    }

    pub(super) async fn load_schedules(&mut self) -> Result<(), String> {
        let loaded = match self.options.ledger.schedules(self.client()?).await {
            Ok(l) => l,
            Err(e) => return Err(self.ledger_error(&e)),
        };
        self.schedules = loaded.schedules;
        self.waiting.clear();
        self.say(SchedulerEvent::Loaded {
            schedules: self.schedules.len(),
            problems: loaded.problems,
        });
        Ok(())
    }

    pub(super) async fn load_catalog(&mut self) -> Result<(), String> {
        let client = self.client()?;
        let views = Inventory::catalog_only(client)
            .await
            .map_err(|e| format!("reading the MVs: {}", one_line(&e)))?;
        let naming = self
            .options
            .ledger
            .naming_convention(client)
            .await
            .map_err(|e| format!("reading settings: {}", one_line(&e)))?;
        if let Some(tz) = naming {
            let names: Vec<(String, String)> = views
                .iter()
                .map(|v| (v.schema.clone(), v.name.clone()))
                .collect();
            let added = self
                .options
                .ledger
                .sync_naming(client, &names, &tz)
                .await
                .map_err(|e| format!("naming convention: {}", one_line(&e)))?;
            if added > 0 {
                self.version = None;
            }
        }
        self.views = views
            .into_iter()
            .map(|v| ((v.schema.clone(), v.name.clone()), v))
            .collect();
        Ok(())
    }

    /// Base-table writes of the change-driven schedules, and upstream refreshes since each
    /// one's last run, through the change tracker.
    pub(super) async fn observe(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<u32, Seen>, String> {
        let watched: Vec<(&Schedule, &MatView)> = self
            .schedules
            .iter()
            .filter(|s| matches!(s.policy, Policy::OnChange { .. }))
            .filter_map(|s| {
                let v = self.views.get(&(s.mv_schema.clone(), s.mv_name.clone()))?;
                Some((s, v))
            })
            .collect();
        if watched.is_empty() {
            return Ok(HashMap::new());
        }
        let mut tables: Vec<u32> = watched
            .iter()
            .flat_map(|(_, v)| v.base_tables.clone())
            .collect();
        tables.sort_unstable();
        tables.dedup();
        let upstream: Vec<u32> = watched
            .iter()
            .flat_map(|(_, v)| v.upstream_oids.clone())
            .collect();
        let client = self.client()?;
        let writes = table_writes(client, &tables)
            .await
            .map_err(|e| format!("reading write counters: {}", one_line(&e)))?;
        let refreshed = self
            .options
            .ledger
            .last_refreshes(client, &upstream)
            .await
            .map_err(|e| format!("reading the ledger: {}", one_line(&e)))?;
        let mut seen = HashMap::new();
        let keep: HashSet<u32> = watched.iter().map(|(_, v)| v.oid).collect();
        for (s, v) in &watched {
            let writes_now = writes_of(&v.base_tables, &writes).unwrap_or(0);
            let since = s.last_due.unwrap_or(s.created_at);
            let upstream_changed = v
                .upstream_oids
                .iter()
                .filter_map(|o| refreshed.get(o).copied())
                .filter(|t| *t > since)
                .max();
            let baseline = s.base_writes.or(Some(writes_now));
            let observed = self
                .tracker
                .observe(v.oid, writes_now, baseline, upstream_changed, now);
            seen.insert(v.oid, observed);
        }
        self.tracker.forget_except(&keep);
        Ok(seen)
    }
}
