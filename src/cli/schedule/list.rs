//! `mvtop schedule list`: mvtop's schedules and pg_cron's refresh jobs side by side, each
//! with its next run and state, and the MVs that both refresh.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::writes::{table_writes, writes_of};
use crate::catalog::{Inventory, MatView};
use crate::cli::Failure;
use crate::cli::output::{Align, Format, Table};
use crate::format;
use crate::ledger::Ledger;
use crate::pgcron::{CronSchedule, Engine};
use crate::refresh::Concurrently;
use crate::schedule::Schedule;
use crate::schedule::policy::PolicyJson;

/// One schedule as `schedule list` shows it.
#[derive(Debug, Clone, Serialize)]
struct Listed {
    schema: String,
    name: String,
    qualified_name: String,
    policy: PolicyJson,
    description: String,
    window: Option<String>,
    concurrently: Concurrently,
    from_naming: bool,
    last_due: Option<DateTime<Utc>>,
    /// None: waits for writes, runs now, or the MV is gone.
    next_run: Option<DateTime<Utc>>,
    state: String,
    /// Change-driven only: its base tables were written since its last run.
    stale: Option<bool>,
    mv_exists: bool,
    /// `mvtop` (its scheduler) or `pg_cron` (a job of the server's).
    engine: Engine,
    /// pg_cron only: the job.
    jobid: Option<i64>,
    jobname: Option<String>,
    /// pg_cron's `cron.job.active`; mvtop's schedules are always active.
    active: bool,
    /// pg_cron: the job's user; mvtop: the ledger's owner runs it (not known here).
    owner: Option<String>,
    /// pg_cron: its schedule text, and `refresh`, `ledger` or `may_refresh`.
    pg_cron: Option<CronSchedule>,
    /// The other schedules of the same MV (another engine or job): it is refreshed by both.
    also_scheduled_by: Vec<String>,
}

pub(super) async fn list(
    connector: &crate::pgconn::Connector,
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    format: Format,
) -> Result<(), Failure> {
    let loaded = ledger.schedules(client).await?;
    for p in &loaded.problems {
        crate::cli::say(&format!("mvtop: warning: {p}"));
    }
    let mut views = Inventory::catalog_only(client).await?;
    let tables: Vec<u32> = views.iter().flat_map(|v| v.base_tables.clone()).collect();
    let writes = table_writes(client, &tables).await?;
    for v in &mut views {
        v.base_writes = writes_of(&v.base_tables, &writes);
    }
    let now = Utc::now();
    let mut listed: Vec<Listed> = loaded
        .schedules
        .iter()
        .map(|s| {
            listed(
                s,
                views
                    .iter()
                    .find(|v| v.schema == s.mv_schema && v.name == s.mv_name),
                now,
            )
        })
        .collect();
    let cron = crate::cli::pg_cron::read(client, connector, &views).await;
    if let Some(line) = crate::cli::pg_cron::note(&cron.view, true) {
        crate::cli::say(&format!("mvtop: {line}"));
    }
    if let Ok(view) = &cron.view {
        for c in view.schedules(now) {
            listed.push(listed_cron(&c, views.iter().find(|v| v.oid == c.mv_oid)));
        }
    }
    flag_doubles(&mut listed);
    let text = match format {
        Format::Json => crate::cli::output::json(&listed)?,
        Format::Csv => list_table(&listed, now).to_csv(),
        Format::Table if listed.is_empty() => String::new(),
        Format::Table => list_table(&listed, now).to_psql(),
    };
    crate::cli::list::print_out(&text)
}

