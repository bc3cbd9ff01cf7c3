//! `cron.job_run_details` of the jobs that refresh MVs, read cheaply however long the table
//! grows (pg_cron never prunes it, and its only index is the primary key on `runid`): runids
//! only grow, so the first read takes the newest `window` runids through the key
//! (`runid > max - window`), every later read only the runids after the last one seen plus
//! the runs still in flight (`runid = ANY(...)`). Runs become ledger-shaped records (source
//! `pg_cron`) and a run the ledger already has (the event trigger's row, or the ledger
//! procedure's) counts once.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use super::jobs::{How, Refreshes};
use crate::ledger::RefreshRecord;

/// One row of `cron.job_run_details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CronRun {
    pub jobid: i64,
    pub runid: i64,
    pub job_pid: Option<i32>,
    pub username: Option<String>,
    /// starting, connecting, sending, running, succeeded, failed.
    pub status: String,
    pub return_message: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

impl CronRun {
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed")
    }
}

/// How many of the newest runids the first read covers.
pub const DEFAULT_WINDOW: i64 = 100_000;

/// The runs read so far, kept across polls.
#[derive(Debug, Clone)]
pub struct RunReader {
    window: i64,
    jobs: Vec<i64>,
    last_runid: Option<i64>,
    runs: BTreeMap<i64, CronRun>,
}

const COLUMNS: &str =
    "jobid, runid, job_pid, username, status, return_message, start_time, end_time";

/// The newest runid (a backward scan of the primary key: one index tuple).
pub const MAX_RUNID_SQL: &str = "SELECT max(runid) FROM cron.job_run_details";

/// Runs after a runid, of some jobs: a range scan of the primary key.
pub fn after_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM cron.job_run_details WHERE runid > $1 AND jobid = ANY($2) ORDER BY runid"
    )
}

/// Runs still in flight at the last read, again: one primary-key probe each.
pub fn again_sql() -> String {
    format!("SELECT {COLUMNS} FROM cron.job_run_details WHERE runid = ANY($1)")
}

impl RunReader {
    pub fn new(window: i64) -> RunReader {
        RunReader {
            window,
            jobs: Vec::new(),
            last_runid: None,
            runs: BTreeMap::new(),
        }
    }

    /// Reads what is new for `jobs`; a changed set of jobs starts over from the window.
    pub async fn read(
        &mut self,
        client: &Client,
        jobs: &[i64],
    ) -> Result<(), tokio_postgres::Error> {
        let mut jobs = jobs.to_vec();
        jobs.sort_unstable();
        jobs.dedup();
        if jobs != self.jobs {
            *self = RunReader::new(self.window);
            self.jobs = jobs;
        }
        if self.jobs.is_empty() {
            return Ok(());
        }
        let from = match self.last_runid {
            Some(r) => r,
            None => {
                let max: Option<i64> = client.query_one(MAX_RUNID_SQL, &[]).await?.get(0);
                max.unwrap_or(0) - self.window
            }
        };
        let in_flight: Vec<i64> = self
            .runs
            .values()
            .filter(|r| !r.finished())
            .map(|r| r.runid)
            .collect();
        let mut rows = client.query(&after_sql(), &[&from, &self.jobs]).await?;
        if !in_flight.is_empty() {
            rows.extend(client.query(&again_sql(), &[&in_flight]).await?);
        }
        let mut last = self.last_runid.unwrap_or(from);
        for r in &rows {
            let run = CronRun {
                jobid: r.get(0),
                runid: r.get(1),
                job_pid: r.get(2),
                username: r.get(3),
                status: r.get(4),
                return_message: r.get(5),
                start_time: r.get(6),
                end_time: r.get(7),
            };
            last = last.max(run.runid);
            self.runs.insert(run.runid, run);
        }
        self.last_runid = Some(last);
        // Only the window is kept: a long-running console stays bounded.
        while self.runs.len() as i64 > self.window {
            self.runs.pop_first();
        }
        Ok(())
    }

    pub fn runs(&self) -> impl Iterator<Item = &CronRun> {
        self.runs.values()
    }

    /// The latest run of a job (for `N seconds` schedules and the schedules pane).
    pub fn latest(&self, jobid: i64) -> Option<&CronRun> {
        self.runs.values().rev().find(|r| r.jobid == jobid)
    }
}

