//! Runs a benchmark on the server: the view and the MV read alternately, each timed as the
//! client sees it (every row fetched) and, in a second run under EXPLAIN ANALYZE, as the
//! server executes it; optionally the refresh through the refresh engine.
//!
//! Every read runs in its own READ ONLY transaction on a session whose statement_timeout
//! is the benchmark's timeout, so none holds a snapshot or a lock longer than one
//! statement. A plain view is measured through a temporary MV created inside a transaction
//! that is always rolled back: nothing is left behind, even when the connection drops
//! (the server aborts the transaction).
//!
//! Here: the options, the progress and the measurements, and `run`; `rounds` holds the rounds
//! of each kind of subject, `reads` one measured read and the guard every statement runs under.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::subject::{Kind, Subject};
use crate::ledger::Ledger;
use crate::pgconn::{Connector, Session, SessionSettings};
use crate::refresh::JobSpec;

mod reads;
mod rounds;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Measured rounds.
    pub runs: u32,
    /// Rounds run first and thrown away (caches, plans).
    pub warmup: u32,
    /// The user's read with `{}` where the view or MV goes; None: a full read.
    pub query: Option<String>,
    /// Longest time of any one statement.
    pub timeout: Duration,
    /// MVs only: refresh once per measured round through the refresh engine (it changes
    /// the database and is recorded in the ledger like every refresh).
    pub refresh: Option<RefreshPlan>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshPlan {
    pub spec: JobSpec,
    pub ledger: Option<Ledger>,
}

/// Where a running benchmark is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub done: u32,
    pub total: u32,
    /// What runs now: `view`, `mv`, `refresh`, `create`, with `(warm-up)` during warm-ups.
    pub step: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BenchError {
    #[error("benchmark cancelled")]
    Cancelled,
    #[error("{0}")]
    TimedOut(String),
    #[error("{0}")]
    Failed(String),
}

/// The runs of one case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseRuns {
    /// `view`, `mv`, `refresh` or `create`.
    pub name: &'static str,
    /// The statement as sent (without EXPLAIN).
    pub statement: String,
    /// Client-observed time, every row fetched, per measured run.
    pub client_ms: Vec<f64>,
    /// Execution time from EXPLAIN ANALYZE, per measured run (reads only).
    pub server_ms: Vec<f64>,
    /// Rows of the last measured run (reads only).
    pub rows: Option<i64>,
    /// Bytes of the values as text (reads only). Counted in the first run only (a warm-up
    /// when there is one): looking at every value costs the client time of its own, 5-8%
    /// of a read of a few hundred thousand rows.
    pub bytes: Option<u64>,
    /// Shared buffers hit and read by the last EXPLAIN ANALYZE (reads only).
    pub shared_hit: Option<i64>,
    pub shared_read: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    pub view: CaseRuns,
    pub mv: CaseRuns,
    pub refresh: Option<CaseRuns>,
    /// Plain views only: creating the temporary MV (once).
    pub create: Option<CaseRuns>,
}

/// Settings of the benchmark's session: every statement bounded by the timeout, JIT as the
/// server has it (the application's reads get it too).
fn settings(timeout: Duration) -> SessionSettings {
    SessionSettings {
        lock_timeout: timeout,
        statement_timeout: timeout,
        jit: true,
        parallel: true,
    }
}

pub async fn run(
    connector: &Connector,
    subject: &Subject,
    options: &Options,
    cancel: watch::Receiver<bool>,
    report: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Measurements, BenchError> {
    if options.runs == 0 {
        return Err(BenchError::Failed("--runs must be at least 1".into()));
    }
    if subject.kind == Kind::MaterializedView && !subject.populated {
        return Err(BenchError::Failed(format!(
            "{} is not populated (it was created or refreshed WITH NO DATA): refresh it first",
            subject.qualified_name
        )));
    }
    let session = connector
        .connect(&settings(options.timeout))
        .await
        .map_err(|e| BenchError::Failed(e.to_string()))?;
    let mut bench = Bench {
        session: &session,
        cancel,
        timeout: options.timeout,
        report,
        done: 0,
        total: 0,
    };
    match subject.kind {
        Kind::MaterializedView => bench.materialized(connector, subject, options).await,
        Kind::View => bench.plain_view(subject, options).await,
    }
}

struct Bench<'a> {
    session: &'a Session,
    cancel: watch::Receiver<bool>,
    timeout: Duration,
    report: &'a (dyn Fn(Progress) + Send + Sync),
    done: u32,
    total: u32,
}

impl Bench<'_> {
    fn step(&mut self, step: &str, warmup: bool) {
        let step = if warmup {
            format!("{step} (warm-up)")
        } else {
            step.to_string()
        };
        (self.report)(Progress {
            done: self.done,
            total: self.total,
            step,
        });
        self.done += 1;
    }

    fn finished(&self) {
        (self.report)(Progress {
            done: self.total,
            total: self.total,
            step: "done".into(),
        });
    }
}

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

fn humantime(d: Duration) -> String {
    crate::format::duration_ms(d.as_secs_f64() * 1000.0)
}
