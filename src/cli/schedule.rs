//! `mvtop schedule set|list|rm|advise|naming`: the schedules every console and daemon on the
//! database share (stored in the ledger schema).

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session};
use crate::catalog::names::resolve_mv;
use crate::catalog::writes::{table_writes, writes_of};
use crate::catalog::{Inventory, MatView};
use crate::format;
use crate::inventory::FetchOptions;
use crate::ledger::Ledger;
use crate::pgcron::{CronSchedule, Engine};
use crate::refresh::Concurrently;
use crate::schedule::Schedule;
use crate::schedule::advise::{Advice, AdviceInput, advise};
use crate::schedule::edit;
use crate::schedule::policy::{PolicyInput, PolicyJson};

#[derive(Debug, Clone, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ScheduleCommand {
    /// Create or replace the schedule of one MV
    Set(SetArgs),
    /// Every schedule, with its next run
    List(FormatArgs),
    /// Remove the schedule of one MV
    Rm {
        /// `schema.name` or a name unique across schemas, quoted like SQL
        name: String,
    },
    /// A refresh strategy per MV, from its refresh time and its base tables' write rate
    Advise(AdviseArgs),
    /// The naming convention: MVs named *_hourly, *_daily, *_weekly refresh accordingly
    Naming(NamingArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SetArgs {
    /// `schema.name` or a name unique across schemas, quoted like SQL
    pub name: String,
    /// A cron expression: 5 fields, or 6 with seconds first (e.g. '*/15 * * * *')
    #[arg(long)]
    pub cron: Option<String>,
    /// Time zone of --cron and --window (default: the server's TimeZone)
    #[arg(long)]
    pub tz: Option<String>,
    /// A fixed interval (e.g. 15m, 1h30m)
    #[arg(long)]
    pub every: Option<String>,
    /// Refresh when its base tables were written and writes have gone quiet
    #[arg(long)]
    pub on_change: bool,
    /// With --on-change: how long writes must be quiet first (default 2m)
    #[arg(long)]
    pub quiet: Option<String>,
    /// With --on-change: refresh anyway once stale this long (default 1h)
    #[arg(long)]
    pub max_stale: Option<String>,
    /// Only refresh within these hours, e.g. 01:00-05:00 (may wrap midnight)
    #[arg(long)]
    pub window: Option<String>,
    #[arg(long, value_enum, default_value = "auto")]
    pub concurrently: Concurrently,
    /// Who runs it: mvtop's scheduler, or a pg_cron job (no mvtop process needed; --cron, or
    /// an --every pg_cron can run exactly)
    #[arg(long, value_enum, default_value = "mvtop")]
    pub engine: Engine,
}

#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Args)]
pub struct AdviseArgs {
    /// Only this MV
    pub name: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Clone, Args)]
pub struct NamingArgs {
    #[arg(value_parser = ["on", "off"])]
    pub state: String,
    /// Time zone the convention's hours are in (default: the server's TimeZone)
    #[arg(long)]
    pub tz: Option<String>,
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &ScheduleArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let client = &session.client;
    if !matches!(args.command, ScheduleCommand::Advise(_)) {
        ledger.require_current(client).await.map_err(Failure::new)?;
    }
    match &args.command {
        ScheduleCommand::Set(set) => set_schedule(&connector, client, ledger, set).await,
        ScheduleCommand::List(f) => list(&connector, client, ledger, f.format).await,
        ScheduleCommand::Rm { name } => {
            let mv = resolve_mv(client, name).await.map_err(Failure::new)?;
            let line = crate::pgcron::hand_over::remove_everywhere(
                client, &connector, ledger, &mv.schema, &mv.name,
            )
            .await
            .map_err(Failure::new)?;
            super::say(&line);
            Ok(())
        }
        ScheduleCommand::Advise(a) => advise_all(&connector, client, ledger, a).await,
        ScheduleCommand::Naming(n) => {
            let tz = match (n.state.as_str(), &n.tz) {
                ("off", _) => None,
                (_, Some(tz)) => Some(tz.clone()),
                (_, None) => Some(edit::server_tz(client).await.map_err(Failure::new)?),
            };
            if let Some(tz) = &tz {
                crate::schedule::cron::parse_tz(tz).map_err(Failure::new)?;
            }
            ledger.set_naming_convention(client, tz.as_deref()).await?;
            Ok(())
        }
    }
}

