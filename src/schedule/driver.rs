//! The scheduler at work: reads the schedules and the base tables' writes, decides what is
//! due (`decide`), claims each due run in the ledger (one winner among every console and
//! daemon on the database) and hands it to the refresh executor, upstream MVs first. The
//! same driver runs in `mvtop daemon` and behind the console. This file holds its loop and
//! its look at the world; `world.rs` the reads, `dispatch.rs` claiming and starting runs,
//! `events.rs` its options and events.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

use super::changes::ChangeTracker;
use super::dispatch::Held;
use super::due::{Decision, Observed, decide};
use super::policy::{Policy, Schedule};
use crate::catalog::MatView;
use crate::pgconn::{Connector, Session, SessionSettings, one_line};
use crate::refresh::{Executor, JobId};

pub use super::events::{SchedulerEvent, SchedulerOptions, claimant};

/// Runs until `stop` turns true, then lets its refreshes finish for the grace period,
/// cancels the rest, waits for every outcome to be recorded, and returns.
pub async fn run(
    connector: Connector,
    executor: Executor,
    options: SchedulerOptions,
    report: mpsc::UnboundedSender<SchedulerEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let mut jobs = executor.subscribe();
    let mut s = Driver::new(connector, executor, options, report);
    loop {
        let wait = s.tick(Utc::now()).await;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            Some(event) = jobs.recv() => s.job_changed(event),
            _ = stop.wait_for(|v| *v) => break,
        }
        // Job events that arrived meanwhile, before the next decision.
        while let Ok(event) = jobs.try_recv() {
            s.job_changed(event);
        }
    }
    s.shut_down(&mut jobs).await;
}

/// An MV by (schema, name), as schedules name it.
pub(super) type MvKey = (String, String);

pub(super) struct Driver {
    pub(super) connector: Connector,
    pub(super) executor: Executor,
    pub(super) options: SchedulerOptions,
    pub(super) report: mpsc::UnboundedSender<SchedulerEvent>,
    pub(super) session: Option<Session>,
    pub(super) schedules: Vec<Schedule>,
    pub(super) views: HashMap<MvKey, MatView>,
    pub(super) tracker: ChangeTracker,
    /// MV oid -> this scheduler's job on it, queued or running.
    pub(super) running: HashMap<u32, JobId>,
    pub(super) held: Vec<Held>,
    /// The schedules' version last read (None: read them again).
    pub(super) version: Option<String>,
    /// Schedule -> (its last_due, its next run): not decided again before that time.
    pub(super) waiting: HashMap<MvKey, (Option<DateTime<Utc>>, DateTime<Utc>)>,
    pub(super) catalog_at: Option<DateTime<Utc>>,
    pub(super) problem: Option<String>,
    /// A problem was met during this look (so the look's success does not clear it).
    pub(super) troubled: bool,
    /// The server was in recovery at the last look.
    pub(super) standby: bool,
}

/// The longest sleep between two looks (writes are polled this often).
const MAX_SLEEP: Duration = Duration::from_secs(1);

impl Driver {
    fn new(
        connector: Connector,
        executor: Executor,
        options: SchedulerOptions,
        report: mpsc::UnboundedSender<SchedulerEvent>,
    ) -> Driver {
        Driver {
            connector,
            executor,
            options,
            report,
            session: None,
            schedules: Vec::new(),
            views: HashMap::new(),
            tracker: ChangeTracker::default(),
            running: HashMap::new(),
            held: Vec::new(),
            version: None,
            waiting: HashMap::new(),
            catalog_at: None,
            problem: None,
            troubled: false,
            standby: false,
        }
    }

    pub(super) fn say(&self, event: SchedulerEvent) {
        let _ = self.report.send(event);
    }

    pub(super) fn trouble(&mut self, what: String) {
        self.troubled = true;
        if self.problem.as_deref() != Some(what.as_str()) {
            self.say(SchedulerEvent::Problem(what.clone()));
            self.problem = Some(what);
        }
    }

