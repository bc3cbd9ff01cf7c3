//! The scheduler at work: reads the schedules and the base tables' writes, decides what is
//! due (`decide`), claims each due run in the ledger (one winner among every console and
//! daemon on the database) and hands it to the refresh executor, upstream MVs first. The
//! same driver runs in `mvtop daemon` and behind the console.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio_postgres::error::SqlState;

use super::changes::ChangeTracker;
use super::due::{Decision, Observed, decide};
use super::order::{DueMv, upstream_first, waits_for};
use super::policy::{Policy, Schedule};
use crate::catalog::writes::{table_writes, writes_of};
use crate::catalog::{Inventory, MatView};
use crate::ledger::Ledger;
use crate::pgconn::{Connector, Session, SessionSettings, one_line};
use crate::refresh::{
    Executor, JobEvent, JobId, JobSpec, JobState, Limits, OutcomeKind, Source, Target, choose_mode,
};

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
type MvKey = (String, String);

/// A claimed run waiting for the MVs it reads (due in the same set) to finish.
struct Held {
    spec: JobSpec,
    after: HashSet<u32>,
}

struct Driver {
    connector: Connector,
    executor: Executor,
    options: SchedulerOptions,
    report: mpsc::UnboundedSender<SchedulerEvent>,
    session: Option<Session>,
    schedules: Vec<Schedule>,
    views: HashMap<MvKey, MatView>,
    tracker: ChangeTracker,
    /// MV oid -> this scheduler's job on it, queued or running.
    running: HashMap<u32, JobId>,
    held: Vec<Held>,
    /// The schedules' version last read (None: read them again).
    version: Option<String>,
    /// Schedule -> (its last_due, its next run): not decided again before that time.
    waiting: HashMap<MvKey, (Option<DateTime<Utc>>, DateTime<Utc>)>,
    catalog_at: Option<DateTime<Utc>>,
    problem: Option<String>,
    /// A problem was met during this look (so the look's success does not clear it).
    troubled: bool,
    /// The server was in recovery at the last look.
    standby: bool,
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

    fn say(&self, event: SchedulerEvent) {
        let _ = self.report.send(event);
    }