async fn set_schedule(
    connector: &crate::pgconn::Connector,
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    a: &SetArgs,
) -> Result<(), Failure> {
    let input = PolicyInput {
        cron: a.cron.clone(),
        tz: a.tz.clone(),
        every: a.every.clone(),
        on_change: a.on_change,
        quiet: a.quiet.clone(),
        max_stale: a.max_stale.clone(),
        window: a.window.clone(),
    };
    // The flags are checked before the name: a typo in either is named, the flag first
    // (pg_cron's own syntax is checked against the pg_cron the server runs).
    if a.engine == Engine::Mvtop {
        input
            .parse(&edit::server_tz(client).await.map_err(Failure::new)?)
            .map_err(Failure::new)?;
    }
    let named = resolve_mv(client, &a.name).await.map_err(Failure::new)?;
    if a.engine == Engine::PgCron {
        let line = crate::pgcron::hand_over::set(
            client,
            connector,
            ledger,
            named.oid,
            &input,
            a.concurrently,
        )
        .await
        .map_err(Failure::new)?;
        super::say(&line);
        return Ok(());
    }
    edit::set(client, ledger, named.oid, &input, a.concurrently)
        .await
        .map_err(Failure::new)?;
    // Taken back from pg_cron: the job mvtop made for it goes.
    let removed = crate::pgcron::hand_over::remove(client, connector, &named.schema, &named.name)
        .await
        .map_err(Failure::new)?;
    if !removed.is_empty() {
        super::say(&format!(
            "{}: mvtop's pg_cron job {removed:?} removed (mvtop's scheduler runs it now)",
            named.qualified_name
        ));
    }
    Ok(())
}

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

async fn list(
    connector: &crate::pgconn::Connector,
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    format: Format,
) -> Result<(), Failure> {
    let loaded = ledger.schedules(client).await?;
    for p in &loaded.problems {
        super::say(&format!("mvtop: warning: {p}"));
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
    let cron = super::pg_cron::read(client, connector, &views).await;
    if let Some(line) = super::pg_cron::note(&cron.view, true) {
        super::say(&format!("mvtop: {line}"));
    }
    if let Ok(view) = &cron.view {
        for c in view.schedules(now) {
            listed.push(listed_cron(&c, views.iter().find(|v| v.oid == c.mv_oid)));
        }
    }
    flag_doubles(&mut listed);
    let text = match format {
        Format::Json => super::output::json(&listed)?,
        Format::Csv => list_table(&listed, now).to_csv(),
        Format::Table if listed.is_empty() => String::new(),
        Format::Table => list_table(&listed, now).to_psql(),
    };
    super::list::print_out(&text)
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
        qualified_name: crate::catalog::ident::quote_qualified(&s.mv_schema, &s.mv_name),
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

/// Advice for one MV, as `schedule advise` shows it.
#[derive(Debug, Clone, Serialize)]
struct Advised {
    qualified_name: String,
    avg_refresh_ms: Option<f64>,
    writes_per_hour: Option<f64>,
    concurrent_ready: bool,
    #[serde(flatten)]
    advice: Advice,
}

async fn advise_all(
    connector: &crate::pgconn::Connector,
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    a: &AdviseArgs,
) -> Result<(), Failure> {
    let only = match &a.name {
        Some(n) => Some(resolve_mv(client, n).await.map_err(Failure::new)?.oid),
        None => None,
    };
    let with = FetchOptions {
        ledger: ledger.clone(),
        definitions: false,
        ..FetchOptions::default()
    };
    let more = async || monitoring_session(connector).await.ok();
    let inventory = Inventory::fetch(client, more, with).await?;
    let now = Utc::now();
    let advised: Vec<Advised> = inventory
        .views
        .iter()
        .filter(|v| only.is_none_or(|o| o == v.oid))
        .map(|v| {
            let input = AdviceInput::of(v, inventory.facts.stats_since, now);
            Advised {
                qualified_name: v.qualified_name.clone(),
                avg_refresh_ms: v.avg_refresh_ms,
                writes_per_hour: input.writes_per_hour.map(|w| w.round()),
                concurrent_ready: v.concurrent_ready,
                advice: advise(&input),
            }
        })
        .collect();
    let text = match a.format {
        Format::Json => super::output::json(&advised)?,
        _ => {
            let mut t = Table::new(&[
                ("name", Align::Left),
                ("avg refresh", Align::Right),
                ("writes/h", Align::Right),
                ("tier", Align::Left),
                ("suggest", Align::Left),
                ("why", Align::Left),
            ]);
            for r in &advised {
                let mut why = r.advice.why.clone();
                for n in &r.advice.notes {
                    why.push_str("; ");
                    why.push_str(n);
                }
                t.rows.push(vec![
                    r.qualified_name.clone(),
                    r.avg_refresh_ms
                        .map(format::duration_ms)
                        .unwrap_or_default(),
                    r.writes_per_hour
                        .map(|w| format::count(w as i64))
                        .unwrap_or_default(),
                    r.advice.tier.to_string(),
                    r.advice.suggest.clone().unwrap_or_default(),
                    why,
                ]);
            }
            if a.format == Format::Csv {
                t.to_csv()
            } else if advised.is_empty() {
                String::new()
            } else {
                t.to_psql()
            }
        }
    };
    super::list::print_out(&text)
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
