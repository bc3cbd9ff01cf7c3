//! One attempt of a refresh on the job's session: the checks and the advisory lock taken
//! first (`prepare`), then BEGIN, the REFRESH (cancellable, under lock_timeout), and the
//! ledger row inserted in the same transaction before COMMIT (`commit`).

use std::time::Instant;

use tokio::sync::watch;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::blocked::BlockedWatch;
use super::cost;
use super::finish::run_record;
use super::job::{JobSpec, OutcomeKind};
use super::lock;
use super::statement::{names_missing, search_path_hint, statement};
use crate::catalog::cost::RunCost;
use crate::catalog::writes::{table_writes, writes_of};
use crate::ledger::Ledger;
use crate::pgconn::{Session, one_line};

/// The job's server process, told apart from a later one with the same pid.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backend {
    pub(super) pid: i32,
    pub(super) started: Option<chrono::DateTime<chrono::Utc>>,
}

/// Marks the session as mvtop's (the event trigger skips it), checks that the refresh may
/// run at all, and takes the per-MV advisory lock. Returns the backend, and the MV's
/// schema and name when it was renamed since the job was made.
pub(super) async fn prepare(
    client: &Client,
    spec: &JobSpec,
) -> Result<(Backend, Option<(String, String)>), String> {
    client
        .batch_execute("SET mvtop.recording = on")
        .await
        .map_err(|e| one_line(&e))?;
    let row = client
        .query_opt(
            &format!(
                "SELECT pg_backend_pid(), pg_is_in_recovery(), pg_get_userbyid(c.relowner)::text,
                    pg_has_role(c.relowner, 'USAGE')
                    OR (current_setting('server_version_num')::int >= 170000
                        AND has_table_privilege(c.oid, 'MAINTAIN')),
                    {},
                    n.nspname::text, c.relname::text,
                    (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = $1 AND c.relkind = 'm'",
                lock::try_lock(2)
            ),
            &[&spec.target.oid, &lock::advisory_key(spec.target.oid)],
        )
        .await
        .map_err(|e| one_line(&e))?;
    let Some(row) = row else {
        return Err(format!(
            "materialized view {} no longer exists",
            spec.target.qualified_name
        ));
    };
    let (pid, standby, owner, may, locked): (i32, bool, String, bool, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    if standby {
        return Err("the server is a standby (in recovery): refreshing is impossible here".into());
    }
    if !may {
        return Err(format!(
            "only the owner of {} ({owner}) may refresh it (or, on PostgreSQL 17+, a role with MAINTAIN)",
            spec.target.qualified_name
        ));
    }
    if !locked {
        let holder = lock::holder(client, spec.target.oid).await;
        return Err(match holder {
            Some(p) => format!(
                "{} is already being refreshed by pid {p}",
                spec.target.qualified_name
            ),
            None => format!("{} is already being refreshed", spec.target.qualified_name),
        });
    }
    let schema: String = row.get(5);
    let name: String = row.get(6);
    let renamed =
        (schema != spec.target.schema || name != spec.target.name).then_some((schema, name));
    let backend = Backend {
        pid,
        started: row.get(7),
    };
    Ok((backend, renamed))
}

/// A finished attempt, before it is recorded.
#[derive(Debug)]
pub(super) struct Done {
    pub(super) kind: OutcomeKind,
    pub(super) duration_ms: Option<f64>,
    pub(super) error: Option<String>,
    /// The ledger row went in with the refresh's own transaction (and committed).
    pub(super) recorded_in_tx: bool,
    /// The connection was lost during COMMIT: whether the refresh's transaction (this
    /// xid, when known) committed is to be looked up.
    pub(super) commit_unknown: Option<Option<i64>>,
    pub(super) base_writes: Option<i64>,
    /// What it cost; all absent until measured (`finish` fills a failure's in).
    pub(super) cost: Box<RunCost>,
}

impl Done {
    pub(super) fn new(kind: OutcomeKind, duration_ms: Option<f64>, error: Option<String>) -> Done {
        Done {
            kind,
            duration_ms,
            error,
            recorded_in_tx: false,
            commit_unknown: None,
            base_writes: None,
            cost: Box::default(),
        }
    }
}

pub(super) enum Attempt {
    LockTimeout(String),
    Finished(Done),
}

/// The job's backend and the tally of the sessions it blocks.
pub(super) struct Watched<'a> {
    pub(super) pid: i32,
    pub(super) blocked: &'a BlockedWatch,
}

pub(super) async fn attempt_refresh(
    session: &Session,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    cancel: &mut watch::Receiver<bool>,
    watched: &Watched<'_>,
) -> Attempt {
    let client = &session.client;
    // Before BEGIN: should reading the counters fail, nothing is aborted.
    let measure = cost::before(client, spec).await;
    if let Err(e) = client.batch_execute("BEGIN").await {
        return Attempt::Finished(Done::new(OutcomeKind::Failed, None, Some(one_line(&e))));
    }
    let xid = transaction_id(client).await;
    // Read in the refresh's transaction, before its snapshot: writes counted here are in it.
    let base_writes = table_writes(client, &spec.target.base_tables)
        .await
        .ok()
        .and_then(|w| writes_of(&spec.target.base_tables, &w));
    let sql = statement(&spec.target, spec.mode);
    let started = Instant::now();
    let mut cancelled = false;
    let result = {
        let refresh = client.batch_execute(&sql);
        tokio::pin!(refresh);
        loop {
            tokio::select! {
                r = &mut refresh => break r,
                changed = cancel.changed(), if !cancelled => {
                    if changed.is_ok() && *cancel.borrow() {
                        cancelled = true;
                        let _ = session.cancel().await;
                    } else if changed.is_err() {
                        // The handle is gone; nobody can cancel any more.
                        cancelled = true;
                    }
                }
            }
        }
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let attempt = match result {
        Ok(()) => {
            let cost = cost::after(client, spec, &measure, watched.blocked, watched.pid).await;
            commit(client, ledger, spec, duration_ms, base_writes, xid, cost).await
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            let mut line = one_line(&e);
            if names_missing(e.code())
                && let Some(hint) = search_path_hint(server_version(client).await, e.code())
            {
                line.push_str(hint);
            }
            let kind = match e.code() {
                Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => return Attempt::LockTimeout(line),
                Some(c) if *c == SqlState::QUERY_CANCELED && cancelled && *cancel.borrow() => {
                    OutcomeKind::Cancelled
                }
                Some(c) if *c == SqlState::QUERY_CANCELED => OutcomeKind::TimedOut,
                _ => OutcomeKind::Failed,
            };
            // COMMIT was never sent: whatever happened, the refresh did not take effect.
            Attempt::Finished(Done::new(kind, Some(duration_ms), Some(line)))
        }
    };
    match attempt {
        Attempt::Finished(mut done) => {
            done.base_writes = base_writes;
            Attempt::Finished(done)
        }
        lock_timeout => lock_timeout,
    }
}

/// The transaction's id (assigned now rather than by the REFRESH): should the answer to its
/// COMMIT be lost, `txid_status` of it tells the outcome. One round trip, simple protocol.
async fn transaction_id(client: &Client) -> Option<i64> {
    let messages = client.simple_query("SELECT txid_current()").await.ok()?;
    messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse().ok(),
        _ => None,
    })
}

