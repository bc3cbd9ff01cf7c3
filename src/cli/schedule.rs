//! `mvtop schedule set|list|rm|advise|naming`: the schedules every console and daemon on the
//! database share (stored in the ledger schema).

use chrono::Utc;
use clap::{Args, Subcommand};
use serde::Serialize;

mod list;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session};
use crate::catalog::Inventory;
use crate::catalog::names::resolve_mv;
use crate::format;
use crate::inventory::FetchOptions;
use crate::ledger::Ledger;
use crate::pgcron::Engine;
use crate::refresh::Concurrently;
use crate::schedule::advise::{Advice, AdviceInput, advise_mv};
use crate::schedule::edit;
use crate::schedule::policy::PolicyInput;

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
        ScheduleCommand::List(f) => list::list(&connector, client, ledger, f.format).await,
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
                advice: advise_mv(v, inventory.facts.stats_since, now),
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
