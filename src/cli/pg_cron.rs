//! pg_cron in the subcommands: the one reading of it each command shares, the doctor's line,
//! and pg_cron's runs in `history`.

use tokio_postgres::Client;

use super::doctor::{Check, Status};
use crate::catalog::Inventory;
use crate::ledger::{HistoryFilter, RefreshRecord};
use crate::pgconn::Connector;
use crate::pgcron::locate::Located;
use crate::pgcron::runs::{DEFAULT_WINDOW, merge};

use crate::pgcron::{CronView, PgCron, RunReader, Unavailable};

/// pg_cron as a subcommand sees it: read, or why not.
pub struct Reading {
    pub pgcron: Option<PgCron>,
    pub view: Result<CronView, Unavailable>,
}

/// Locates pg_cron and reads its jobs and runs for the MVs of `views`.
pub async fn read(
    main: &Client,
    connector: &Connector,
    views: &[crate::catalog::MatView],
) -> Reading {
    read_located(main, PgCron::locate(main, connector).await, views).await
}

/// The same, pg_cron already located (or not).
pub async fn read_located(
    main: &Client,
    located: Result<PgCron, Unavailable>,
    views: &[crate::catalog::MatView],
) -> Reading {
    let pgcron = match located {
        Ok(p) => p,
        Err(u) => {
            return Reading {
                pgcron: None,
                view: Err(u),
            };
        }
    };
    let mvs: Vec<(u32, &str, &str)> = views
        .iter()
        .map(|v| (v.oid, v.schema.as_str(), v.name.as_str()))
        .collect();
    let mut reader = RunReader::new(DEFAULT_WINDOW);
    let view = CronView::read(main, &pgcron, &mvs, &mut reader)
        .await
        .map_err(|e| {
            Unavailable::Unreachable(format!(
                "pg_cron's jobs could not be read: {}",
                crate::pgconn::one_line(&e)
            ))
        });
    Reading {
        pgcron: Some(pgcron),
        view,
    }
}

