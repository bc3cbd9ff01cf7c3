//! Sessions now: the running statements and the lock waits, from one prepared poll
//! (`assets/sql/sessions.sql`), and the two actions on a session (cancel, terminate).
//!
//! Here: the poll and the rows it returns; `refresh_target` reads which MV a session
//! refreshes, `signal` holds the two actions.

use serde::Serialize;
use tokio_postgres::{Client, Statement};

pub mod blocked;
mod refresh_target;
mod signal;

pub use refresh_target::refresh_target;
pub use signal::{Signal, signal_backend};

const SESSIONS_SQL: &str = include_str!("../../assets/sql/sessions.sql");
const ACTIVITY_SQL: &str = include_str!("../../assets/sql/activity.sql");

/// `pg_locks.waitstart` exists from PostgreSQL 14 on.
const WAITSTART_FROM: i32 = 140000;

/// The poll's text for a server version: before 14 the wait is timed from the query start.
pub fn sessions_sql(version_num: i32) -> String {
    let waitstart = if version_num >= WAITSTART_FROM {
        "waitstart"
    } else {
        "NULL::timestamptz"
    };
    SESSIONS_SQL.replace("{waitstart}", waitstart)
}

/// The two statements of the sessions poll: the cheap one every time, the one with the
/// lock details only when a session waits, and then only when the set of waiting sessions
/// changed or the details are older than `DETAILS_EVERY`.
#[derive(Debug, Clone)]
pub struct SessionsPoll {
    activity: Statement,
    with_locks: Statement,
    details: Option<Details>,
}

/// How long lock details (who blocks whom, what they hold) are reused while the same
/// sessions keep waiting for the same kind of lock; wait times keep counting meanwhile.
pub const DETAILS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The last lock details read, for the waiters they were read for.
#[derive(Debug, Clone)]
struct Details {
    waiters: Vec<(i32, Option<String>)>,
    at: std::time::Instant,
    rows: Vec<SessionRow>,
}

/// The sessions poll, prepared once on a session (planning it every tick would cost more
/// than running it).
pub async fn prepare(client: &Client) -> Result<SessionsPoll, tokio_postgres::Error> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await?;
    Ok(SessionsPoll {
        activity: client.prepare(ACTIVITY_SQL).await?,
        with_locks: client.prepare(&sessions_sql(row.get(0))).await?,
        details: None,
    })
}

/// One session as the poll saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub pid: i32,
    pub user: Option<String>,
    pub application: String,
    pub client_addr: Option<String>,
    pub database: Option<String>,
    pub backend_type: Option<String>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub query: String,
    /// Since the query started (for an idle-in-transaction session: the last one).
    pub elapsed_ms: Option<f64>,
    pub xact_age_ms: Option<f64>,
    /// Set when it waits for a heavyweight lock.
    pub wait: Option<LockWait>,
}

/// What a session waits for, and behind whom.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockWait {
    pub locktype: String,
    pub mode: String,
    /// `schema.name`, quoted where SQL needs it; for a row-level wait, the row's table.
    pub relation: Option<String>,
    /// pg_class.relkind of that relation (`m`: a materialized view).
    pub relkind: Option<String>,
    pub oid: Option<u32>,
    /// `relation`, `transaction 725`, `tuple (0,1)`, `advisory lock 0,42`, ...
    pub object: String,
    pub waiting_ms: f64,
    /// Before PostgreSQL 14 (no `pg_locks.waitstart`): timed from the query start.
    pub waiting_estimated: bool,
    /// From `pg_blocking_pids`, with the modes each holds on the same object; a session
    /// that holds nothing is ahead in the queue for a conflicting lock.
    pub blocked_by: Vec<Blocker>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocker {
    pub pid: i32,
    pub holds_modes: Vec<String>,
}

impl LockWait {
    pub fn on_mv(&self) -> bool {
        self.relkind.as_deref() == Some("m")
    }

