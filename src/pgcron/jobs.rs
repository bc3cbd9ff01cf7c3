//! `cron.job` rows and which MVs of the shown database each one refreshes.

use std::collections::HashMap;

use serde::Serialize;
use tokio_postgres::Client;

use super::command::{self, Action, NameRef, SearchPath};
use super::resolve::{Lookup, resolve_unqualified};

/// One row of `cron.job` (those of the shown database the role may see).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CronJob {
    pub jobid: i64,
    pub jobname: Option<String>,
    pub schedule: String,
    pub command: String,
    pub database: String,
    pub username: String,
    pub active: bool,
}

/// The jobs whose `database` is `shown` (RLS leaves a role only its own, unless it bypasses).
pub async fn read_jobs(
    client: &Client,
    shown: &str,
) -> Result<Vec<CronJob>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT jobid, jobname::text, schedule, command, database, username, active
             FROM cron.job WHERE database = $1 ORDER BY jobid",
            &[&shown],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| CronJob {
            jobid: r.get(0),
            jobname: r.get(1),
            schedule: r.get(2),
            command: r.get(3),
            database: r.get(4),
            username: r.get(5),
            active: r.get(6),
        })
        .collect())
}

/// How a job refreshes an MV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum How {
    /// A REFRESH statement of the command.
    Refresh { concurrently: bool, with_data: bool },
    /// mvtop's own job through the ledger procedure (`--concurrently` mode).
    Ledger { concurrently: String },
    /// A function call or DO block whose text names the MV.
    MayRefresh,
}

/// One (job, MV) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRefresh {
    pub jobid: i64,
    pub mv_oid: u32,
    pub how: How,
}

/// The MVs the jobs refresh, and the one-line notes about jobs that refresh something that is
/// not an MV of the shown database (or whose command the server would refuse).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refreshes {
    pub pairs: Vec<JobRefresh>,
    pub notes: Vec<String>,
}

/// An MV of the shown database: oid, schema and name.
pub type MvName<'a> = (u32, &'a str, &'a str);

impl Refreshes {
    /// `main` is a session on the shown database (unqualified names are resolved there, in
    /// each job user's search path); `mvs` its MVs.
    pub async fn of(
        main: &Client,
        jobs: &[CronJob],
        mvs: &[MvName<'_>],
    ) -> Result<Refreshes, tokio_postgres::Error> {
        let by_name: HashMap<(&str, &str), u32> =
            mvs.iter().map(|&(oid, s, n)| ((s, n), oid)).collect();
        let mut out = Refreshes::default();
        let mut lookups: Vec<Lookup> = Vec::new();
        let mut pending: Vec<(i64, How, NameRef)> = Vec::new();
        for job in jobs {
            let reading = command::read(&job.command);
            if let Some(e) = &reading.error {
                out.notes.push(format!(
                    "pg_cron job {}: the server would refuse its command ({e})",
                    job.jobid
                ));
                continue;
            }
            for action in reading.actions {
                match action {
                    Action::Refresh {
                        name,
                        path,
                        concurrently,
                        with_data,
                    } => {
                        let how = How::Refresh {
                            concurrently,
                            with_data,
                        };
                        if name.schema.is_none() {
                            lookups.push(Lookup {
                                username: job.username.clone(),
                                path,
                                name: name.name.clone(),
                            });
                        }
                        pending.push((job.jobid, how, name));
                    }
                    Action::Ledger {
                        name, concurrently, ..
                    } => pending.push((job.jobid, How::Ledger { concurrently }, name)),
                    Action::MayRefresh { text } => {
                        for &(oid, _, n) in mvs {
                            let pair = JobRefresh {
                                jobid: job.jobid,
                                mv_oid: oid,
                                how: How::MayRefresh,
                            };
                            if command::names_mv(&text, n) && !out.pairs.contains(&pair) {
                                out.pairs.push(pair);
                            }
                        }
                    }
                }
            }
        }
        let resolved = resolve_unqualified(main, &lookups).await?;
        let mut unqualified = lookups.iter().zip(resolved);
        for (jobid, how, name) in pending {
            let oid = match &name.schema {
                Some(s) => by_name.get(&(s.as_str(), name.name.as_str())).copied(),
                None => unqualified
                    .next()
                    .and_then(|(_, r)| r)
                    .filter(|oid| mvs.iter().any(|m| m.0 == *oid)),
            };
            match oid {
                Some(mv_oid) => {
                    let pair = JobRefresh { jobid, mv_oid, how };
                    if !out.pairs.contains(&pair) {
                        out.pairs.push(pair);
                    }
                }
                None => out.notes.push(format!(
                    "pg_cron job {jobid} refreshes {}, which is not a materialized view of this \
                     database{}",
                    describe(&name),
                    if name.schema.is_none() {
                        " in the job user's search_path"
                    } else {
                        ""
                    }
                )),
            }
        }
        Ok(out)
    }

    pub fn jobs_of(&self, mv_oid: u32) -> impl Iterator<Item = &JobRefresh> {
        self.pairs.iter().filter(move |p| p.mv_oid == mv_oid)
    }
}

fn describe(n: &NameRef) -> String {
    use crate::catalog::ident::{
        display_ident as quote_ident, display_qualified as quote_qualified,
    };
    match &n.schema {
        Some(s) => quote_qualified(s, &n.name),
        None => quote_ident(&n.name),
    }
}

impl SearchPath {
    pub fn describe(&self) -> String {
        match self {
            SearchPath::Role => "the role's search_path".into(),
            SearchPath::Set(p) => format!("search_path {p}"),
        }
    }
}
