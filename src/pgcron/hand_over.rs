//! `schedule set --engine pg_cron` (and the console's form with `pg_cron`): the schedule
//! checked against what pg_cron can run, the job made or updated, and mvtop's own schedule of
//! the MV handed over (removed) so one engine runs it. `schedule rm` removes mvtop's job too.
//! The CLI and the console share these.

use chrono::Utc;
use tokio_postgres::Client;

use super::expr::{self, NextRun};
use super::jobs::read_jobs;
use super::locate::PgCron;
use super::submit::{self, Submission};
use crate::catalog::Inventory;
use crate::ledger::Ledger;
use crate::pgconn::{Connector, one_line};
use crate::refresh::{Concurrently, Target, choose_mode};
use crate::schedule::policy::PolicyInput;

/// Which scheduler runs a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
pub enum Engine {
    /// mvtop's own scheduler (`mvtop daemon` or a console)
    #[default]
    #[value(name = "mvtop")]
    #[serde(rename = "mvtop")]
    Mvtop,
    /// A pg_cron job, run by the server; no mvtop process needed
    #[value(name = "pg_cron")]
    #[serde(rename = "pg_cron")]
    PgCron,
}

/// pg_cron's schedule text for `input`, or why pg_cron cannot run it.
pub fn schedule_text(input: &PolicyInput, located: &super::Located) -> Result<String, String> {
    if input.on_change {
        return Err(
            "on-change schedules stay with mvtop's scheduler (pg_cron cannot see \
                    writes): drop --engine pg_cron, and keep `mvtop daemon` or a console running"
                .into(),
        );
    }
    if input.window.is_some() {
        return Err(
            "pg_cron has no refresh windows: put the hours in the cron expression \
                    (e.g. '*/15 1-4 * * *'), or drop --engine pg_cron"
                .into(),
        );
    }
    let zone = located.features.timezone.name();
    if let Some(tz) = &input.tz {
        let same = crate::schedule::cron::parse_tz(tz)
            .is_ok_and(|t| t.name() == zone || (t == chrono_tz::Tz::UTC && zone == "GMT"));
        if !same {
            return Err(format!(
                "pg_cron reads every schedule in cron.timezone ({zone}) and has no per-job time \
                 zone: write the expression in {zone}, without --tz"
            ));
        }
    }
    match (&input.cron, &input.every) {
        (Some(c), None) => {
            expr::parse(c, &located.features)?;
            Ok(c.trim().to_string())
        }
        (None, Some(e)) => {
            let d = crate::format::parse_duration(e).map_err(|e| format!("--every: {e}"))?;
            submit::every_as_schedule(d, &located.features)
        }
        _ => Err("give exactly one of --cron or --every".into()),
    }
}

/// Makes or updates the pg_cron job of the MV with oid `oid`; returns the line to show.
pub async fn set(
    main: &Client,
    connector: &Connector,
    ledger: &Ledger,
    oid: u32,
    input: &PolicyInput,
    concurrently: Concurrently,
) -> Result<String, String> {
    let pgcron = PgCron::locate(main, connector)
        .await
        .map_err(|u| u.line().to_string())?;
    let located = &pgcron.located;
    let schedule = schedule_text(input, located)?;
    let procedure = format!(
        "{}.{}(text,text)",
        crate::catalog::ident::quote_ident(ledger.schema()),
        super::LEDGER_PROCEDURE
    );
    let has_procedure: bool = main
        .query_one("SELECT to_regprocedure($1) IS NOT NULL", &[&procedure])
        .await
        .map_err(|e| one_line(&e))?
        .get(0);
    if !has_procedure {
        return Err(format!(
            "a pg_cron job records its runs through the ledger's procedure, and the ledger in \
             schema {} has none: run `mvtop install` (first or again, to upgrade it)",
            ledger.schema()
        ));
    }
    let views = Inventory::catalog_only(main)
        .await
        .map_err(|e| one_line(&e))?;
    let view = views
        .iter()
        .find(|v| v.oid == oid)
        .ok_or("the materialized view was dropped meanwhile")?;
    // A mode that can never work is refused now, not at 3 a.m.
    choose_mode(&Target::from(view), concurrently, true)?;
    let done = submit::submit(
        pgcron.client(main),
        located,
        ledger,
        &Submission {
            schema: view.schema.clone(),
            name: view.name.clone(),
            schedule: schedule.clone(),
            concurrently,
        },
    )
    .await?;
    let mut line = format!(
        "{}: pg_cron job {} {:?} on '{schedule}' ({})",
        view.qualified_name,
        done.jobid,
        done.jobname,
        located.features.timezone.name()
    );
    if let Ok(p) = expr::parse(&schedule, &located.features)
        && let NextRun::At(t) = p.schedule.next_run(Utc::now(), None, &located.features)
    {
        line.push_str(&format!(", next run {}", t.format("%Y-%m-%d %H:%M UTC")));
    }
    if !done.active {
        line.push_str("; the job is inactive (cron.job.active = false): pg_cron will not run it");
    }
    if let Some(n) = done.note {
        line.push_str(&format!("; {n}"));
    }
    // Handed over: mvtop's own scheduler no longer runs it.
    match ledger.remove_schedule(main, &view.schema, &view.name).await {
        Ok(true) => line.push_str("; mvtop's own schedule of it was removed"),
        Ok(false) => {}
        Err(e) => line.push_str(&format!(
            "; mvtop's own schedule of it stays ({}): both will refresh it",
            one_line(&e)
        )),
    }
    Ok(line)
}

/// Removes the pg_cron jobs mvtop made for `schema.name`; returns their ids. pg_cron absent
/// or unreadable: nothing to remove.
pub async fn remove(
    main: &Client,
    connector: &Connector,
    schema: &str,
    name: &str,
) -> Result<Vec<i64>, String> {
    let Ok(pgcron) = PgCron::locate(main, connector).await else {
        return Ok(Vec::new());
    };
    let cron = pgcron.client(main);
    let jobs = read_jobs(cron, &pgcron.located.shown_database)
        .await
        .map_err(|e| one_line(&e))?;
    submit::remove(cron, &jobs, schema, name).await
}

/// `schedule rm` for both engines: mvtop's schedule and mvtop's pg_cron job.
pub async fn remove_everywhere(
    main: &Client,
    connector: &Connector,
    ledger: &Ledger,
    schema: &str,
    name: &str,
) -> Result<String, String> {
    let qualified = crate::catalog::ident::display_qualified(schema, name);
    let jobs = remove(main, connector, schema, name).await?;
    let own = crate::schedule::edit::remove(main, ledger, schema, name).await;
    match (own, jobs.is_empty()) {
        (Ok(line), true) => Ok(line),
        (Ok(line), false) => Ok(format!("{line}; pg_cron job {} removed", join(&jobs))),
        (Err(_), false) => Ok(format!("{qualified}: pg_cron job {} removed", join(&jobs))),
        (Err(e), true) => Err(e),
    }
}

fn join(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
