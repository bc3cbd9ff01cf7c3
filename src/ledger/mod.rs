//! The refresh ledger: the history PostgreSQL does not keep. A schema (default `mvtop`)
//! with a versioned refresh log, installed and upgraded by migrations, read for per-MV
//! statistics and `mvtop history`, pruned by retention settings.

pub mod cost;
mod history;
mod install;
mod memory;
mod record;
mod stats;

pub use history::{HistoryFilter, RefreshRecord};
pub use install::{EventTriggers, InstallReport, LATEST_VERSION, MIGRATION_COUNT, Retention};
pub use memory::{MemoryLog, MemoryRun};
pub use record::RunRecord;
pub use stats::LedgerStats;

use crate::catalog::ident::quote_ident;

pub const DEFAULT_SCHEMA: &str = "mvtop";

/// The ledger in one schema of the connected database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    schema: String,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new(DEFAULT_SCHEMA)
    }
}

impl Ledger {
    pub fn new(schema: &str) -> Ledger {
        Ledger {
            schema: schema.to_string(),
        }
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// A SQL template with `{schema}`, `{start}` and `{end}` (the event trigger names)
    /// filled in, every one quoted.
    pub(crate) fn sql(&self, template: &str) -> String {
        template
            .replace("{schema}", &quote_ident(&self.schema))
            .replace("{start}", &quote_ident(&self.event_trigger_name("start")))
            .replace("{end}", &quote_ident(&self.event_trigger_name("end")))
    }

    /// Event trigger names are per database, not per schema: the schema goes in the name.
    fn event_trigger_name(&self, which: &str) -> String {
        format!("{}_refresh_{which}", self.schema)
    }
}