/// One mvtop schedule's row; `view.base_writes` holds its base tables' counters now.
fn listed(s: &Schedule, view: Option<&MatView>, now: DateTime<Utc>) -> Listed {
    let (next_run, state, stale) = match view {
        None => (None, "the MV does not exist".to_string(), None),
        Some(v) => {
            let up = crate::schedule::next_run(s, v, now);
            (up.next.instant(now), up.why, up.stale)
        }
    };
    Listed {
        schema: s.mv_schema.clone(),
        name: s.mv_name.clone(),
        qualified_name: crate::catalog::ident::display_qualified(&s.mv_schema, &s.mv_name),
        policy: PolicyJson::from(&s.policy),
        description: s.policy.describe(),
        window: s.window.map(|w| w.describe()),
        concurrently: s.concurrently,
        from_naming: s.from_naming,
        last_due: s.last_due,
        next_run,
        state,
        stale,
        mv_exists: view.is_some(),
        engine: Engine::Mvtop,
        jobid: None,
        jobname: None,
        active: true,
        owner: None,
        pg_cron: None,
        also_scheduled_by: Vec::new(),
    }
}

/// A pg_cron job's refresh of one MV, as `schedule list` shows it.
fn listed_cron(c: &CronSchedule, view: Option<&MatView>) -> Listed {
    let (schema, name, qualified) = view
        .map(|v| (v.schema.clone(), v.name.clone(), v.qualified_name.clone()))
        .unwrap_or_default();
    let state = match (&c.how, c.last_status.as_deref()) {
        (crate::pgcron::jobs::How::MayRefresh, _) => {
            "may refresh it: the job calls a function or DO block that names it".to_string()
        }
        (_, Some("failed")) => format!(
            "last run failed: {}",
            c.last_message
                .clone()
                .unwrap_or_default()
                .replace('\n', " ")
        ),
        (_, Some(s)) => format!("last run {s}"),
        (_, None) => "no run seen".into(),
    };
    Listed {
        schema,
        name,
        qualified_name: qualified,
        policy: PolicyJson {
            kind: "pg_cron",
            cron: Some(c.schedule.clone()),
            tz: Some(c.timezone.clone()),
            every_ms: None,
            quiet_ms: None,
            max_stale_ms: None,
        },
        description: format!("pg_cron '{}'", c.schedule),
        window: None,
        concurrently: match &c.how {
            crate::pgcron::jobs::How::Ledger { concurrently } if concurrently == "always" => {
                Concurrently::Always
            }
            crate::pgcron::jobs::How::Ledger { concurrently } if concurrently == "never" => {
                Concurrently::Never
            }
            crate::pgcron::jobs::How::Refresh {
                concurrently: true, ..
            } => Concurrently::Always,
            crate::pgcron::jobs::How::Refresh { .. } => Concurrently::Never,
            _ => Concurrently::Auto,
        },
        from_naming: false,
        last_due: c.last_start,
        next_run: c.next_run,
        state,
        stale: None,
        mv_exists: view.is_some(),
        engine: Engine::PgCron,
        jobid: Some(c.jobid),
        jobname: c.jobname.clone(),
        active: c.active,
        owner: Some(c.owner.clone()),
        pg_cron: Some(c.clone()),
        also_scheduled_by: Vec::new(),
    }
}

/// Each MV's other schedules, for the flag on every one of them.
fn flag_doubles(rows: &mut [Listed]) {
    let labels: Vec<((String, String), String)> = rows
        .iter()
        .map(|r| {
            let who = match r.jobid {
                Some(id) => format!("pg_cron job {id}"),
                None => "mvtop".to_string(),
            };
            ((r.schema.clone(), r.name.clone()), who)
        })
        .collect();
    for (i, r) in rows.iter_mut().enumerate() {
        let me = (r.schema.clone(), r.name.clone());
        r.also_scheduled_by = labels
            .iter()
            .enumerate()
            .filter(|(j, (mv, _))| *j != i && *mv == me && r.mv_exists)
            .map(|(_, (_, who))| who.clone())
            .collect();
    }
}