    fn trouble(&mut self, what: String) {
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

    fn unresolved(&self) -> bool {
        self.schedules.iter().any(|s| {
            !self
                .views
                .contains_key(&(s.mv_schema.clone(), s.mv_name.clone()))
        }) && self.catalog_at.is_none()
    }

    fn client(&self) -> Result<&tokio_postgres::Client, String> {
        self.session
            .as_ref()
            .map(|s| &s.client)
            .ok_or_else(|| "scheduler: not connected".to_string())
    }

    fn ledger_error(&self, e: &tokio_postgres::Error) -> String {
        let gone = [SqlState::UNDEFINED_TABLE, SqlState::INVALID_SCHEMA_NAME];
        if e.code().is_some_and(|c| gone.contains(c)) {
            format!(
                "{}; meanwhile the schedules last read run uncoordinated and outcomes are \
                 kept in memory only",
                self.options
                    .ledger
                    .why_not_current(None)
                    .unwrap_or_default()
            )
        } else {
            format!("reading schedules: {}", one_line(e))
        }
    }

    async fn load_schedules(&mut self) -> Result<(), String> {
        let loaded = match self.options.ledger.schedules(self.client()?).await {
            Ok(l) => l,
            Err(e) => return Err(self.ledger_error(&e)),
        };
        self.schedules = loaded.schedules;
        self.waiting.clear();
        self.say(SchedulerEvent::Loaded {
            schedules: self.schedules.len(),
            problems: loaded.problems,
        });
        Ok(())
    }

    async fn load_catalog(&mut self) -> Result<(), String> {
        let client = self.client()?;
        let views = Inventory::catalog_only(client)
            .await
            .map_err(|e| format!("reading the MVs: {}", one_line(&e)))?;
        let naming = self
            .options
            .ledger
            .naming_convention(client)
            .await
            .map_err(|e| format!("reading settings: {}", one_line(&e)))?;
        if let Some(tz) = naming {
            let names: Vec<(String, String)> = views
                .iter()
                .map(|v| (v.schema.clone(), v.name.clone()))
                .collect();
            let added = self
                .options
                .ledger
                .sync_naming(client, &names, &tz)
                .await
                .map_err(|e| format!("naming convention: {}", one_line(&e)))?;
            if added > 0 {
                self.version = None;
            }
        }
        self.views = views
            .into_iter()
            .map(|v| ((v.schema.clone(), v.name.clone()), v))
            .collect();
        Ok(())
    }

    /// Base-table writes of the change-driven schedules, and upstream refreshes since each
    /// one's last run, through the change tracker.
    async fn observe(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<u32, super::changes::Seen>, String> {
        let watched: Vec<(&Schedule, &MatView)> = self
            .schedules
            .iter()
            .filter(|s| matches!(s.policy, Policy::OnChange { .. }))
            .filter_map(|s| {
                let v = self.views.get(&(s.mv_schema.clone(), s.mv_name.clone()))?;
                Some((s, v))
            })
            .collect();
        if watched.is_empty() {
            return Ok(HashMap::new());
        }
        let mut tables: Vec<u32> = watched
            .iter()
            .flat_map(|(_, v)| v.base_tables.clone())
            .collect();
        tables.sort_unstable();
        tables.dedup();
        let upstream: Vec<u32> = watched
            .iter()
            .flat_map(|(_, v)| v.upstream_oids.clone())
            .collect();
        let client = self.client()?;
        let writes = table_writes(client, &tables)
            .await
            .map_err(|e| format!("reading write counters: {}", one_line(&e)))?;
        let refreshed = self
            .options
            .ledger
            .last_refreshes(client, &upstream)
            .await
            .map_err(|e| format!("reading the ledger: {}", one_line(&e)))?;
        let mut seen = HashMap::new();
        let keep: HashSet<u32> = watched.iter().map(|(_, v)| v.oid).collect();
        for (s, v) in &watched {
            let writes_now = writes_of(&v.base_tables, &writes).unwrap_or(0);
            let since = s.last_due.unwrap_or(s.created_at);
            let upstream_changed = v
                .upstream_oids
                .iter()
                .filter_map(|o| refreshed.get(o).copied())
                .filter(|t| *t > since)
                .max();
            let baseline = s.base_writes.or(Some(writes_now));
            let observed = self
                .tracker
                .observe(v.oid, writes_now, baseline, upstream_changed, now);
            seen.insert(v.oid, observed);
        }
        self.tracker.forget_except(&keep);
        Ok(seen)
    }

    /// Claims each due run (upstream MVs first) and starts it, or holds it until the MVs it
    /// reads in the same due set have finished.
    async fn claim_and_start(
        &mut self,
        mut due: Vec<(usize, u32, DateTime<Utc>, String)>,
        seen: &HashMap<u32, super::changes::Seen>,
    ) -> Result<(), String> {
        let mut order: Vec<DueMv> = due
            .iter()
            .filter_map(|(i, oid, ..)| {
                let s = &self.schedules[*i];
                let v = self.views.get(&(s.mv_schema.clone(), s.mv_name.clone()))?;
                Some(DueMv {
                    oid: *oid,
                    level: v.refresh_level,
                    upstream: v.upstream_oids.clone(),
                })
            })
            .collect();
        upstream_first(&mut order);
        for item in order {
            let Some(pos) = due.iter().position(|(_, oid, ..)| *oid == item.oid) else {
                continue;
            };
            let (i, oid, at, why) = due.swap_remove(pos);
            let sched = self.schedules[i].clone();
            let Some(view) = self
                .views
                .get(&(sched.mv_schema.clone(), sched.mv_name.clone()))
                .cloned()
            else {
                continue;
            };
            let base_writes = match sched.policy {
                Policy::OnChange { .. } => seen.get(&oid).map(|s| s.writes),
                _ => None,
            };
            let claim = self
                .options
                .ledger
                .claim(
                    self.client()?,
                    &sched,
                    oid,
                    at,
                    base_writes,
                    &self.options.claimant,
                )
                .await;
            let won = match claim {
                Ok(won) => won,
                Err(e)
                    if e.code().is_some_and(|c| {
                        [SqlState::UNDEFINED_TABLE, SqlState::INVALID_SCHEMA_NAME].contains(c)
                    }) =>
                {
                    // No ledger to coordinate through: this process alone decides.
                    let why = self.ledger_error(&e);
                    self.trouble(why);
                    true
                }
                Err(e) => return Err(format!("claiming a run: {}", one_line(&e))),
            };
            if !won {
                // Another scheduler claimed it (or it is being refreshed): read them again.
                self.version = None;
                self.say(SchedulerEvent::ClaimLost {
                    mv: view.qualified_name.clone(),
                    due: at,
                });
                continue;
            }
            self.tracker.claimed(oid);
            if let Some(s) = self.schedules.get_mut(i) {
                s.last_due = Some(at);
                s.base_writes = base_writes.or(s.base_writes);
            }
            self.say(SchedulerEvent::Claimed {
                mv: view.qualified_name.clone(),
                due: at,
                why,
            });
            let target = Target::from(&view);
            let mode = match choose_mode(&target, sched.concurrently, true) {
                Ok(m) => m,
                Err(why) => {
                    self.say(SchedulerEvent::Skipped {
                        mv: view.qualified_name.clone(),
                        why,
                    });
                    continue;
                }
            };
            let spec = JobSpec {
                target,
                mode,
                source: Source::Schedule,
                limits: self.options.limits,
            };
            let running_here: HashSet<u32> = self.running.keys().copied().collect();
            let after = waits_for(&item, &running_here);
            if after.is_empty() {
                self.start(spec);
            } else {
                // Counted as running so the next tick does not decide it again.
                self.running.insert(oid, 0);
                self.held.push(Held { spec, after });
            }
        }
        Ok(())
    }

    fn start(&mut self, spec: JobSpec) {
        let oid = spec.target.oid;
        let id = self.executor.submit(spec);
        self.running.insert(oid, id);
    }

    fn job_changed(&mut self, event: JobEvent) {
        let oid = event.spec.target.oid;
        if self.running.get(&oid) != Some(&event.id) {
            return;
        }
        if let JobState::Finished(outcome) = &event.state {
            self.running.remove(&oid);
            let ok = outcome.kind == OutcomeKind::Ok;
            let mut ready = Vec::new();
            let mut skipped = Vec::new();
            for mut h in std::mem::take(&mut self.held) {
                if h.after.remove(&oid) {
                    if !ok {
                        skipped.push(h);
                        continue;
                    }
                    if h.after.is_empty() {
                        ready.push(h);
                        continue;
                    }
                }
                self.held.push(h);
            }
            for h in skipped {
                self.running.remove(&h.spec.target.oid);
                self.say(SchedulerEvent::Skipped {
                    mv: h.spec.target.qualified_name.clone(),
                    why: format!(
                        "{} it reads did not refresh ({})",
                        event.spec.target.qualified_name,
                        outcome.kind.as_str()
                    ),
                });
            }
            for h in ready {
                self.running.remove(&h.spec.target.oid);
                self.start(h.spec);
            }
        }
        self.say(SchedulerEvent::Job(event));
    }

    /// Lets running refreshes finish for the grace period, cancels what is left, and waits
    /// for every outcome (each one recorded by the refresh engine).
    async fn shut_down(&mut self, jobs: &mut mpsc::UnboundedReceiver<JobEvent>) {
        for h in std::mem::take(&mut self.held) {
            self.running.remove(&h.spec.target.oid);
        }
        self.say(SchedulerEvent::Stopping {
            running: self.running.len(),
        });
        let deadline = tokio::time::Instant::now() + self.options.grace;
        let mut cancelled = false;
        while !self.running.is_empty() {
            tokio::select! {
                Some(event) = jobs.recv() => self.job_changed(event),
                _ = tokio::time::sleep_until(deadline), if !cancelled => {
                    cancelled = true;
                    for id in self.running.values() {
                        self.executor.cancel(*id);
                    }
                }
                else => break,
            }
        }
        self.say(SchedulerEvent::Stopped);
    }
}