    /// What it waits on, for people: the relation when known, else the lock's object.
    pub fn target(&self) -> String {
        match (&self.relation, self.locktype.as_str()) {
            (Some(r), "relation") => r.clone(),
            (Some(r), _) => format!("{r} ({})", self.object),
            (None, _) => self.object.clone(),
        }
    }
}

impl SessionRow {
    pub fn idle_in_transaction(&self) -> bool {
        self.state
            .as_deref()
            .is_some_and(|s| s.starts_with("idle in transaction"))
    }

    /// Not idle and a client's: what the running-statements list shows.
    pub fn is_running(&self) -> bool {
        self.backend_type.as_deref() == Some("client backend")
            && self.state.as_deref().is_some_and(|s| s != "idle")
    }

    /// A REFRESH MATERIALIZED VIEW statement.
    pub fn is_refresh(&self) -> bool {
        refresh_target(&self.query).is_some()
    }
}

/// Every session the poll returned: the running ones, the waiting ones and their blockers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sessions {
    pub rows: Vec<SessionRow>,
}

impl Sessions {
    /// The sessions that are not idle; when one waits for a lock, with the waits, their
    /// blockers (idle ones too) and what each holds (read again only when needed, see
    /// `SessionsPoll`).
    pub async fn fetch(
        client: &Client,
        poll: &mut SessionsPoll,
    ) -> Result<Sessions, tokio_postgres::Error> {
        let rows: Vec<SessionRow> = client
            .query(&poll.activity, &[])
            .await?
            .iter()
            .map(from_row)
            .collect();
        let mut waiters: Vec<(i32, Option<String>)> = rows
            .iter()
            .filter(|r| r.wait_event_type.as_deref() == Some("Lock"))
            .map(|r| (r.pid, r.wait_event.clone()))
            .collect();
        waiters.sort();
        if waiters.is_empty() {
            poll.details = None;
            return Ok(Sessions { rows });
        }
        if let Some(d) = &poll.details
            && d.waiters == waiters
            && d.at.elapsed() < DETAILS_EVERY
        {
            return Ok(Sessions {
                rows: with_details(rows, d),
            });
        }
        let rows: Vec<SessionRow> = client
            .query(&poll.with_locks, &[])
            .await?
            .iter()
            .map(from_row)
            .collect();
        poll.details = Some(Details {
            waiters,
            at: std::time::Instant::now(),
            rows: rows.clone(),
        });
        Ok(Sessions { rows })
    }

    pub fn get(&self, pid: i32) -> Option<&SessionRow> {
        self.rows.iter().find(|r| r.pid == pid)
    }

    /// The sessions that wait for a lock, longest wait first.
    pub fn waiting(&self) -> impl Iterator<Item = &SessionRow> {
        self.rows.iter().filter(|r| r.wait.is_some())
    }
}

/// Fresh activity with the lock details read a moment ago: each waiter's wait (its time
/// moved on), and the idle blockers the activity read does not show.
fn with_details(mut rows: Vec<SessionRow>, d: &Details) -> Vec<SessionRow> {
    let since_ms = d.at.elapsed().as_secs_f64() * 1000.0;
    let by_pid: std::collections::HashMap<i32, &SessionRow> =
        d.rows.iter().map(|r| (r.pid, r)).collect();
    for r in &mut rows {
        if let Some(w) = by_pid.get(&r.pid).and_then(|old| old.wait.as_ref()) {
            let mut w = w.clone();
            w.waiting_ms += since_ms;
            r.wait = Some(w);
        }
    }
    let shown: std::collections::HashSet<i32> = rows.iter().map(|r| r.pid).collect();
    let blockers: std::collections::HashSet<i32> = rows
        .iter()
        .filter_map(|r| r.wait.as_ref())
        .flat_map(|w| w.blocked_by.iter().map(|b| b.pid))
        .collect();
    rows.extend(
        d.rows
            .iter()
            .filter(|r| blockers.contains(&r.pid) && !shown.contains(&r.pid))
            .cloned(),
    );
    let waited = |r: &SessionRow| r.wait.as_ref().map_or(-1.0, |w| w.waiting_ms);
    rows.sort_by(|a, b| {
        waited(b)
            .total_cmp(&waited(a))
            .then(
                b.elapsed_ms
                    .unwrap_or(0.0)
                    .total_cmp(&a.elapsed_ms.unwrap_or(0.0)),
            )
            .then(a.pid.cmp(&b.pid))
    });
    rows
}