/// `server_version_num` (0 when it cannot be read: the session is gone).
async fn server_version(client: &Client) -> i32 {
    client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(0)
}

/// The ledger row goes in the refresh's own transaction, then COMMIT.
async fn commit(
    client: &Client,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    duration_ms: f64,
    base_writes: Option<i64>,
    xid: Option<i64>,
    cost: RunCost,
) -> Attempt {
    let mut done = Done::new(OutcomeKind::Ok, Some(duration_ms), None);
    done.cost = Box::new(cost);
    if let Some(ledger) = ledger {
        let run = run_record(
            spec,
            OutcomeKind::Ok,
            Some(duration_ms),
            None,
            base_writes,
            &done.cost,
        );
        // A ledger that cannot be written must not undo a good refresh: savepoint.
        let _ = client.batch_execute("SAVEPOINT mvtop_record").await;
        match ledger.insert_run(client, &run).await {
            Ok(_) => done.recorded_in_tx = true,
            Err(_) => {
                let _ = client
                    .batch_execute("ROLLBACK TO SAVEPOINT mvtop_record")
                    .await;
            }
        }
    }
    if let Err(e) = client.batch_execute("COMMIT").await {
        if e.is_closed() || e.code().is_none() {
            done.commit_unknown = Some(xid);
            done.error = Some(one_line(&e));
        } else {
            // COMMIT refused: the refresh did not take effect, and its counters do not count.
            done = Done::new(OutcomeKind::Failed, Some(duration_ms), Some(one_line(&e)));
        }
    }
    Attempt::Finished(done)
}
