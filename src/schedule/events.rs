//! What the scheduler is given (`SchedulerOptions`, the claimant's name) and what it reports
//! (`SchedulerEvent`): the daemon logs the events, the console shows them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ledger::Ledger;
use crate::refresh::{JobEvent, Limits};

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub ledger: Ledger,
    /// Who claims runs, as recorded in the schedule table (host and pid).
    pub claimant: String,
    pub limits: Limits,
    /// The MVs' catalog is read again this often (MVs come and go).
    pub catalog_every: Duration,
    /// After a stop is asked: running refreshes may finish this long, then are cancelled.
    pub grace: Duration,
}

impl SchedulerOptions {
    pub fn new(ledger: Ledger) -> SchedulerOptions {
        SchedulerOptions {
            ledger,
            claimant: claimant(),
            limits: Limits::default(),
            catalog_every: Duration::from_secs(30),
            grace: Duration::from_secs(30),
        }
    }
}

/// `host:pid`, for the `claimed_by` column.
pub fn claimant() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// What the scheduler reports (the daemon logs each one; the console shows them).
#[derive(Debug, Clone, PartialEq)]
pub enum SchedulerEvent {
    Loaded {
        schedules: usize,
        problems: Vec<String>,
    },
    /// This process won the run due at `due` and queued it.
    Claimed {
        mv: String,
        due: DateTime<Utc>,
        why: String,
    },
    /// Another scheduler (or a refresh already running) won the run due at `due`.
    ClaimLost {
        mv: String,
        due: DateTime<Utc>,
    },
    /// A due run that cannot be made (dropped MV, CONCURRENTLY impossible ...).
    Skipped {
        mv: String,
        why: String,
    },
    /// A refresh this scheduler started changed state.
    Job(JobEvent),
    /// Something is wrong that the scheduler cannot fix (it keeps trying).
    Problem(String),
    /// It works again after a problem.
    Recovered,
    /// The server is a standby (in recovery): nothing is claimed until it is promoted.
    Standby,
    /// The standby was promoted: schedules run from now on.
    Promoted,
    /// What was due and running when the stop came, and how it ended.
    Stopping {
        running: usize,
    },
    Stopped,
}
