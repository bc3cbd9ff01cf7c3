//! The next run of one mvtop schedule and whether its MV is stale: one pure judgement that
//! the console (views table, schedules pane, detail) and `mvtop schedule list` both show.
//! pg_cron's jobs compute their own next run (`pgcron`); the console combines the two.

use chrono::{DateTime, Utc};

use super::due::{Decision, Observed, decide};
use super::policy::{Policy, Schedule};
use crate::catalog::MatView;

/// When an MV refreshes next.
#[derive(Debug, Clone, PartialEq)]
pub enum NextRun {
    At(DateTime<Utc>),
    Now,
    /// Change-driven and fresh: waits for its base tables to be written.
    OnChange,
    /// Change-driven and stale: runs once writes go quiet (or at its max staleness).
    WhenQuiet,
    /// Waiting for the refresh that runs now.
    AfterRunning,
    Never,
}

impl NextRun {
    /// `in 4m`, `now`, `on change`: what fits a narrow column.
    pub fn short(&self, now: DateTime<Utc>) -> String {
        match self {
            NextRun::At(t) => {
                let secs = (*t - now).num_seconds().max(0);
                match secs {
                    0 => "now".into(),
                    s if s < 60 => format!("in {s}s"),
                    s if s < 3600 => format!("in {}m", s / 60),
                    s if s < 86_400 => format!("in {}h", s / 3600),
                    s => format!("in {}d", s / 86_400),
                }
            }
            NextRun::Now => "now".into(),
            NextRun::OnChange => "on change".into(),
            NextRun::WhenQuiet => "on quiet".into(),
            NextRun::AfterRunning => "running".into(),
            NextRun::Never => "never".into(),
        }
    }

    /// The instant, when there is one (`Now` is `now`).
    pub fn instant(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            NextRun::At(t) => Some(*t),
            NextRun::Now => Some(now),
            _ => None,
        }
    }
}

/// A schedule's next run, its MV's staleness and the reason, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Upcoming {
    pub next: NextRun,
    /// Change-driven only: its base tables were written since its last claimed run.
    pub stale: Option<bool>,
    pub why: String,
}

/// `s`'s next run as of `now`, for its MV `v` (`v.base_writes`: the base tables' write
/// counters now). Decided by the scheduler's own `decide`; without the scheduler's write
/// tracker, a change-driven schedule's staleness is the counters against its baseline.
pub fn next_run(s: &Schedule, v: &MatView, now: DateTime<Utc>) -> Upcoming {
    let stale = match s.policy {
        Policy::OnChange { .. } => Some(v.base_writes.is_some() && v.base_writes != s.base_writes),
        _ => None,
    };
    let observed = Observed {
        running: !v.refreshing_pids.is_empty(),
        changes: None,
    };
    let (next, why) = match decide(s, &observed, now) {
        Decision::Due { .. } => (NextRun::Now, "due now".to_string()),
        Decision::Wait { next: Some(t), why } => (NextRun::At(t), why.to_string()),
        Decision::Wait { why, .. } if observed.running => (NextRun::AfterRunning, why.into()),
        Decision::Wait { .. } if stale == Some(true) => (
            NextRun::WhenQuiet,
            "stale: waits for writes to go quiet".into(),
        ),
        Decision::Wait { .. } if stale.is_some() => {
            (NextRun::OnChange, "fresh: waits for writes".into())
        }
        Decision::Wait { why, .. } => (NextRun::Never, why.into()),
    };
    Upcoming { next, stale, why }
}
