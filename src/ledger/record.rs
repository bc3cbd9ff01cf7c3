//! How a refresh run goes into the ledger: the INSERT and the one place its parameters are
//! bound, in the order the SQL numbers them.

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use super::Ledger;

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
}

impl RunRecord {
    /// $1 to $11 of insert_run.sql.
    fn params(&self) -> [&(dyn ToSql + Sync); 11] {
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
        client
            .execute(&self.sql(INSERT_RUN_SQL), &run.params())
            .await
    }

    /// Whether a run with token $1 committed.
    pub fn token_exists_sql(&self) -> String {
        self.sql("SELECT EXISTS (SELECT 1 FROM {schema}.refresh_log WHERE run_token = $1)")
    }
}
