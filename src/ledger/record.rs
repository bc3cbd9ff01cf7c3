//! The SQL the refresh executor records its runs with.

use super::Ledger;

const INSERT_RUN_SQL: &str = include_str!("../../assets/sql/ledger/insert_run.sql");

impl Ledger {
    /// INSERT of one run; parameters: oid, schema, name, duration_ms, concurrent, with_data,
    /// source, outcome, error, run token, base-table writes before the refresh.
    pub fn insert_sql(&self) -> String {
        self.sql(INSERT_RUN_SQL)
    }

    /// Whether a run with token $1 committed.
    pub fn token_exists_sql(&self) -> String {
        self.sql("SELECT EXISTS (SELECT 1 FROM {schema}.refresh_log WHERE run_token = $1)")
    }
}
