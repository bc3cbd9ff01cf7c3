//! `mvtop history`: recorded refreshes, newest first.

use clap::Args;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session};
use crate::catalog::names::resolve_mv;
use crate::format;
use crate::ledger::{HistoryFilter, Ledger, RefreshRecord};

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Only this MV: `schema.name` or a name unique across schemas, quoted like SQL
    pub name: Option<String>,
    /// Only runs started within this long (e.g. 30m, 2h, 7d)
    #[arg(long, value_parser = format::parse_duration)]
    pub since: Option<std::time::Duration>,
    /// At most this many runs
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &HistoryArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let client = &session.client;
    let has_ledger = ledger.installed_version(client).await?.is_some();
    // The MVs' names are read only when pg_cron is there to need them.
    let located = crate::pgcron::PgCron::locate(client, &connector).await;
    let views = match &located {
        Ok(_) => super::pg_cron::catalog_views(client).await?,
        Err(_) => Vec::new(),
    };
    let cron = super::pg_cron::read_located(client, located, &views).await;
    if let Some(line) = super::pg_cron::note(&cron.view, false) {
        super::say(&format!("mvtop: {line}"));
    }
    if !has_ledger && cron.view.is_err() {
        return Err(Failure::new(format!(
            "no refresh ledger in schema {}: run `mvtop install` to keep a history \
             (PostgreSQL itself records none)",
            ledger.schema()
        )));
    }
    let mv_oid = match &args.name {
        Some(name) => Some(resolve_mv(client, name).await.map_err(Failure::new)?.oid),
        None => None,
    };
    let filter = HistoryFilter {
        mv_oid,
        since: args.since,
        limit: Some(args.limit),
    };
    let runs = if has_ledger {
        ledger.history(client, &filter).await?
    } else {
        super::say(&format!(
            "mvtop: no refresh ledger in schema {}: only pg_cron's runs are shown",
            ledger.schema()
        ));
        Vec::new()
    };
    let runs = super::pg_cron::history(
        runs,
        cron.view.as_ref().ok(),
        &views,
        &filter,
        chrono::Utc::now(),
    );
    let text = match args.format {
        Format::Json => super::output::json(&runs)?,
        Format::Csv => table(&runs, true).to_csv(),
        Format::Table if runs.is_empty() => String::new(),
        Format::Table => table(&runs, false).to_psql(),
    };
    super::list::print_out(&text)
}

fn table(runs: &[RefreshRecord], exact: bool) -> Table {
    let mut t = Table::new(&[
        ("started", Align::Left),
        ("schema", Align::Left),
        ("name", Align::Left),
        ("mode", Align::Left),
        ("duration", Align::Right),
        ("wal", Align::Right),
        ("spill", Align::Right),
        ("blocked", Align::Right),
        ("source", Align::Left),
        ("outcome", Align::Left),
        ("user", Align::Left),
        ("error", Align::Left),
    ]);
    for r in runs {
        let mode = match (r.concurrently, r.with_data) {
            (_, false) => "with no data",
            (true, true) => "concurrently",
            (false, true) => "plain",
        };
        let started = if exact {
            r.started_at.to_rfc3339()
        } else {
            r.started_at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        let duration = match r.duration_ms {
            Some(ms) if exact => ms.to_string(),
            Some(ms) => format::duration_ms(ms),
            None => String::new(),
        };
        let bytes = |b: Option<i64>| match b {
            Some(b) if exact => b.to_string(),
            Some(b) => format::size(b),
            None => String::new(),
        };
        // Sessions and their total wait: `2 / 3.8 s` (CSV: `2/3837.1`).
        let blocked = match (r.cost.blocked_sessions, r.cost.blocked_total_ms) {
            (Some(n), Some(ms)) if exact => format!("{n}/{ms}"),
            (Some(0), _) => "0".to_string(),
            (Some(n), Some(ms)) => format!("{n} / {}", crate::catalog::cost::wait_secs(ms)),
            _ => String::new(),
        };
        t.rows.push(vec![
            started,
            r.schema.clone(),
            r.name.clone(),
            mode.to_string(),
            duration,
            bytes(r.cost.wal_bytes),
            bytes(r.cost.temp_bytes),
            blocked,
            r.source.clone(),
            r.outcome.clone(),
            r.db_user.clone(),
            r.error.clone().unwrap_or_default().replace('\n', " "),
        ]);
    }
    t
}