    /// One look at the world; returns how long to sleep before the next.
    async fn tick(&mut self, now: DateTime<Utc>) -> Duration {
        self.troubled = false;
        match self.look(now).await {
            Ok(next) => {
                if !self.troubled && self.problem.take().is_some() {
                    self.say(SchedulerEvent::Recovered);
                }
                next.map(|n| (n - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                    .unwrap_or(MAX_SLEEP)
                    .min(MAX_SLEEP)
            }
            Err(e) => {
                if self.session.as_ref().is_some_and(|s| s.client.is_closed()) {
                    self.session = None;
                }
                self.trouble(e);
                Duration::from_secs(5)
            }
        }
    }

    async fn look(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        if self.session.as_ref().is_none_or(|s| s.client.is_closed()) {
            let session = self
                .connector
                .connect(&SessionSettings::MONITORING)
                .await
                .map_err(|e| format!("scheduler: {e}"))?;
            self.session = Some(session);
        }
        if self.waits_for_promotion().await? {
            return Ok(None);
        }
        let due_for = |at: Option<DateTime<Utc>>, every: Duration| {
            at.is_none_or(|t| now - t >= chrono::Duration::from_std(every).unwrap_or_default())
        };
        let version = self
            .options
            .ledger
            .schedules_version(self.client()?)
            .await
            .map_err(|e| self.ledger_error(&e));
        match version {
            Ok(v) if self.version.as_ref() != Some(&v) => {
                self.load_schedules().await?;
                self.version = Some(v);
            }
            Ok(_) => {}
            Err(e) if self.schedules.is_empty() => return Err(e),
            // The ledger is gone under us: keep to the schedules known, say so.
            Err(e) => self.trouble(e),
        }
        if due_for(self.catalog_at, self.options.catalog_every) || self.unresolved() {
            self.load_catalog().await?;
            self.catalog_at = Some(now);
        }
        let seen = self.observe(now).await?;
        let mut due = Vec::new();
        let mut next_wake: Option<DateTime<Utc>> = None;
        let mut waiting = Vec::new();
        for (i, sched) in self.schedules.iter().enumerate() {
            let key = (sched.mv_schema.clone(), sched.mv_name.clone());
            if let Some((last_due, next)) = self.waiting.get(&key)
                && *last_due == sched.last_due
                && now < *next
            {
                next_wake = Some(next_wake.map_or(*next, |w: DateTime<Utc>| w.min(*next)));
                continue;
            }
            let Some(view) = self.views.get(&key) else {
                continue;
            };
            let observed = Observed {
                running: self.running.contains_key(&view.oid),
                changes: seen.get(&view.oid).copied(),
            };
            match decide(sched, &observed, now) {
                Decision::Due { due: at, why } => due.push((i, view.oid, at, why)),
                Decision::Wait { next, .. } => {
                    if let Some(n) = next {
                        next_wake = Some(next_wake.map_or(n, |w: DateTime<Utc>| w.min(n)));
                        // Only time makes a timed schedule due; writes are looked at always.
                        if !matches!(sched.policy, Policy::OnChange { .. }) {
                            waiting.push((key, (sched.last_due, n)));
                        }
                    }
                }
            }
        }
        self.waiting.extend(waiting);
        self.claim_and_start(due, &seen).await?;
        Ok(next_wake)
    }

    /// A standby can refresh nothing and write no claim: say so once, and look again each
    /// second until it is promoted.
    async fn waits_for_promotion(&mut self) -> Result<bool, String> {
        let in_recovery: bool = self
            .client()?
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .map_err(|e| format!("scheduler: {}", one_line(&e)))?
            .get(0);
        match (self.standby, in_recovery) {
            (false, true) => self.say(SchedulerEvent::Standby),
            (true, false) => {
                self.say(SchedulerEvent::Promoted);
                // What was known on the standby is read again on the primary.
                self.version = None;
                self.catalog_at = None;
            }
            _ => {}
        }
        self.standby = in_recovery;
        Ok(in_recovery)
    }
}
