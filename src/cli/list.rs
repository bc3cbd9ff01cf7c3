//! `mvtop list`: the inventory for scripts (JSON, CSV) and people (a psql-style table).

use chrono::Utc;
use clap::Args;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session};
use crate::catalog::{self, Inventory, MatView};
use crate::format;
use crate::inventory::FetchOptions;
use crate::ledger::Ledger;

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only MVs in this schema (exact name; an unknown schema is an error)
    #[arg(long)]
    pub schema: Option<String>,
    /// Glob on the name, or on `schema.name` when it contains a dot (`*` and `?`; case-insensitive)
    pub pattern: Option<String>,
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &ListArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let client = &session.client;
    if let Some(schema) = &args.schema
        && !catalog::schema_exists(client, schema).await?
    {
        return Err(Failure::new(format!("schema \"{schema}\" does not exist")));
    }
    // Only JSON carries definitions.
    let with = FetchOptions {
        ledger: ledger.clone(),
        definitions: args.format == Format::Json,
        ..FetchOptions::default()
    };
    let more = async || monitoring_session(&connector).await.ok();
    let mut inventory = Inventory::fetch(client, more, with).await?;
    let cron = super::pg_cron::read(client, &connector, &inventory.views).await;
    let schedules = match &cron.view {
        Ok(view) => {
            let has_ledger = inventory.facts.ledger_installed;
            let standby = inventory.facts.in_recovery;
            let views = &mut inventory.views;
            super::pg_cron::apply_runs(client, ledger, has_ledger, view, views, standby).await?;
            view.schedules(Utc::now())
        }
        Err(_) => Vec::new(),
    };
    if let Some(line) = super::pg_cron::note(&cron.view, false) {
        super::say(&format!("mvtop: note: {line}"));
    }
    let views: Vec<&MatView> = inventory
        .views
        .iter()
        .filter(|v| args.schema.as_ref().is_none_or(|s| &v.schema == s))
        .filter(|v| args.pattern.as_ref().is_none_or(|p| matches_pattern(p, v)))
        .collect();
    let text = match args.format {
        Format::Json => super::output::json(
            &views
                .iter()
                .map(|v| super::pg_cron::listed(v, &schedules))
                .collect::<Vec<_>>(),
        )?,
        Format::Csv => csv_table(&views).to_csv(),
        Format::Table => {
            if views.is_empty() {
                String::new()
            } else {
                for hint in &inventory.hints {
                    super::say(&format!("mvtop: note: {hint}"));
                }
                human_table(&views).to_psql()
            }
        }
    };
    print_out(&text)
}

/// Writes to stdout; a closed pipe (`| head`) ends quietly instead of panicking.
pub(crate) fn print_out(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(format!("could not write output: {e}"))),
    }
}

pub fn matches_pattern(pattern: &str, v: &MatView) -> bool {
    let subject = if pattern.contains('.') {
        format!("{}.{}", v.schema, v.name)
    } else {
        v.name.clone()
    };
    glob_match(&pattern.to_lowercase(), &subject.to_lowercase())
}

/// `*` any run, `?` one character; everything else literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn human_table(views: &[&MatView]) -> Table {
    let now = Utc::now();
    let mut t = Table::new(&[
        ("schema", Align::Left),
        ("name", Align::Left),
        ("owner", Align::Left),
        ("size", Align::Right),
        ("rows", Align::Right),
        ("concurrently", Align::Left),
        ("level", Align::Right),
        ("last refresh", Align::Left),
        ("avg refresh", Align::Right),
        ("refreshes", Align::Right),
        ("status", Align::Left),
    ]);
    for v in views {
        let size = match v.total_bytes {
            Some(b) => format::size(b),
            None if v.size_skipped_locked => "(locked)".into(),
            None => String::new(),
        };
        // The index name is in the JSON; here it would double the table's width.
        let concurrently = match &v.unique_index {
            Some(_) if v.concurrent_ready => "yes",
            Some(_) => "no (unpopulated)",
            None => "no",
        };
        let level = if v.in_cycle {
            format!("{} (cycle)", v.refresh_level)
        } else {
            v.refresh_level.to_string()
        };
        t.rows.push(vec![
            v.schema.clone(),
            v.name.clone(),
            v.owner.clone(),
            size,
            v.rows_estimate.map(format::count).unwrap_or_default(),
            concurrently.to_string(),
            level,
            v.last_refresh
                .map(|at| format::age(at, now))
                .unwrap_or_default(),
            v.avg_refresh_ms
                .map(format::duration_ms)
                .unwrap_or_default(),
            v.refresh_count.map(|c| c.to_string()).unwrap_or_default(),
            v.status.label().to_string(),
        ]);
    }
    t
}

fn csv_table(views: &[&MatView]) -> Table {
    let mut t = Table::new(&[
        ("oid", Align::Right),
        ("schema", Align::Left),
        ("name", Align::Left),
        ("owner", Align::Left),
        ("populated", Align::Left),
        ("total_bytes", Align::Right),
        ("heap_bytes", Align::Right),
        ("index_bytes", Align::Right),
        ("rows_estimate", Align::Right),
        ("concurrent_ready", Align::Left),
        ("unique_index", Align::Left),
        ("depends_on", Align::Left),
        ("upstream_mvs", Align::Left),
        ("downstream_mvs", Align::Left),
        ("refresh_level", Align::Right),
        ("last_refresh", Align::Left),
        ("last_refresh_ms", Align::Right),
        ("avg_refresh_ms", Align::Right),
        ("refresh_count", Align::Right),
        ("refresh_stats_source", Align::Left),
        ("status", Align::Left),
    ]);
    let opt = |v: Option<String>| v.unwrap_or_default();
    for v in views {
        t.rows.push(vec![
            v.oid.to_string(),
            v.schema.clone(),
            v.name.clone(),
            v.owner.clone(),
            v.populated.to_string(),
            opt(v.total_bytes.map(|b| b.to_string())),
            opt(v.heap_bytes.map(|b| b.to_string())),
            opt(v.index_bytes.map(|b| b.to_string())),
            opt(v.rows_estimate.map(|b| b.to_string())),
            v.concurrent_ready.to_string(),
            opt(v.unique_index.clone()),
            // Lossy for a quoted name holding `;`: JSON is the exact format.
            v.depends_on.join(";"),
            v.upstream_mvs.join(";"),
            v.downstream_mvs.join(";"),
            v.refresh_level.to_string(),
            opt(v.last_refresh.map(|t| t.to_rfc3339())),
            opt(v.last_refresh_ms.map(|m| m.to_string())),
            opt(v.avg_refresh_ms.map(|m| m.to_string())),
            opt(v.refresh_count.map(|c| c.to_string())),
            v.refresh_stats_source
                .map(|s| serde_name(&s))
                .unwrap_or_default(),
            serde_name(&v.status),
        ]);
    }
    t
}

/// The snake_case name serde gives an enum variant.
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*_daily", "pipeline_stats_daily"));
        assert!(glob_match("b?ilds*", "builds_hourly"));
        assert!(!glob_match("*_daily", "builds_hourly"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("abc", "abcd"));
    }
}
