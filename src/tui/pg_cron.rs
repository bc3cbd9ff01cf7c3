//! The console's side of pg_cron: what it last read (each job's refresh of an MV as a
//! schedule with its next run, the runs merged into the MVs' statistics), when to read it
//! again (its I/O is `io/pg_cron.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::msg::Effect;
use super::state::State;
use crate::catalog::MatView;
use crate::ledger::LedgerStats;
use crate::pgcron::locate::Located;
use crate::pgcron::{CronSchedule, Unavailable};

/// What the console knows of pg_cron.
#[derive(Debug, Clone, Default)]
pub struct PgCronBook {
    pub located: Option<Located>,
    /// Every (job, MV) pair of the shown database.
    pub schedules: Vec<CronSchedule>,
    /// The statistics of MVs with pg_cron runs the ledger does not have (ledger ∪ pg_cron).
    pub stats: HashMap<u32, LedgerStats>,
    /// Why pg_cron cannot be read (None: read, or not on this server at all).
    pub problem: Option<String>,
    /// Notes about jobs (a command the server would refuse, a name that is no MV).
    pub notes: Vec<String>,
    pub reads: super::in_flight::InFlight,
}

/// One reading, as the I/O sends it back.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub located: Located,
    pub schedules: Vec<CronSchedule>,
    pub stats: HashMap<u32, LedgerStats>,
    pub notes: Vec<String>,
}

impl PgCronBook {
    /// The pg_cron jobs that refresh `v` (or may).
    pub fn of(&self, oid: u32) -> impl Iterator<Item = &CronSchedule> {
        self.schedules.iter().filter(move |s| s.mv_oid == oid)
    }

    /// The soonest next run among `v`'s pg_cron jobs.
    pub fn next_run(&self, oid: u32) -> Option<DateTime<Utc>> {
        self.of(oid).filter_map(|s| s.next_run).min()
    }
}

/// Read pg_cron again (after each full inventory): unless a read is under way.
pub fn wanted(state: &mut State) -> Vec<Effect> {
    if state.views.is_empty() {
        return Vec::new();
    }
    let Some(generation) = state.schedules.pg_cron.reads.start(state.now) else {
        return Vec::new();
    };
    vec![Effect::FetchPgCron {
        generation,
        mvs: state
            .views
            .iter()
            .map(|v| (v.oid, v.schema.clone(), v.name.clone()))
            .collect(),
        ledger: state.facts.as_ref().is_some_and(|f| f.ledger_installed),
    }]
}

pub fn arrived(state: &mut State, generation: u64, result: Result<Snapshot, Unavailable>) {
    let book = &mut state.schedules.pg_cron;
    if !book.reads.accept(generation) {
        return;
    }
    match result {
        Ok(s) => {
            book.located = Some(s.located);
            book.schedules = s.schedules;
            book.stats = s.stats;
            book.notes = s.notes;
            book.problem = None;
        }
        Err(Unavailable::NotLoaded(_)) => *book = PgCronBook::default(),
        Err(u) => {
            book.problem = Some(u.line().to_string());
            book.schedules.clear();
            book.stats.clear();
        }
    }
    apply_stats(state);
}

/// pg_cron's runs in the MVs' figures; again after every inventory (which replaces them).
pub fn apply_stats(state: &mut State) {
    let stats = &state.schedules.pg_cron.stats;
    if stats.is_empty() {
        return;
    }
    for v in &mut state.views {
        if let Some(s) = stats.get(&v.oid) {
            crate::inventory::apply_ledger(v, s, crate::catalog::StatsSource::PgCron);
        }
    }
}

/// `pg_cron '*/5 * * * *'` for the views table, with the soonest next run.
pub fn cell(book: &PgCronBook, v: &MatView, now: DateTime<Utc>) -> Option<String> {
    let jobs: Vec<&CronSchedule> = book.of(v.oid).collect();
    let first = jobs.first()?;
    let next = book
        .next_run(v.oid)
        .map(|t| super::schedules::NextRun::At(t).short(now))
        .unwrap_or_else(|| first.next_run_text.clone());
    let more = if jobs.len() > 1 {
        format!(" +{}", jobs.len() - 1)
    } else {
        String::new()
    };
    Some(format!("pg_cron{more}, {next}"))
}

/// Detail-pane lines: each job with its schedule, zone, next and last run.
pub fn detail(book: &PgCronBook, v: &MatView, now: DateTime<Utc>) -> Vec<String> {
    book.of(v.oid)
        .map(|s| {
            let how = match &s.how {
                crate::pgcron::jobs::How::MayRefresh => " (may refresh: a call naming it)",
                crate::pgcron::jobs::How::Ledger { .. } => " (made by mvtop)",
                crate::pgcron::jobs::How::Refresh { .. } => "",
            };
            let next = match s.next_run {
                Some(t) => super::schedules::NextRun::At(t).short(now),
                None => s.next_run_text.clone(),
            };
            let mut line = format!(
                "{}{how} '{}' ({}) as {}, next {next}",
                s.label(),
                s.schedule,
                s.timezone,
                s.owner
            );
            match (s.last_status.as_deref(), &s.last_message) {
                (Some("failed"), Some(m)) => {
                    line.push_str(&format!(", last run failed: {}", m.replace('\n', " ")))
                }
                (Some(st), _) => line.push_str(&format!(", last run {st}")),
                _ => {}
            }
            line
        })
        .collect()
}
