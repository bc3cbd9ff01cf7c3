//! The console's side of pg_cron: what it last read (each job's refresh of an MV as a
//! schedule with its next run, the runs merged into the MVs' statistics), when to read it
//! again, and the I/O that reads it on sessions of its own (pg_cron's catalog may be in
//! another database; the monitoring session is never held for it). Runs are read
//! incrementally by runid between reads.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, mpsc};

use super::msg::{Effect, Msg};
use super::state::State;
use crate::catalog::MatView;
use crate::ledger::{Ledger, LedgerStats};
use crate::pgconn::{Connector, Session, SessionSettings, one_line};
use crate::pgcron::locate::Located;
use crate::pgcron::runs::{DEFAULT_WINDOW, merged_stats};
use crate::pgcron::{CronSchedule, CronView, PgCron, RunReader, Unavailable};

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
    pub in_flight: bool,
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
    if state.schedules.pg_cron.in_flight || state.views.is_empty() {
        return Vec::new();
    }
    state.schedules.pg_cron.in_flight = true;
    vec![Effect::FetchPgCron {
        mvs: state
            .views
            .iter()
            .map(|v| (v.oid, v.schema.clone(), v.name.clone()))
            .collect(),
        ledger: state.facts.as_ref().is_some_and(|f| f.ledger_installed),
    }]
}

pub fn arrived(state: &mut State, result: Result<Snapshot, Unavailable>) {
    let book = &mut state.schedules.pg_cron;
    book.in_flight = false;
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

/// The pg_cron reader's sessions and runs, kept between reads.
pub struct Cache {
    main: Session,
    pgcron: PgCron,
    reader: RunReader,
}

pub type Shared = Arc<Mutex<Option<Cache>>>;

/// Reads pg_cron's jobs and runs for `mvs` and what they add to the statistics.
pub async fn fetch(
    connector: Connector,
    cache: Shared,
    ledger: Ledger,
    (mvs, has_ledger): (Vec<(u32, String, String)>, bool),
    results: mpsc::Sender<Msg>,
) {
    let mut slot = cache.lock().await;
    let result = read(&connector, &mut slot, &ledger, &mvs, has_ledger).await;
    if result.is_err() {
        // Sessions are opened again on the next read (a restart, a dropped connection).
        *slot = None;
    }
    let _ = results.send(Msg::PgCron(result)).await;
}

async fn read(
    connector: &Connector,
    slot: &mut Option<Cache>,
    ledger: &Ledger,
    mvs: &[(u32, String, String)],
    has_ledger: bool,
) -> Result<Snapshot, Unavailable> {
    if slot.is_none() {
        let main = connector
            .connect(&SessionSettings::MONITORING)
            .await
            .map_err(|e| Unavailable::Unreachable(format!("pg_cron: {e}")))?;
        let pgcron = PgCron::locate(&main.client, connector).await?;
        *slot = Some(Cache {
            main,
            pgcron,
            reader: RunReader::new(DEFAULT_WINDOW),
        });
    }
    let Some(cache) = slot.as_mut() else {
        return Err(Unavailable::Unreachable("pg_cron: no session".into()));
    };
    let lost = |e: tokio_postgres::Error| {
        Unavailable::Unreachable(format!(
            "pg_cron's jobs could not be read: {}",
            one_line(&e)
        ))
    };
    let names: Vec<(u32, &str, &str)> = mvs
        .iter()
        .map(|(o, s, n)| (*o, s.as_str(), n.as_str()))
        .collect();
    let view = CronView::read(&cache.main.client, &cache.pgcron, &names, &mut cache.reader)
        .await
        .map_err(lost)?;
    let name_of = |oid: u32| {
        mvs.iter()
            .find(|m| m.0 == oid)
            .map(|m| (m.1.clone(), m.2.clone()))
    };
    let cron = view.records(&name_of);
    let stats = merged_stats(&cache.main.client, ledger, has_ledger, cron)
        .await
        .map_err(lost)?;
    Ok(Snapshot {
        located: view.located.clone(),
        schedules: view.schedules(Utc::now()),
        stats,
        notes: view.refreshes.notes.clone(),
    })
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
