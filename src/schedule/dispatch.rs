//! From due to running: the driver claims each due run in the ledger (one winner among
//! every scheduler on the database), starts it on the executor, or holds it until the MVs it
//! reads have refreshed; follows its jobs' events; and winds them down at a stop.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;

use super::changes::Seen;
use super::driver::Driver;
use super::events::SchedulerEvent;
use super::order::{DueMv, upstream_first, waits_for};
use super::policy::Policy;
use crate::pgconn::one_line;
use crate::refresh::{JobEvent, JobSpec, JobState, OutcomeKind, Source, Target, choose_mode};

/// A claimed run waiting for the MVs it reads (due in the same set) to finish.
pub(super) struct Held {
    pub(super) spec: JobSpec,
    pub(super) after: HashSet<u32>,
}

impl Driver {
    /// Claims each due run (upstream MVs first) and starts it, or holds it until the MVs it
    /// reads in the same due set have finished.
    pub(super) async fn claim_and_start(
        &mut self,
        mut due: Vec<(usize, u32, DateTime<Utc>, String)>,
        seen: &HashMap<u32, Seen>,
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

    pub(super) fn start(&mut self, spec: JobSpec) {
        let oid = spec.target.oid;
        let id = self.executor.submit(spec);
        self.running.insert(oid, id);
    }

    pub(super) fn job_changed(&mut self, event: JobEvent) {
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
    pub(super) async fn shut_down(&mut self, jobs: &mut mpsc::UnboundedReceiver<JobEvent>) {
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
