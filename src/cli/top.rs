//! `mvtop top`: the statements running now and where the time goes (pg_stat_statements).

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::locks::one_line;
use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session, say};
use crate::catalog::ServerFacts;
use crate::catalog::sessions::{self, Sessions, refresh_target};
use crate::catalog::statements::{self, Counters, PssAccess, PssStatements, StatementStat};
use crate::format;
use crate::ledger::Ledger;

#[derive(Debug, Clone, Args)]
pub struct TopArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Set from the global `--interval` (e.g. 10s): report what happened over it instead
    /// of the totals since the last pg_stat_statements reset.
    #[arg(skip)]
    pub interval: Option<Duration>,
    /// At most this many statements
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Only REFRESH MATERIALIZED VIEW statements
    #[arg(long)]
    pub refresh_only: bool,
}

/// One running statement. Field names are a contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Running {
    pub pid: i32,
    pub user: Option<String>,
    pub application: String,
    pub client_addr: Option<String>,
    pub database: Option<String>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub elapsed_ms: Option<f64>,
    pub xact_age_ms: Option<f64>,
    pub query: String,
    /// The MV, when it is a REFRESH.
    pub refresh_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopReport {
    /// Null: the statements' figures are totals since the last reset.
    pub interval_ms: Option<u64>,
    pub running: Vec<Running>,
    pub statements: Vec<StatementStat>,
    /// Why there are no statement figures, and what to do about it.
    pub statements_unavailable: Option<String>,
    /// A limit on what is shown (e.g. only this role's statements).
    pub statements_note: Option<String>,
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &TopArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let client = &session.client;
    let report = report(client, ledger, args).await?;
    for line in [&report.statements_unavailable, &report.statements_note]
        .into_iter()
        .flatten()
    {
        say(&format!("mvtop: note: {line}"));
    }
    let text = match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::new(format!("could not encode JSON: {e}")))?;
            s.push('\n');
            s
        }
        Format::Csv => format!(
            "{}\n{}",
            running_table(&report.running, true).to_csv(),
            statements_table(&report, true).to_csv()
        ),
        Format::Table => {
            let mut s = format!(
                "Running statements\n{}",
                running_table(&report.running, false).to_psql()
            );
            if report.statements_unavailable.is_none() {
                let over = match report.interval_ms {
                    Some(ms) => format!("over the last {}", format::duration_ms(ms as f64)),
                    None => "since the last pg_stat_statements reset".into(),
                };
                s.push_str(&format!(
                    "\nTop statements by total time, {over}\n{}",
                    statements_table(&report, false).to_psql()
                ));
            }
            s
        }
    };
    super::list::print_out(&text)
}

pub async fn report(
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    args: &TopArgs,
) -> Result<TopReport, Failure> {
    let facts = ServerFacts::fetch(client, ledger).await?;
    let (mut unavailable, mut note, mut prepared) = (None, None, None);
    match statements::access(&facts) {
        PssAccess::Unavailable(why) => unavailable = Some(why),
        PssAccess::Usable { source, note: n } => {
            note = n;
            match PssStatements::prepare(client, &source).await {
                Ok(p) => prepared = Some(p),
                Err(e) => unavailable = Some(statements::error_line(&e)),
            }
        }
    }
    let mut counters = Counters::default();
    if let Some(p) = &prepared {
        match p.counters(client).await {
            Ok(c) => counters = c,
            Err(e) => {
                unavailable = Some(statements::error_line(&e));
                prepared = None;
            }
        }
    }
    let mut statement = sessions::prepare(client).await?;
    let seconds = match (args.interval, &prepared) {
        (Some(every), Some(p)) => {
            tokio::time::sleep(every).await;
            let after = p
                .counters(client)
                .await
                .map_err(|e| Failure::new(statements::error_line(&e)))?;
            counters = after.since(&counters);
            Some(every.as_secs_f64())
        }
        (Some(every), None) => {
            tokio::time::sleep(every).await;
            Some(every.as_secs_f64())
        }
        _ => None,
    };
    let sessions = Sessions::fetch(client, &mut statement).await?;
    let running = sessions
        .rows
        .iter()
        .filter(|r| r.is_running())
        .map(|r| Running {
            pid: r.pid,
            user: r.user.clone(),
            application: r.application.clone(),
            client_addr: r.client_addr.clone(),
            database: r.database.clone(),
            state: r.state.clone(),
            wait_event_type: r.wait_event_type.clone(),
            wait_event: r.wait_event.clone(),
            elapsed_ms: r.elapsed_ms,
            xact_age_ms: r.xact_age_ms,
            query: r.query.clone(),
            refresh_of: refresh_target(&r.query),
        })
        .collect();
    let statements = match &prepared {
        Some(p) => {
            // Texts are read for the heaviest entries only; the REFRESH filter needs them all.
            let wanted = if args.refresh_only {
                counters.by_query.keys().copied().collect()
            } else {
                statements::heaviest(&counters, args.limit)
            };
            // The counters come from the function, the texts from the view: a role may be
            // allowed the one and not the other (REVOKE on the view).
            match p.texts(client, &wanted).await {
                Ok(texts) => {
                    statements::top(&counters, &texts, seconds, args.limit, args.refresh_only)
                }
                Err(e) => {
                    unavailable = Some(statements::error_line(&e));
                    Vec::new()
                }
            }
        }
        None => Vec::new(),
    };
    Ok(TopReport {
        interval_ms: args.interval.map(|d| d.as_millis() as u64),
        running,
        statements,
        statements_unavailable: unavailable,
        statements_note: note,
    })
}

fn running_table(running: &[Running], exact: bool) -> Table {
    let mut t = Table::new(&[
        ("pid", Align::Right),
        ("user", Align::Left),
        ("application", Align::Left),
        ("state", Align::Left),
        ("wait event", Align::Left),
        ("elapsed", Align::Right),
        ("refresh of", Align::Left),
        ("query", Align::Left),
    ]);
    for r in running {
        let wait = match (&r.wait_event_type, &r.wait_event) {
            (Some(t), Some(e)) => format!("{t}:{e}"),
            _ => String::new(),
        };
        let elapsed = match r.elapsed_ms {
            Some(ms) if exact => format!("{ms:.0}"),
            Some(ms) => format::duration_ms(ms),
            None => String::new(),
        };
        t.rows.push(vec![
            r.pid.to_string(),
            r.user.clone().unwrap_or_default(),
            r.application.clone(),
            r.state.clone().unwrap_or_default(),
            wait,
            elapsed,
            r.refresh_of.clone().unwrap_or_default(),
            one_line(&r.query, if exact { usize::MAX } else { 60 }),
        ]);
    }
    t
}

fn statements_table(report: &TopReport, exact: bool) -> Table {
    let mut t = Table::new(&[
        ("queryid", Align::Right),
        ("calls", Align::Right),
        ("calls/s", Align::Right),
        ("total", Align::Right),
        ("mean", Align::Right),
        ("share", Align::Right),
        ("rows", Align::Right),
        ("query", Align::Left),
    ]);
    let ms = |v: f64| {
        if exact {
            format!("{v:.3}")
        } else {
            format::duration_ms(v)
        }
    };
    for s in &report.statements {
        t.rows.push(vec![
            s.queryid.to_string(),
            s.calls.to_string(),
            s.calls_per_s.map(|c| format!("{c:.1}")).unwrap_or_default(),
            ms(s.total_ms),
            ms(s.mean_ms),
            format!("{:.1}%", s.share * 100.0),
            s.rows.to_string(),
            one_line(&s.query, if exact { usize::MAX } else { 60 }),
        ]);
    }
    t
}
