//! Facts about the server and the role that decide which optional sources mvtop may use.

use tokio_postgres::Client;

use super::ident::quote_ident;

const SERVER_FACTS_SQL: &str = include_str!("../../assets/sql/server_facts.sql");

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ServerFacts {
    pub version_num: i32,
    pub version: String,
    pub in_recovery: bool,
    pub role: String,
    pub database: String,
    pub track_commit_timestamp: bool,
    /// Schema of pg_stat_statements when the extension is installed.
    pub pss_schema: Option<String>,
    /// None when this role may not read shared_preload_libraries.
    pub pss_preloaded: Option<bool>,
    /// Superuser or pg_read_all_stats: may read other roles' statements.
    pub reads_all_stats: bool,
    /// What the write counters count from: the last statistics reset, else the server's start.
    pub stats_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Filled by the inventory from the MVs it listed (0 here): with `mv_xmin_sum`, the
    /// fingerprint the console's pulse compares against.
    pub mv_count: i64,
    pub mv_xmin_sum: String,
    /// The refresh ledger, at the version this mvtop needs, is in the schema asked about.
    /// This and `ledger_outdated` are set by `ServerFacts::fetch` (top-level `inventory` module), which
    /// knows the version this mvtop needs; `read` leaves them false.
    pub ledger_installed: bool,
    /// A ledger of an older version is there: `mvtop install` upgrades it.
    pub ledger_outdated: bool,
    /// The version of the ledger there, if any.
    pub ledger_version: Option<i32>,
}

/// Whether pg_stat_statements can be used, or a one-line reason why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PssAvailability {
    Usable { schema: String },
    Missing(String),
}

impl ServerFacts {
    /// The facts, with the version of the ledger in `ledger_schema` (if there is one) but
    /// not yet whether that version is current: see `ledger_installed`.
    pub async fn read(
        client: &Client,
        ledger_schema: &str,
    ) -> Result<ServerFacts, tokio_postgres::Error> {
        let version_table = format!("{}.version", quote_ident(ledger_schema));
        let row = client
            .query_one(SERVER_FACTS_SQL, &[&version_table])
            .await?;
        Ok(ServerFacts {
            version_num: row.get("version_num"),
            version: row.get("version"),
            in_recovery: row.get("in_recovery"),
            role: row.get("role"),
            database: row.get("database"),
            track_commit_timestamp: row.get("track_commit_timestamp"),
            pss_schema: row.get("pss_schema"),
            pss_preloaded: row.get("pss_preloaded"),
            reads_all_stats: row.get("reads_all_stats"),
            stats_since: row.get("stats_since"),
            mv_count: 0,
            mv_xmin_sum: "0".into(),
            ledger_installed: false,
            ledger_outdated: false,
            ledger_version: row.get("ledger_version"),
        })
    }

    pub fn pss(&self) -> PssAvailability {
        match (&self.pss_schema, self.pss_preloaded) {
            // Unknown preload: trying costs nothing, a failure becomes a hint.
            (Some(schema), Some(true) | None) => PssAvailability::Usable {
                schema: schema.clone(),
            },
            (Some(_), Some(false)) => PssAvailability::Missing(
                "pg_stat_statements is installed but not in shared_preload_libraries".into(),
            ),
            (None, Some(true)) => PssAvailability::Missing(
                "pg_stat_statements is loaded but not created in this database \
                 (CREATE EXTENSION pg_stat_statements)"
                    .into(),
            ),
            (None, _) => PssAvailability::Missing(
                "pg_stat_statements is not installed in this database: refresh durations unknown"
                    .into(),
            ),
        }
    }
}
