//! One refresh on its own session: checks, the per-MV advisory lock, lock_timeout with
//! retries, cancellation, and exactly one ledger record per outcome.
//!
//! The REFRESH runs inside a transaction together with the INSERT of its ledger row, so the
//! record commits if and only if the refresh does. Should the connection drop during the
//! COMMIT, the transaction's status (`txid_status`) tells afterwards whether it committed:
//! checked on a new session, after the old one has ended (its COMMIT may still be on its
//! way), not guessed. This file holds the job's types and its retry loop; `attempt.rs`
//! one attempt, `finish.rs` the recording, `lock.rs` the advisory lock.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::attempt::{Attempt, Done, Watched, attempt_refresh, prepare};
use super::blocked::BlockedWatch;
use super::finish::finish;
use super::statement::{Mode, Target};
use crate::catalog::cost::RunCost;
use crate::ledger::Ledger;
use crate::pgconn::{Connector, SessionSettings};

/// Who asked for the refresh; recorded in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Console,
    Cli,
    Schedule,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Console => "console",
            Source::Cli => "cli",
            Source::Schedule => "schedule",
        }
    }
}

/// Limits of one refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A queued lock request blocks every later reader (plain) or writer (CONCURRENTLY):
    /// never wait longer than this for the MV's lock.
    pub lock_timeout: Duration,
    /// Attempts after a lock timeout, with growing pauses in between.
    pub lock_retries: u32,
    /// The first pause; each next one doubles, up to 30 s.
    pub retry_backoff: Duration,
    /// None: the refresh may take as long as it takes.
    pub statement_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            lock_timeout: Duration::from_secs(5),
            lock_retries: 3,
            retry_backoff: Duration::from_secs(1),
            statement_timeout: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub target: Target,
    pub mode: Mode,
    pub source: Source,
    pub limits: Limits,
}

/// Where a job is; reported as it changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    Queued,
    /// Waiting for the MV's lock, behind these sessions (when known).
    WaitingForLock {
        blocked_by: Vec<i32>,
    },
    /// Running on this backend.
    Running {
        pid: i32,
        attempt: u32,
    },
    /// Paused after a lock timeout before the next attempt.
    Retrying {
        attempt: u32,
        after: Duration,
    },
    Finished(Outcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Ok,
    Failed,
    Cancelled,
    TimedOut,
    /// Nothing ran: another process refreshes it, a standby, not the owner, dropped.
    Refused,
    /// Nothing ran: an MV it reads did not refresh (in a cascade).
    Skipped,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Cancelled => "cancelled",
            OutcomeKind::TimedOut => "timed_out",
            OutcomeKind::Refused => "refused",
            OutcomeKind::Skipped => "skipped",
        }
    }
}

/// Where the outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    Ledger,
    /// No ledger installed (or it could not be written): the caller keeps it in memory.
    Memory,
    /// Refusals are not runs and are not recorded.
    Nowhere,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// The REFRESH statement's own time (of the last attempt), as the client saw it.
    pub duration_ms: Option<f64>,
    pub attempts: u32,
    pub error: Option<String>,
    pub recorded: Recorded,
    /// The base tables' write counters just before the REFRESH: what it is fresh against.
    pub base_writes: Option<i64>,
    /// What the refresh cost (WAL, spill, I/O, the sessions it blocked), as recorded.
    pub cost: Box<RunCost>,
}

/// Asks a running job to stop; the job records itself as cancelled.
#[derive(Debug, Clone)]
pub struct CancelHandle(watch::Sender<bool>);

impl CancelHandle {
    pub fn new() -> (CancelHandle, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(false);
        (CancelHandle(tx), rx)
    }

    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

/// Runs one refresh to its end and reports each state through `report`.
pub async fn run(
    connector: &Connector,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    cancel: watch::Receiver<bool>,
    report: &(dyn Fn(JobState) + Send + Sync),
) -> Outcome {
    let blocked = BlockedWatch::new();
    run_watched(connector, ledger, spec, cancel, report, &blocked).await
}

/// `run`, with `blocked` tallying the sessions it blocks (the executor's lock watcher adds
/// its samples there while the job runs).
pub async fn run_watched(
    connector: &Connector,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    mut cancel: watch::Receiver<bool>,
    report: &(dyn Fn(JobState) + Send + Sync),
    blocked: &BlockedWatch,
) -> Outcome {
    let settings = SessionSettings {
        lock_timeout: spec.limits.lock_timeout,
        // 0 = no limit, as in PostgreSQL.
        statement_timeout: spec.limits.statement_timeout.unwrap_or(Duration::ZERO),
        jit: true,
        parallel: true,
    };
    let session = match connector.connect(&settings).await {
        Ok(s) => s,
        Err(e) => return refused(e.to_string()),
    };
    let (backend, renamed) = match prepare(&session.client, spec).await {
        Ok(prepared) => prepared,
        Err(why) => return refused(why),
    };
    let pid = backend.pid;
    // Renamed since it was queued: refresh the same MV (by oid) under its name now.
    let current;
    let spec = match renamed {
        Some((schema, name)) => {
            let mut s = spec.clone();
            s.target.qualified_name = crate::catalog::ident::display_qualified(&schema, &name);
            (s.target.schema, s.target.name) = (schema, name);
            current = s;
            &current
        }
        None => spec,
    };
    let watched = Watched { pid, blocked };
    let mut attempt = 0;
    loop {
        attempt += 1;
        report(JobState::Running { pid, attempt });
        let result = attempt_refresh(&session, ledger, spec, &mut cancel, &watched).await;
        match result {
            Attempt::LockTimeout(_) if attempt <= spec.limits.lock_retries && !*cancel.borrow() => {
                let pause = backoff(spec.limits.retry_backoff, attempt);
                report(JobState::Retrying {
                    attempt,
                    after: pause,
                });
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = cancel.changed() => {}
                }
                if *cancel.borrow() {
                    let outcome = Done::new(
                        OutcomeKind::Cancelled,
                        None,
                        Some("cancelled while waiting to retry".into()),
                    );
                    return finish(
                        connector, ledger, spec, &session, &backend, outcome, attempt, blocked,
                    )
                    .await;
                }
            }
            Attempt::LockTimeout(e) => {
                let why = format!(
                    "{e} (after {attempt} attempts of {:?} each)",
                    spec.limits.lock_timeout
                );
                let outcome = Done::new(OutcomeKind::TimedOut, None, Some(why));
                return finish(
                    connector, ledger, spec, &session, &backend, outcome, attempt, blocked,
                )
                .await;
            }
            Attempt::Finished(done) => {
                return finish(
                    connector, ledger, spec, &session, &backend, done, attempt, blocked,
                )
                .await;
            }
        }
    }
}

fn refused(why: String) -> Outcome {
    Outcome {
        kind: OutcomeKind::Refused,
        duration_ms: None,
        attempts: 0,
        error: Some(why),
        recorded: Recorded::Nowhere,
        base_writes: None,
        cost: Box::default(),
    }
}

fn backoff(first: Duration, attempt: u32) -> Duration {
    first
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(Duration::from_secs(30))
}
