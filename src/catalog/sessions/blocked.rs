//! The sessions a running refresh blocks now: lock waiters whose blockers include its
//! backend. Sampled by the refresh executor's lock watcher while the refresh runs, and once
//! more on the refresh's own session just before its COMMIT releases the lock.

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

const BLOCKED_BY_SQL: &str = include_str!("../../../assets/sql/blocked_by.sql");

/// One session waiting behind one of the watched backends.
#[derive(Debug, Clone, PartialEq)]
pub struct Blockee {
    /// The watched backend it waits behind.
    pub blocker: i32,
    pub pid: i32,
    pub user: String,
    pub application: String,
    /// Its statement's start: a wait is one statement of one session.
    pub query_start: Option<DateTime<Utc>>,
    /// How long it has waited so far.
    pub waited_ms: f64,
}

/// The sessions waiting now behind any of `blockers`.
pub async fn blocked_by(
    client: &Client,
    blockers: &[i32],
) -> Result<Vec<Blockee>, tokio_postgres::Error> {
    let rows = client.query(BLOCKED_BY_SQL, &[&blockers]).await?;
    Ok(rows
        .iter()
        .map(|r| Blockee {
            blocker: r.get("blocker"),
            pid: r.get("pid"),
            user: r.get("usename"),
            application: r.get("application"),
            query_start: r.get("query_start"),
            waited_ms: r.get::<_, Option<f64>>("waited_ms").unwrap_or(0.0),
        })
        .collect())
}