/// Finished runs of the jobs that refresh an MV for sure (not "may refresh"), one record per
/// (run, MV), newest first, shaped like the ledger's. `id` is minus the runid.
pub fn records(
    runs: &[&CronRun],
    refreshes: &Refreshes,
    names: &dyn Fn(u32) -> Option<(String, String)>,
) -> Vec<RefreshRecord> {
    let mut out = Vec::new();
    for run in runs.iter().filter(|r| r.finished()) {
        let Some(start) = run.start_time else {
            // Before 1.6.3 a run whose connection failed has no times: nothing to place.
            continue;
        };
        for pair in refreshes.pairs.iter().filter(|p| p.jobid == run.jobid) {
            let (concurrently, with_data) = match &pair.how {
                How::Refresh {
                    concurrently,
                    with_data,
                } => (*concurrently, *with_data),
                How::Ledger { concurrently } => (concurrently == "always", true),
                How::MayRefresh => continue,
            };
            let Some((schema, name)) = names(pair.mv_oid) else {
                continue;
            };
            let ok = run.status == "succeeded";
            let outcome = match (ok, run.return_message.as_deref()) {
                (true, _) => "ok",
                (false, Some("job canceled")) => "cancelled",
                (false, _) => "failed",
            };
            out.push(RefreshRecord {
                id: -run.runid,
                mv_oid: pair.mv_oid,
                schema,
                name,
                started_at: start,
                finished_at: run.end_time,
                duration_ms: run
                    .end_time
                    .map(|e| (e - start).num_microseconds().unwrap_or(0) as f64 / 1000.0),
                concurrently,
                with_data,
                source: "pg_cron".into(),
                outcome: outcome.into(),
                error: (!ok).then(|| run.return_message.clone()).flatten(),
                rows_after: None,
                bytes_after: None,
                db_user: run.username.clone().unwrap_or_default(),
                backend_pid: run.job_pid,
                client_application: Some(format!("pg_cron job {}", run.jobid)),
                cost: Default::default(),
            });
        }
    }
    out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    out
}

/// How far apart the ledger's start and pg_cron's may be for one run: pg_cron stamps
/// `start_time` after sending the command, the ledger when the REFRESH begins.
const SAME_RUN_SLACK: Duration = Duration::seconds(2);

/// Whether a ledger row is this pg_cron run: same MV, same backend, within the run's times.
pub fn same_run(cron: &RefreshRecord, ledger: &RefreshRecord) -> bool {
    cron.mv_oid == ledger.mv_oid
        && cron.backend_pid.is_some()
        && cron.backend_pid == ledger.backend_pid
        && ledger.started_at >= cron.started_at - SAME_RUN_SLACK
        && ledger.started_at <= cron.finished_at.unwrap_or(cron.started_at) + SAME_RUN_SLACK
}

/// The ledger's rows with pg_cron's runs added, each run once: a pg_cron run the ledger
/// recorded (the event trigger's `external` row, or the ledger procedure's) is the ledger's
/// row, its source `pg_cron`; the others are added. Newest first.
pub fn merge(mut ledger: Vec<RefreshRecord>, cron: Vec<RefreshRecord>) -> Vec<RefreshRecord> {
    let mut added = Vec::new();
    for c in cron {
        match ledger.iter_mut().find(|l| same_run(&c, l)) {
            Some(l) => {
                if l.source == "external" {
                    l.source = "pg_cron".into();
                }
                if l.client_application
                    .as_deref()
                    .is_none_or(|a| a == "pg_cron" || a.is_empty())
                {
                    l.client_application = c.client_application.clone();
                }
            }
            None => added.push(c),
        }
    }
    ledger.extend(added);
    ledger.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    ledger
}

