//! How a refresh run goes into the ledger: the INSERT and the one place its parameters are
//! bound, in the order the SQL numbers them.

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use super::Ledger;
use crate::catalog::cost::RunCost;

const INSERT_RUN_SQL: &str = include_str!("../../assets/sql/ledger/insert_run.sql");

/// One run as recorded: the parameters of `Ledger::insert_run`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// The REFRESH's own duration, as the client measured it.
    pub duration_ms: Option<f64>,
    pub concurrent: bool,
    pub with_data: bool,
    /// Who asked (`refresh::Source::as_str`).
    pub source: &'static str,
    /// `ok`, `failed`, `cancelled` or `timed_out` (`refresh::OutcomeKind::as_str`).
    pub outcome: &'static str,
    pub error: Option<String>,
    /// Unique per run, so a row can be found again after a lost connection.
    pub token: String,
    /// The base tables' write counters before the refresh.
    pub base_writes: Option<i64>,
    /// What it cost, as measured (absent figures carry their reason).
    pub cost: RunCost,
}

impl RunRecord {
    /// $1 to $23 of insert_run.sql; `who` is `cost.blocked_who` as JSON.
    fn params<'a>(&'a self, who: &'a Option<serde_json::Value>) -> [&'a (dyn ToSql + Sync); 23] {
        let c = &self.cost;
        [
            &self.oid,
            &self.schema,
            &self.name,
            &self.duration_ms,
            &self.concurrent,
            &self.with_data,
            &self.source,
            &self.outcome,
            &self.error,
            &self.token,
            &self.base_writes,
            &c.wal_bytes,
            &c.temp_bytes,
            &c.shared_read_bytes,
            &c.shared_hit_bytes,
            &c.rows_processed,
            &c.cost_source,
            &c.cost_note,
            &c.blocked_sessions,
            &c.blocked_longest_ms,
            &c.blocked_total_ms,
            who,
            &c.blocked_note,
        ]
    }
}

impl Ledger {
    /// INSERTs `run` on `client` (inside the caller's transaction, if it has one open).
    pub async fn insert_run(
        &self,
        client: &Client,
        run: &RunRecord,
    ) -> Result<u64, tokio_postgres::Error> {
        let who = run
            .cost
            .blocked_who
            .as_ref()
            .and_then(|w| serde_json::to_value(w).ok());
        client
            .execute(&self.sql(INSERT_RUN_SQL), &run.params(&who))
            .await
    }

    /// Whether a run with token $1 committed.
    pub fn token_exists_sql(&self) -> String {
        self.sql("SELECT EXISTS (SELECT 1 FROM {schema}.refresh_log WHERE run_token = $1)")
    }
}