/// The one line a command prints about pg_cron, if any: nothing when the server has no
/// pg_cron at all (most have none) unless `always`.
pub fn note(view: &Result<CronView, Unavailable>, always: bool) -> Option<String> {
    let mut lines = Vec::new();
    match view {
        Err(Unavailable::NotLoaded(l)) if always => lines.push(format!("pg_cron: {l}")),
        Err(Unavailable::NotLoaded(_)) => {}
        Err(u) => lines.push(u.line().to_string()),
        Ok(v) => {
            if !v.located.sees_all_jobs {
                lines.push(format!(
                    "pg_cron: role {} sees only its own jobs (row-level security on cron.job)",
                    crate::catalog::ident::display_ident(&v.located.role)
                ));
            }
            if let Some(n) = &v.located.timezone_note {
                lines.push(format!("pg_cron: {n}"));
            }
            lines.extend(v.refreshes.notes.iter().cloned());
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// `mvtop doctor`'s pg_cron line.
pub fn doctor_check(found: &Result<Located, Unavailable>) -> Check {
    let check = |status, detail: String, needs: Option<String>| Check {
        feature: "pg_cron",
        status,
        detail,
        needs,
    };
    let l = match found {
        Err(u @ Unavailable::NotLoaded(_)) => {
            return check(Status::Missing, u.line().into(), None);
        }
        Err(u) => return check(Status::Missing, u.line().into(), None),
        Ok(l) => l,
    };
    let role = crate::catalog::ident::display_ident(&l.role);
    let db = crate::catalog::ident::display_ident(&l.database);
    let zone = l.features.timezone.name();
    let base = format!(
        "pg_cron {} in database {db}, schedules read in {zone}",
        l.extversion
    );
    if !l.same_database() && !l.may_schedule_in_database {
        return check(
            Status::Partial,
            format!("{base}; reads jobs, but may not make jobs for this database"),
            Some(format!(
                "GRANT EXECUTE ON FUNCTION cron.schedule_in_database(text,text,text,text,text,boolean) TO {role}"
            )),
        );
    }
    if !l.sees_all_jobs {
        return check(
            Status::Partial,
            format!("{base}; sees only its own jobs (row-level security on cron.job)"),
            Some("BYPASSRLS, or ownership of cron.job, to see every role's jobs".into()),
        );
    }
    check(
        Status::Ok,
        format!("{base}; reads every job and may schedule refreshes (--engine pg_cron)"),
        None,
    )
}

/// The ledger's runs (when there is a ledger) with pg_cron's added, each run once, filtered
/// and cut as `filter` says.
pub fn history(
    ledger_runs: Vec<RefreshRecord>,
    view: Option<&CronView>,
    views: &[crate::catalog::MatView],
    filter: &HistoryFilter,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<RefreshRecord> {
    let Some(view) = view else {
        return ledger_runs;
    };
    let names = |oid: u32| {
        views
            .iter()
            .find(|v| v.oid == oid)
            .map(|v| (v.schema.clone(), v.name.clone()))
    };
    let cron: Vec<RefreshRecord> = view
        .records(&names)
        .into_iter()
        .filter(|r| filter.mv_oid.is_none_or(|o| o == r.mv_oid))
        .filter(|r| {
            filter.since.is_none_or(|s| {
                r.started_at >= now - chrono::Duration::from_std(s).unwrap_or_default()
            })
        })
        .collect();
    let mut merged = merge(ledger_runs, cron);
    if let Some(n) = filter.limit {
        merged.truncate(n.max(0) as usize);
    }
    merged
}

/// The MVs with the catalog facts only (names for the jobs' commands).
pub async fn catalog_views(main: &Client) -> Result<Vec<crate::catalog::MatView>, super::Failure> {
    Ok(Inventory::catalog_only(main).await?)
}

/// pg_cron's runs in the statistics of the MVs its jobs refresh: the ledger's runs with
/// pg_cron's added (each run once), through the ledger's one statistics query.
pub async fn apply_runs(
    main: &Client,
    ledger: &crate::ledger::Ledger,
    has_ledger: bool,
    view: &CronView,
    views: &mut [crate::catalog::MatView],
    on_standby: bool,
) -> Result<(), tokio_postgres::Error> {
    let by_oid: std::collections::HashMap<u32, (String, String)> = views
        .iter()
        .map(|v| (v.oid, (v.schema.clone(), v.name.clone())))
        .collect();
    let names = |oid: u32| by_oid.get(&oid).cloned();
    let cron = view.records(&names);
    let stats = crate::pgcron::runs::merged_stats(main, ledger, has_ledger, cron).await?;
    for v in views.iter_mut() {
        if let Some(s) = stats.get(&v.oid) {
            crate::inventory::apply_ledger(v, s, crate::catalog::StatsSource::PgCron);
        }
    }
    crate::catalog::inventory::settle_statuses(
        views,
        &Default::default(),
        &Default::default(),
        on_standby,
    );
    Ok(())
}

/// One MV of `mvtop list` with what pg_cron adds (new fields; the others unchanged).
#[derive(Debug, serde::Serialize)]
pub struct Listed<'a> {
    #[serde(flatten)]
    pub view: &'a crate::catalog::MatView,
    /// The pg_cron jobs that refresh it (or may: `how.kind = may_refresh`).
    pub pg_cron_jobs: Vec<&'a crate::pgcron::CronSchedule>,
    /// The soonest next run among them.
    pub pg_cron_next_run: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn listed<'a>(
    view: &'a crate::catalog::MatView,
    schedules: &'a [crate::pgcron::CronSchedule],
) -> Listed<'a> {
    let jobs: Vec<&crate::pgcron::CronSchedule> =
        schedules.iter().filter(|s| s.mv_oid == view.oid).collect();
    Listed {
        view,
        pg_cron_next_run: jobs.iter().filter_map(|j| j.next_run).min(),
        pg_cron_jobs: jobs,
    }
}
