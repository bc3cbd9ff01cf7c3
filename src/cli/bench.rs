//! `mvtop bench`: a view against its materialized view, and what it means.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session, say};
use crate::bench::{self, BenchError, BenchReport, Kind, Options, Progress, RefreshPlan};
use crate::catalog::Inventory;
use crate::format::{parse_duration, precise_ms};
use crate::inventory::FetchOptions;
use crate::ledger::Ledger;
use crate::refresh::{CancelHandle, Concurrently, JobSpec, Limits, Source, Target, choose_mode};

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The MV (or a plain view: measured through a temporary MV that is rolled back),
    /// `schema.name` or a name unique across schemas, quoted like SQL where needed
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Measured rounds (each reads the view and the MV, alternating which goes first)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: u32,
    /// Rounds run first and not counted
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Also refresh the MV once per round, through the refresh engine (changes the
    /// database; recorded in the ledger)
    #[arg(long)]
    pub with_refresh: bool,
    /// With --with-refresh: CONCURRENTLY or not
    #[arg(long, value_enum, default_value = "auto")]
    pub concurrently: Concurrently,
    /// Your own read, with {} where the view or MV goes, e.g.
    /// 'SELECT * FROM {} WHERE project_id = 42'
    #[arg(long, value_name = "SQL")]
    pub query: Option<String>,
    /// Longest time of any one statement
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub timeout: Duration,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &BenchArgs) -> Result<(), Failure> {
    if args.format == Format::Csv {
        return Err(Failure::new("mvtop bench prints --format table or json"));
    }
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let subject = bench::resolve(&session.client, &args.name)
        .await
        .map_err(Failure::new)?;
    if args.with_refresh && subject.kind == Kind::View {
        say(
            "mvtop: note: a plain view's temporary MV is always refreshed; --with-refresh changes nothing",
        );
    }
    let mut refresh = None;
    let mut history_ms = None;
    let mut recording = None;
    if subject.kind == Kind::MaterializedView {
        let with = FetchOptions {
            ledger: ledger.clone(),
            definitions: false,
            ..FetchOptions::default()
        };
        let inventory = Inventory::fetch(&session.client, async || None, with).await?;
        let mv = inventory
            .views
            .iter()
            .find(|v| v.oid == subject.oid)
            .ok_or_else(|| Failure::new(format!("{} no longer exists", subject.qualified_name)))?;
        history_ms = mv.avg_refresh_ms;
        if inventory.facts.ledger_installed {
            recording = Some(ledger.clone());
        }
        if args.with_refresh {
            if inventory.facts.in_recovery {
                return Err(Failure::new(
                    "the server is a standby (in recovery): --with-refresh is impossible here",
                ));
            }
            let target = Target::from(mv);
            let mode = choose_mode(&target, args.concurrently, true).map_err(Failure::new)?;
            if recording.is_none() {
                say(&format!(
                    "mvtop: note: no refresh ledger in schema {}: the benchmark's refreshes are not kept",
                    ledger.schema()
                ));
            }
            refresh = Some(RefreshPlan {
                spec: JobSpec {
                    target,
                    mode,
                    source: Source::Cli,
                    limits: Limits {
                        statement_timeout: Some(args.timeout),
                        ..Limits::default()
                    },
                },
                ledger: recording.clone(),
            });
        }
    }
    drop(session);
    let options = Options {
        runs: args.runs,
        warmup: args.warmup,
        query: args.query.clone(),
        timeout: args.timeout,
        refresh,
    };
    let (cancel, cancelled) = CancelHandle::new();
    let progress = std::io::stderr().is_terminal();
    let show = move |p: Progress| {
        if progress {
            use std::io::Write;
            let _ = write!(
                std::io::stderr().lock(),
                "\r\x1b[Kbench {}/{} {}",
                p.done,
                p.total,
                p.step
            );
        }
    };
    let work = bench::measure_on_own_thread(
        connector, subject, options, recording, history_ms, cancelled, show,
    );
    tokio::pin!(work);
    // Ctrl-C cancels the statement on the server before mvtop exits.
    let result = tokio::select! {
        r = &mut work => r,
        _ = tokio::signal::ctrl_c() => {
            cancel.cancel();
            work.await
        }
    };
    if progress {
        say("\r\x1b[K");
    }
    let report = result.map_err(|e| match e {
        BenchError::Cancelled => Failure::new("benchmark cancelled"),
        BenchError::TimedOut(m) | BenchError::Failed(m) => Failure::new(m),
    })?;
    let text = match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::new(format!("could not encode JSON: {e}")))?;
            s.push('\n');
            s
        }
        _ => human(&report),
    };
    super::list::print_out(&text)
}

fn scans(n: i64) -> String {
    format!("{n} scan{}", if n == 1 { "" } else { "s" })
}

fn human(r: &BenchReport) -> String {
    let mut t = Table::new(&[
        ("case", Align::Left),
        ("runs", Align::Right),
        ("median", Align::Right),
        ("p95", Align::Right),
        ("min", Align::Right),
        ("max", Align::Right),
        ("server median", Align::Right),
        ("rows", Align::Right),
        ("bytes", Align::Right),
        ("buffers hit", Align::Right),
        ("buffers read", Align::Right),
    ]);
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for c in &r.cases {
        t.rows.push(vec![
            c.name.to_string(),
            c.client_ms.runs.to_string(),
            precise_ms(c.client_ms.median),
            precise_ms(c.client_ms.p95),
            precise_ms(c.client_ms.min),
            precise_ms(c.client_ms.max),
            c.server_ms
                .map(|s| precise_ms(s.median))
                .unwrap_or_default(),
            opt(c.rows),
            c.bytes
                .map(|b| crate::format::size(b as i64))
                .unwrap_or_default(),
            opt(c.shared_hit_blocks),
            opt(c.shared_read_blocks),
        ]);
    }
    let mut out = format!(
        "{} {}{}\n",
        match r.target.kind {
            Kind::MaterializedView => "materialized view",
            Kind::View => "view (measured through a temporary MV, rolled back)",
        },
        r.target.qualified_name,
        r.query
            .as_deref()
            .map(|q| format!(", query: {q}"))
            .unwrap_or_default()
    );
    out.push_str(&t.to_psql());
    out.push_str(&format!(
        "speed-up: {}×\n",
        bench::verdict::times(r.speedup)
    ));
    if let (Some(be), Some(basis), Some(source)) = (
        r.break_even_reads_per_refresh,
        r.refresh_basis_ms,
        r.refresh_basis,
    ) {
        out.push_str(&format!(
            "break-even: {} reads per refresh (refresh {}, {})\n",
            bench::verdict::times(be),
            precise_ms(basis),
            match source {
                bench::RefreshSource::Measured => "measured",
                bench::RefreshSource::History => "recorded average",
            }
        ));
    }
    match (r.reads_per_refresh, &r.usage) {
        (Some(reads), _) => out.push_str(&format!(
            "read rate: {} reads per refresh (pg_stat_all_tables since the statistics reset)\n",
            bench::verdict::times(reads)
        )),
        (None, Some(u)) if u.window_secs.is_none() => out.push_str(&format!(
            "read rate: unknown ({}, but the database's statistics were never reset, \
             so over an unknown time)\n",
            scans(u.scans)
        )),
        (None, Some(u)) => out.push_str(&format!(
            "read rate: unknown ({} since the statistics reset; no refresh history \
             over that time: `mvtop install` keeps one)\n",
            scans(u.scans)
        )),
        (None, None) => {}
    }
    out.push_str(&format!("verdict: {}\n", r.verdict));
    out
}
