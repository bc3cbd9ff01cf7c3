//! `mvtop schedule set|list|rm|advise|naming`: the schedules every console and daemon on the
//! database share (stored in the ledger schema).

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session};
use crate::catalog::names::resolve_mv;
use crate::catalog::writes::{table_writes, writes_of};
use crate::catalog::{FetchOptions, Inventory, MatView};
use crate::format;
use crate::ledger::Ledger;
use crate::refresh::Concurrently;
use crate::schedule::advise::{Advice, AdviceInput, advise};
use crate::schedule::edit;
use crate::schedule::policy::{PolicyInput, PolicyJson};
use crate::schedule::{Decision, Observed, Policy, Schedule, decide};

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
        require_ledger(client, ledger).await?;
    }
    match &args.command {
        ScheduleCommand::Set(set) => set_schedule(client, ledger, set).await,
        ScheduleCommand::List(f) => list(client, ledger, f.format).await,
        ScheduleCommand::Rm { name } => {
            let mv = resolve_mv(client, name).await.map_err(Failure::new)?;
            edit::remove(client, ledger, &mv.schema, &mv.name)
                .await
                .map(|_| ())
                .map_err(Failure::new)
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

async fn require_ledger(client: &tokio_postgres::Client, ledger: &Ledger) -> Result<(), Failure> {
    let version = ledger.installed_version(client).await?;
    match version {
        Some(v) if v >= crate::ledger::LATEST_VERSION => Ok(()),
        Some(_) => Err(Failure::new(format!(
            "the ledger in schema {} is of an older version without schedules: run `mvtop install` to upgrade it",
            ledger.schema()
        ))),
        None => Err(Failure::new(format!(
            "schedules are kept in the refresh ledger, and there is none in schema {}: run `mvtop install` first",
            ledger.schema()
        ))),
    }
}

async fn set_schedule(
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
    // The flags are checked before the name: a typo in either is named, the flag first.
    input
        .parse(&edit::server_tz(client).await.map_err(Failure::new)?)
        .map_err(Failure::new)?;
    let named = resolve_mv(client, &a.name).await.map_err(Failure::new)?;
    edit::set(client, ledger, named.oid, &input, a.concurrently)
        .await
        .map(|_| ())
        .map_err(Failure::new)
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
}

async fn list(
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    format: Format,
) -> Result<(), Failure> {
    let loaded = ledger.schedules(client).await?;
    for p in &loaded.problems {
        super::say(&format!("mvtop: warning: {p}"));
    }
    let views = Inventory::catalog_only(client).await?;
    let tables: Vec<u32> = views.iter().flat_map(|v| v.base_tables.clone()).collect();
    let writes = table_writes(client, &tables).await?;
    let now = Utc::now();
    let listed: Vec<Listed> = loaded
        .schedules
        .iter()
        .map(|s| {
            listed(
                s,
                views
                    .iter()
                    .find(|v| v.schema == s.mv_schema && v.name == s.mv_name),
                &writes,
                now,
            )
        })
        .collect();
    let text = match format {
        Format::Json => super::output::json(&listed)?,
        Format::Csv => list_table(&listed, now).to_csv(),
        Format::Table if listed.is_empty() => String::new(),
        Format::Table => list_table(&listed, now).to_psql(),
    };
    super::list::print_out(&text)
}

fn listed(
    s: &Schedule,
    view: Option<&MatView>,
    writes: &crate::catalog::writes::TableWrites,
    now: DateTime<Utc>,
) -> Listed {
    let stale = match (&s.policy, view) {
        (Policy::OnChange { .. }, Some(v)) => {
            let now_writes = writes_of(&v.base_tables, writes);
            Some(now_writes.is_some() && now_writes != s.base_writes)
        }
        _ => None,
    };
    let (next_run, state) = match view {
        None => (None, "the MV does not exist".to_string()),
        Some(v) => {
            let observed = Observed {
                running: !v.refreshing_pids.is_empty(),
                changes: None,
            };
            match decide(s, &observed, now) {
                Decision::Due { .. } => (Some(now), "due now".into()),
                Decision::Wait { next, why } => match (&s.policy, stale) {
                    (Policy::OnChange { .. }, Some(true)) => {
                        (None, "stale: waits for writes to go quiet".into())
                    }
                    (Policy::OnChange { .. }, _) => (None, "fresh: waits for writes".into()),
                    _ => (next, why.to_string()),
                },
            }
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
    }
}

fn list_table(rows: &[Listed], now: DateTime<Utc>) -> Table {
    let mut t = Table::new(&[
        ("name", Align::Left),
        ("policy", Align::Left),
        ("window", Align::Left),
        ("concurrently", Align::Left),
        ("last run", Align::Right),
        ("next run", Align::Left),
        ("state", Align::Left),
    ]);
    for r in rows {
        let origin = if r.from_naming { " (naming)" } else { "" };
        t.rows.push(vec![
            r.qualified_name.clone(),
            format!("{}{origin}", r.description),
            r.window.clone().unwrap_or_default(),
            format!("{:?}", r.concurrently).to_lowercase(),
            r.last_due.map(|d| format::age(d, now)).unwrap_or_default(),
            r.next_run
                .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            r.state.clone(),
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
    // Counters run since the last statistics reset (or, never reset, since the server started).
    let hours: f64 = client
        .query_one(
            "SELECT extract(epoch FROM now() - coalesce(
                 (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                 pg_postmaster_start_time()))::float8 / 3600.0",
            &[],
        )
        .await?
        .get::<_, f64>(0)
        .max(1.0 / 60.0);
    let advised: Vec<Advised> = inventory
        .views
        .iter()
        .filter(|v| only.is_none_or(|o| o == v.oid))
        .map(|v| {
            let writes_per_hour = v.base_writes.map(|w| w as f64 / hours);
            let input = AdviceInput {
                avg_refresh_ms: v.avg_refresh_ms,
                writes_per_hour,
                concurrent_ready: v.concurrent_ready || !v.populated && v.unique_index.is_some(),
                populated: v.populated,
            };
            Advised {
                qualified_name: v.qualified_name.clone(),
                avg_refresh_ms: v.avg_refresh_ms,
                writes_per_hour: writes_per_hour.map(|w| w.round()),
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