/// The statistics of the MVs that have pg_cron runs the ledger lacks, over the ledger's runs
/// (when `has_ledger`) and those: the ledger's one statistics query, fed both. MVs whose every
/// pg_cron run the ledger has are left out (their ledger figures are already right).
pub async fn merged_stats(
    client: &Client,
    ledger: &crate::ledger::Ledger,
    has_ledger: bool,
    cron: Vec<RefreshRecord>,
) -> Result<std::collections::HashMap<u32, crate::ledger::LedgerStats>, tokio_postgres::Error> {
    let Some(since) = cron.iter().map(|r| r.started_at).min() else {
        return Ok(Default::default());
    };
    let mut oids: Vec<u32> = cron.iter().map(|r| r.mv_oid).collect();
    oids.sort_unstable();
    oids.dedup();
    let ledger_runs = if has_ledger {
        ledger
            .runs_of(client, &oids, since - SAME_RUN_SLACK - SAME_RUN_SLACK)
            .await?
    } else {
        Vec::new()
    };
    let extra: Vec<RefreshRecord> = merge(ledger_runs, cron)
        .into_iter()
        .filter(|r| r.id < 0)
        .collect();
    if extra.is_empty() {
        return Ok(Default::default());
    }
    let mut stats = ledger
        .stats_with_runs(client, &oids, &extra, has_ledger)
        .await?;
    stats.retain(|oid, _| extra.iter().any(|r| r.mv_oid == *oid));
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgcron::jobs::JobRefresh;
    use chrono::TimeZone;

    fn run(runid: i64, jobid: i64, pid: i32, status: &str, at: i64, secs: i64) -> CronRun {
        let start = Utc.timestamp_opt(at, 0).unwrap();
        CronRun {
            jobid,
            runid,
            job_pid: Some(pid),
            username: Some("ann".into()),
            status: status.into(),
            return_message: Some(if status == "failed" {
                "ERROR: boom".into()
            } else {
                "REFRESH MATERIALIZED VIEW".into()
            }),
            start_time: Some(start),
            end_time: Some(start + Duration::seconds(secs)),
        }
    }

    fn refreshes() -> Refreshes {
        Refreshes {
            pairs: vec![
                JobRefresh {
                    jobid: 1,
                    mv_oid: 10,
                    how: How::Refresh {
                        concurrently: true,
                        with_data: true,
                    },
                },
                JobRefresh {
                    jobid: 1,
                    mv_oid: 11,
                    how: How::Refresh {
                        concurrently: false,
                        with_data: true,
                    },
                },
                JobRefresh {
                    jobid: 2,
                    mv_oid: 10,
                    how: How::MayRefresh,
                },
            ],
            notes: vec![],
        }
    }

    fn names(oid: u32) -> Option<(String, String)> {
        Some(("s".into(), format!("mv{oid}")))
    }

    #[test]
    fn runs_become_records_per_mv_and_may_refresh_is_not_counted() {
        let runs = [
            run(5, 1, 100, "succeeded", 1000, 3),
            run(6, 1, 101, "failed", 2000, 1),
            run(7, 2, 102, "succeeded", 3000, 1),
            CronRun {
                status: "running".into(),
                end_time: None,
                ..run(8, 1, 103, "running", 4000, 0)
            },
        ];
        let refs: Vec<&CronRun> = runs.iter().collect();
        let r = records(&refs, &refreshes(), &names);
        assert_eq!(
            r.len(),
            4,
            "two runs of job 1, two MVs each; job 2 may refresh"
        );
        assert_eq!(r[0].outcome, "failed");
        assert_eq!(r[0].error.as_deref(), Some("ERROR: boom"));
        assert_eq!(r[2].outcome, "ok");
        assert_eq!(r[2].duration_ms, Some(3000.0));
        assert!(r.iter().all(|x| x.source == "pg_cron"));
    }

    #[test]
    fn a_run_the_ledger_has_counts_once() {
        let runs = [
            run(5, 1, 100, "succeeded", 1000, 3),
            run(6, 1, 101, "succeeded", 2000, 1),
        ];
        let refs: Vec<&CronRun> = runs.iter().collect();
        let cron = records(&refs, &refreshes(), &names);
        let mut trigger_row = cron[2].clone();
        trigger_row.id = 42;
        trigger_row.source = "external".into();
        trigger_row.started_at += Duration::milliseconds(500);
        trigger_row.mv_oid = 10;
        trigger_row.backend_pid = Some(100);
        let other_pid = RefreshRecord {
            id: 43,
            backend_pid: Some(999),
            source: "external".into(),
            ..trigger_row.clone()
        };
        let merged = merge(vec![trigger_row, other_pid], cron);
        assert_eq!(
            merged.len(),
            5,
            "4 pg_cron records + 2 ledger rows - 1 matched"
        );
        let matched = merged.iter().find(|r| r.id == 42).unwrap();
        assert_eq!(matched.source, "pg_cron");
        assert!(merged.iter().any(|r| r.id == 43 && r.source == "external"));
    }
}