fn list_table(rows: &[Listed], now: DateTime<Utc>) -> Table {
    let mut t = Table::new(&[
        ("name", Align::Left),
        ("engine", Align::Left),
        ("job", Align::Left),
        ("owner", Align::Left),
        ("policy", Align::Left),
        ("window", Align::Left),
        ("concurrently", Align::Left),
        ("last run", Align::Right),
        ("next run", Align::Left),
        ("state", Align::Left),
    ]);
    for r in rows {
        let origin = if r.from_naming { " (naming)" } else { "" };
        let mut state = r.state.clone();
        if !r.active {
            state = format!("inactive; {state}");
        }
        if !r.also_scheduled_by.is_empty() {
            state = format!(
                "ALSO scheduled by {}; {state}",
                r.also_scheduled_by.join(", ")
            );
        }
        let job = match (r.jobid, &r.jobname) {
            (Some(id), Some(n)) => format!("{id} {n}"),
            (Some(id), None) => id.to_string(),
            _ => String::new(),
        };
        let engine = match r.engine {
            Engine::Mvtop => "mvtop",
            Engine::PgCron => "pg_cron",
        };
        t.rows.push(vec![
            r.qualified_name.clone(),
            engine.into(),
            job,
            r.owner.clone().unwrap_or_default(),
            format!("{}{origin}", r.description),
            r.window.clone().unwrap_or_default(),
            format!("{:?}", r.concurrently).to_lowercase(),
            r.last_due.map(|d| format::age(d, now)).unwrap_or_default(),
            r.next_run
                .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .or_else(|| r.pg_cron.as_ref().map(|c| c.next_run_text.clone()))
                .unwrap_or_default(),
            state,
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::schedule::Policy;
    use crate::tui::schedules::{NextRun, ScheduleBook};

    fn schedule(policy: Policy, base_writes: Option<i64>) -> Schedule {
        Schedule {
            mv_schema: "public".into(),
            mv_name: "m".into(),
            policy,
            window: None,
            concurrently: Concurrently::Auto,
            from_naming: false,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            last_due: Some(Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap()),
            base_writes,
        }
    }

    /// The MV reads table 100, written `writes` times so far.
    fn mv(writes: i64, running: bool) -> MatView {
        let mut v = MatView::named(1, "public".into(), "m".into(), "public.m".into());
        v.base_tables = vec![100];
        v.base_writes = Some(writes);
        if running {
            v.refreshing_pids = vec![42];
        }
        v
    }

    /// The console's next run and the CLI's listed one say the same: the same instant, the
    /// same staleness, both "running" while it refreshes.
    #[test]
    fn console_and_cli_agree_on_the_next_run() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 1, 5, 0).unwrap();
        let on_change = Policy::OnChange {
            quiet: Duration::from_secs(120),
            max_stale: Duration::from_secs(3600),
        };
        let cases = [
            (
                "every, idle",
                schedule(Policy::Every(Duration::from_secs(600)), None),
                mv(5, false),
            ),
            (
                "on change, writes pending",
                schedule(on_change.clone(), Some(10)),
                mv(12, false),
            ),
            (
                "on change, no writes",
                schedule(on_change.clone(), Some(10)),
                mv(10, false),
            ),
            (
                "on change, refreshing",
                schedule(on_change, Some(10)),
                mv(10, true),
            ),
        ];
        for (case, s, v) in cases {
            let mut book = ScheduleBook::default();
            book.set_rows(vec![s.clone()]);
            let console = book.own_next_run(&v, now).unwrap();
            let cli = listed(&s, Some(&v), now);
            let console_at = match console {
                NextRun::At(t) => Some(t),
                NextRun::Now => Some(now),
                _ => None,
            };
            assert_eq!(console_at, cli.next_run, "{case}: next run");
            assert_eq!(
                console.short(now) == "on quiet",
                cli.stale == Some(true),
                "{case}: console {:?}, CLI {:?} {}",
                console.short(now),
                cli.stale,
                cli.state
            );
            assert_eq!(
                console == NextRun::AfterRunning,
                cli.state == "refreshing now",
                "{case}: console {:?}, CLI {}",
                console.short(now),
                cli.state
            );
        }
    }
}