fn from_row(r: &tokio_postgres::Row) -> SessionRow {
    // The activity statement has no lock columns.
    let locktype: Option<String> = r.try_get("wait_locktype").ok().flatten();
    let wait = locktype.map(|locktype| {
        let blocked_by: serde_json::Value = r
            .get::<_, Option<serde_json::Value>>("blocked_by")
            .unwrap_or_default();
        LockWait {
            locktype,
            mode: r.get::<_, Option<String>>("wait_mode").unwrap_or_default(),
            relation: r.get("wait_relation"),
            relkind: r.get("wait_relkind"),
            oid: r.get("wait_oid"),
            object: r
                .get::<_, Option<String>>("wait_object")
                .unwrap_or_default(),
            waiting_ms: r.get::<_, Option<f64>>("waited_ms").unwrap_or(0.0),
            waiting_estimated: r.get("waited_estimated"),
            blocked_by: blockers(&blocked_by),
        }
    });
    SessionRow {
        pid: r.get("pid"),
        user: r.get("usename"),
        application: r
            .get::<_, Option<String>>("application_name")
            .unwrap_or_default(),
        client_addr: r.get("client_addr"),
        database: r.get("datname"),
        backend_type: r.get("backend_type"),
        state: r.get("state"),
        wait_event_type: r.get("wait_event_type"),
        wait_event: r.get("wait_event"),
        query: r.get::<_, Option<String>>("query").unwrap_or_default(),
        elapsed_ms: r.get("query_ms"),
        xact_age_ms: r.get("xact_ms"),
        wait,
    }
}

/// `[[pid, ["Mode", ...]], ...]`.
fn blockers(v: &serde_json::Value) -> Vec<Blocker> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let pid = pair.get(0)?.as_i64()? as i32;
            let holds_modes = pair
                .get(1)?
                .as_array()?
                .iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect();
            Some(Blocker { pid, holds_modes })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waitstart_only_from_14() {
        assert!(sessions_sql(140000).contains("waitstart AS waitstart"));
        assert!(sessions_sql(130011).contains("NULL::timestamptz AS waitstart"));
        assert!(!sessions_sql(120000).contains("{waitstart}"));
    }

    #[test]
    fn reused_details_keep_waits_counting_and_idle_blockers_shown() {
        use crate::catalog::locks::tests::{session, waits};
        let idle_blocker = session(1, "idle", "SELECT pg_advisory_lock(42)");
        let waiter = waits(
            session(2, "active", "SELECT pg_advisory_lock(42)"),
            "x",
            None,
            &[(1, &[])],
        );
        let d = Details {
            waiters: vec![(2, Some("relation".into()))],
            at: std::time::Instant::now() - std::time::Duration::from_millis(1500),
            rows: vec![waiter.clone(), idle_blocker],
        };
        let mut fresh = waiter.clone();
        fresh.wait = None;
        let rows = with_details(vec![session(3, "active", "SELECT 1"), fresh], &d);
        let pids: Vec<i32> = rows.iter().map(|r| r.pid).collect();
        assert_eq!(pids, [2, 1, 3], "the waiter first, its idle blocker kept");
        let waited = rows[0].wait.as_ref().unwrap().waiting_ms;
        assert!(waited >= 200.0 + 1500.0, "{waited}");
    }
}
