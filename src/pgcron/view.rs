//! What pg_cron adds to the MVs of the shown database, read in one go: the jobs, the MVs they
//! refresh, their runs, each (job, MV) pair as a schedule with its next run, and the runs as
//! ledger-shaped records. One reading for `schedule list`, `history`, `list` and the console.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::expr::{self, NextRun};
use super::jobs::{CronJob, How, MvName, Refreshes, read_jobs};
use super::locate::{Located, PgCron};
use super::runs::{CronRun, RunReader, records};
use super::submit::is_mvtops;
use crate::ledger::RefreshRecord;

/// pg_cron's jobs and runs for the shown database.
#[derive(Debug, Clone)]
pub struct CronView {
    pub located: Located,
    pub jobs: Vec<CronJob>,
    pub refreshes: Refreshes,
    pub runs: Vec<CronRun>,
}

impl CronView {
    /// `main` is on the shown database, `pgcron` as located from it; `reader` keeps the runs
    /// between calls (a console reads only what is new).
    pub async fn read(
        main: &Client,
        pgcron: &PgCron,
        mvs: &[MvName<'_>],
        reader: &mut RunReader,
    ) -> Result<CronView, tokio_postgres::Error> {
        let cron = pgcron.client(main);
        let jobs = read_jobs(cron, &pgcron.located.shown_database).await?;
        let refreshes = Refreshes::of(main, &jobs, mvs).await?;
        let mut ids: Vec<i64> = refreshes.pairs.iter().map(|p| p.jobid).collect();
        ids.dedup();
        reader.read(cron, &ids).await?;
        Ok(CronView {
            located: pgcron.located.clone(),
            jobs,
            refreshes,
            runs: reader.runs().cloned().collect(),
        })
    }

    pub fn job(&self, jobid: i64) -> Option<&CronJob> {
        self.jobs.iter().find(|j| j.jobid == jobid)
    }

    /// Finished runs as ledger-shaped records (source `pg_cron`), newest first; `names` gives
    /// an MV's schema and name.
    pub fn records(&self, names: &dyn Fn(u32) -> Option<(String, String)>) -> Vec<RefreshRecord> {
        let runs: Vec<&CronRun> = self.runs.iter().collect();
        records(&runs, &self.refreshes, names)
    }

    /// Every (job, MV) pair as a schedule, in job order.
    pub fn schedules(&self, now: DateTime<Utc>) -> Vec<CronSchedule> {
        let mut out = Vec::new();
        for pair in &self.refreshes.pairs {
            let Some(job) = self.job(pair.jobid) else {
                continue;
            };
            let latest = self
                .runs
                .iter()
                .rev()
                .find(|r| r.jobid == job.jobid && r.start_time.is_some());
            let (next, note) = match expr::parse(&job.schedule, &self.located.features) {
                Ok(p) => (
                    p.schedule.next_run(
                        now,
                        latest.and_then(|r| r.start_time),
                        &self.located.features,
                    ),
                    p.note,
                ),
                Err(e) => (NextRun::Never, Some(e)),
            };
            let next = if job.active { next } else { NextRun::Never };
            out.push(CronSchedule {
                mv_oid: pair.mv_oid,
                jobid: job.jobid,
                jobname: job.jobname.clone(),
                schedule: job.schedule.clone(),
                timezone: self.located.features.timezone.name().to_string(),
                command: job.command.clone(),
                active: job.active,
                owner: job.username.clone(),
                how: pair.how.clone(),
                made_by_mvtop: is_mvtops(job, None),
                next_run: match next {
                    NextRun::At(t) => Some(t),
                    _ => None,
                },
                next_run_text: describe_next(&next, job.active, now),
                note,
                last_status: latest.map(|r| r.status.clone()),
                last_start: latest.and_then(|r| r.start_time),
                last_message: latest
                    .filter(|r| r.status == "failed")
                    .and_then(|r| r.return_message.clone()),
            });
        }
        out
    }
}

/// One (pg_cron job, MV) pair: the fields `schedule list` shows (JSON contract).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CronSchedule {
    #[serde(skip)]
    pub mv_oid: u32,
    pub jobid: i64,
    pub jobname: Option<String>,
    /// pg_cron's own syntax.
    pub schedule: String,
    /// `cron.timezone` (GMT before pg_cron 1.5): the zone the schedule is read in.
    pub timezone: String,
    pub command: String,
    pub active: bool,
    /// The job's user (`cron.job.username`): it refreshes with that role's rights.
    pub owner: String,
    /// `refresh`, `ledger` (made by mvtop) or `may_refresh` (a call that names the MV).
    pub how: How,
    pub made_by_mvtop: bool,
    pub next_run: Option<DateTime<Utc>>,
    /// `in 4m`, `within 30s`, `at scheduler start`, `never`, `inactive`.
    pub next_run_text: String,
    /// What pg_cron ignores of the schedule, or why mvtop cannot read it.
    pub note: Option<String>,
    pub last_status: Option<String>,
    pub last_start: Option<DateTime<Utc>>,
    pub last_message: Option<String>,
}

fn describe_next(next: &NextRun, active: bool, now: DateTime<Utc>) -> String {
    if !active {
        return "inactive".into();
    }
    match next {
        NextRun::At(t) => format!(
            "in {}",
            crate::format::age(now, *t).trim_end_matches(" ago")
        ),
        NextRun::Within(d) => format!("within {}s", d.num_seconds()),
        NextRun::AtSchedulerStart => "at scheduler start".into(),
        NextRun::Never => "never".into(),
    }
}

impl CronSchedule {
    /// `pg_cron job 12 "nightly"`.
    pub fn label(&self) -> String {
        match &self.jobname {
            Some(n) => format!("pg_cron job {} {n:?}", self.jobid),
            None => format!("pg_cron job {}", self.jobid),
        }
    }
}
