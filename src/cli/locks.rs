//! `mvtop locks`: every session waiting for a lock and who blocks it, for scripts.

use std::time::Duration;

use clap::Args;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session};
use crate::catalog::locks::{WaitReport, wait_reports};
use crate::catalog::sessions::{self, Sessions};
use crate::format;

#[derive(Debug, Clone, Args)]
pub struct LocksArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print a snapshot every DUR until interrupted (e.g. 2s); JSON then prints one array
    /// per line
    #[arg(long, value_parser = format::parse_duration)]
    pub watch: Option<Duration>,
}

/// Query text in the table (the JSON has it whole).
const QUERY_WIDTH: usize = 60;

pub async fn run(conn: &ConnArgs, args: &LocksArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let client = &session.client;
    let mut statement = sessions::prepare(client).await?;
    loop {
        let waits = wait_reports(&Sessions::fetch(client, &mut statement).await?);
        let text = match args.format {
            Format::Json if args.watch.is_some() => {
                let mut s = serde_json::to_string(&waits).map_err(json_error)?;
                s.push('\n');
                s
            }
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&waits).map_err(json_error)?;
                s.push('\n');
                s
            }
            Format::Csv => table(&waits, true).to_csv(),
            Format::Table if args.watch.is_some() => format!(
                "{}\n{}\n",
                chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
                table(&waits, false).to_psql()
            ),
            Format::Table => table(&waits, false).to_psql(),
        };
        super::list::print_out(&text)?;
        match args.watch {
            Some(every) => tokio::time::sleep(every).await,
            None => return Ok(()),
        }
    }
}

fn json_error(e: serde_json::Error) -> Failure {
    Failure::new(format!("could not encode JSON: {e}"))
}

/// One row per (waiter, blocker): who waits, on what, behind whom.
fn table(waits: &[WaitReport], exact: bool) -> Table {
    let mut t = Table::new(&[
        ("pid", Align::Right),
        ("user", Align::Left),
        ("application", Align::Left),
        ("waits on", Align::Left),
        ("mode", Align::Left),
        ("waited", Align::Right),
        ("blocked by", Align::Right),
        ("blocker state", Align::Left),
        ("blocker xact", Align::Right),
        ("blocker holds", Align::Left),
        ("query", Align::Left),
    ]);
    let ms = |v: f64| {
        if exact {
            format!("{v:.0}")
        } else {
            format::duration_ms(v)
        }
    };
    for w in waits {
        let target = match (&w.wait_relation, w.wait_locktype.as_str()) {
            (Some(r), "relation") => r.clone(),
            (Some(r), _) => format!("{r} ({})", w.wait_object),
            (None, _) => w.wait_object.clone(),
        };
        let target = if w.wait_on_mv {
            format!("{target} [MV]")
        } else {
            target
        };
        let waited = format!(
            "{}{}",
            if w.waiting_estimated { "~" } else { "" },
            ms(w.waiting_ms)
        );
        let query = one_line(&w.query, if exact { usize::MAX } else { QUERY_WIDTH });
        let blockers: Vec<Option<&crate::catalog::locks::BlockerReport>> =
            if w.blocked_by.is_empty() {
                vec![None]
            } else {
                w.blocked_by.iter().map(Some).collect()
            };
        for b in blockers {
            let (pid, state, xact, holds) = match b {
                Some(b) => (
                    b.pid.to_string(),
                    b.state.clone().unwrap_or_default(),
                    b.xact_age_ms.map(ms).unwrap_or_default(),
                    if b.holds_modes.is_empty() {
                        "nothing yet (queued ahead)".to_string()
                    } else {
                        b.holds_modes.join(",")
                    },
                ),
                None => Default::default(),
            };
            t.rows.push(vec![
                w.pid.to_string(),
                w.user.clone().unwrap_or_default(),
                w.application.clone(),
                target.clone(),
                w.wait_mode.clone(),
                waited.clone(),
                pid,
                state,
                xact,
                holds,
                query.clone(),
            ]);
        }
    }
    t
}

/// The text on one line, cut to `width` characters with an ellipsis.
pub fn one_line(text: &str, width: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= width {
        flat
    } else {
        let cut: String = flat.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
