//! `mvtop refresh`: refresh MVs now, in dependency order, through the refresh engine.

use std::collections::HashMap;
use std::io::Write;

use clap::Args;
use serde::Serialize;

use super::output::Format;
use super::{ConnArgs, Failure, monitoring_session};
use crate::catalog::names::find_in;
use crate::catalog::{Inventory, MatView};
use crate::format::{self, parse_duration};
use crate::inventory::FetchOptions;
use crate::ledger::Ledger;
use crate::refresh::plan::{Cascade, PlanRun, PlanStep, plan};
use crate::refresh::{
    Concurrently, Executor, JobSpec, JobState, Limits, Mode, Outcome, OutcomeKind, Source, Target,
    choose_mode,
};

#[derive(Debug, Clone, Args)]
pub struct RefreshArgs {
    /// `schema.name`, or a name unique across schemas; quoted like SQL where needed
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    #[arg(long, value_enum, default_value = "auto")]
    pub concurrently: Concurrently,
    /// Empty the MVs (REFRESH ... WITH NO DATA) instead of refreshing them
    #[arg(long)]
    pub with_no_data: bool,
    /// Also refresh what they read first (up), what reads them after (down), or both
    #[arg(long, value_enum)]
    pub cascade: Option<Cascade>,
    /// Print the plan (order, mode, lock, predicted duration, readers now) and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Longest wait for an MV's lock per attempt
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub lock_timeout: std::time::Duration,
    /// Attempts after a lock timeout (with growing pauses)
    #[arg(long, default_value_t = 3)]
    pub lock_retries: u32,
    /// Cancel a refresh that runs longer than this
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Refreshes at the same time
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// One line of the result, also the JSON contract of `mvtop refresh --format json`.
#[derive(Debug, Clone, Serialize)]
struct ResultLine {
    oid: u32,
    schema: String,
    name: String,
    qualified_name: String,
    step: usize,
    mode: &'static str,
    outcome: &'static str,
    duration_ms: Option<f64>,
    attempts: u32,
    error: Option<String>,
    recorded: &'static str,
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &RefreshArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let with = FetchOptions {
        ledger: ledger.clone(),
        definitions: false,
        ..FetchOptions::default()
    };
    let inventory = Inventory::fetch(&session.client, async || None, with).await?;
    if inventory.facts.in_recovery {
        return Err(Failure::new(
            "the server is a standby (in recovery): materialized views cannot be refreshed here",
        ));
    }
    let views = &inventory.views;
    let targets: Vec<u32> = args
        .names
        .iter()
        .map(|n| find_in(views, n).map(|v| v.oid))
        .collect::<Result<_, _>>()
        .map_err(Failure::new)?;
    let the_plan = plan(views, &targets, args.cascade);
    let by_oid: HashMap<u32, &MatView> = views.iter().map(|v| (v.oid, v)).collect();
    // Every mode is decided before anything runs: an impossible one stops it all.
    let mut modes: HashMap<u32, Mode> = HashMap::new();
    for oid in the_plan.steps.iter().flatten() {
        let target = Target::from(by_oid[oid]);
        // A cascade adds MVs nobody asked about: auto for them even under --concurrently always.
        let choice = if targets.contains(oid) {
            args.concurrently
        } else {
            Concurrently::Auto
        };
        let mode = choose_mode(&target, choice, !args.with_no_data).map_err(Failure::new)?;
        modes.insert(*oid, mode);
    }
    if args.dry_run {
        return dry_run(&session.client, &the_plan.steps, &by_oid, &modes).await;
    }
    let recording = if inventory.facts.ledger_installed {
        Some(ledger.clone())
    } else {
        super::say(&format!(
            "mvtop: note: no refresh ledger in schema {}: outcomes are printed, not kept \
             (`mvtop install` keeps them)",
            ledger.schema()
        ));
        None
    };
    let limits = Limits {
        lock_timeout: args.lock_timeout,
        lock_retries: args.lock_retries,
        statement_timeout: args.timeout,
        ..Limits::default()
    };
    let (executor, mut events) = Executor::new(connector, recording, usize::from(args.jobs));
    let step_of: HashMap<u32, usize> = the_plan
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, step)| step.iter().map(move |oid| (*oid, i)))
        .collect();
    let specs = step_of
        .keys()
        .map(|oid| {
            let spec = JobSpec {
                target: Target::from(by_oid[oid]),
                mode: modes[oid],
                source: Source::Cli,
                limits,
            };
            (*oid, spec)
        })
        .collect();
    let mut run = PlanRun::new(views, &the_plan, specs);
    let mut next = run.advance();
    let mut results = Vec::new();
    loop {
        for step in next.drain(..) {
            match step {
                PlanStep::Start(spec) => {
                    executor.submit(spec);
                }
                PlanStep::Skip { spec, because } => {
                    let oid = spec.target.oid;
                    let why = format!("{} did not refresh", by_oid[&because].qualified_name);
                    let line = result_line(by_oid[&oid], step_of[&oid], spec.mode, skipped(why));
                    emit(args.format, &line);
                    results.push(line);
                }
            }
        }
        if run.is_done() {
            break;
        }
        let Some(event) = events.recv().await else {
            break;
        };
        if let JobState::Finished(outcome) = event.state {
            let oid = event.spec.target.oid;
            next = run.finished(oid, outcome.kind == OutcomeKind::Ok);
            let line = result_line(by_oid[&oid], step_of[&oid], event.spec.mode, outcome);
            emit(args.format, &line);
            results.push(line);
        }
    }
    if inventory.facts.ledger_installed {
        // Retention is applied by mvtop itself, after it wrote; a role that may not delete
        // from the log leaves it to the owner.
        let _ = ledger.prune(&session.client).await;
    }
    if args.format == Format::Json {
        super::list::print_out(&super::output::json(&results)?)?;
    }
    let failed = results.iter().filter(|r| r.outcome != "ok").count();
    if failed > 0 {
        return Err(Failure::new(format!(
            "{failed} of {} refreshes did not succeed",
            results.len()
        )));
    }
    Ok(())
}

fn skipped(why: String) -> Outcome {
    Outcome {
        kind: OutcomeKind::Skipped,
        duration_ms: None,
        attempts: 0,
        error: Some(why),
        recorded: crate::refresh::Recorded::Nowhere,
        base_writes: None,
        cost: Default::default(),
    }
}

fn result_line(mv: &MatView, step: usize, mode: Mode, outcome: Outcome) -> ResultLine {
    ResultLine {
        oid: mv.oid,
        schema: mv.schema.clone(),
        name: mv.name.clone(),
        qualified_name: mv.qualified_name.clone(),
        step: step + 1,
        mode: mode.label(),
        outcome: outcome.kind.as_str(),
        duration_ms: outcome.duration_ms.map(crate::format::round1),
        attempts: outcome.attempts,
        error: outcome.error,
        recorded: match outcome.recorded {
            crate::refresh::Recorded::Ledger => "ledger",
            crate::refresh::Recorded::Memory => "memory",
            crate::refresh::Recorded::Nowhere => "nowhere",
        },
    }
}

/// Table format prints each refresh as it finishes; JSON prints them all at the end.
fn emit(format: Format, line: &ResultLine) {
    if format == Format::Json {
        return;
    }
    let duration = line
        .duration_ms
        .map(format::duration_ms)
        .unwrap_or_default();
    let error = line
        .error
        .as_deref()
        .map(|e| format!("  {e}"))
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:<9} {:<12} {:>10}  {}{error}",
        line.outcome, line.mode, duration, line.qualified_name
    );
    let _ = out.flush();
}

async fn dry_run(
    client: &tokio_postgres::Client,
    steps: &[Vec<u32>],
    by_oid: &HashMap<u32, &MatView>,
    modes: &HashMap<u32, Mode>,
) -> Result<(), Failure> {
    let oids: Vec<u32> = steps.iter().flatten().copied().collect();
    // Sessions holding any lock on the MV now: a plain refresh would wait for them, then
    // block them (and every later reader) for its whole duration.
    let rows = client
        .query(
            "SELECT l.relation, count(DISTINCT l.pid)::int8
             FROM pg_locks l
             WHERE l.locktype = 'relation' AND l.granted AND l.relation = ANY($1)
               AND l.pid <> pg_backend_pid()
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             GROUP BY l.relation",
            &[&oids],
        )
        .await?;
    let readers: HashMap<u32, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut t = super::output::Table::new(&[
        ("step", super::output::Align::Right),
        ("materialized view", super::output::Align::Left),
        ("mode", super::output::Align::Left),
        ("predicted", super::output::Align::Right),
        ("sessions on it now", super::output::Align::Right),
        ("lock held", super::output::Align::Left),
    ]);
    for (i, step) in steps.iter().enumerate() {
        for oid in step {
            let mv = by_oid[oid];
            let mode = modes[oid];
            t.rows.push(vec![
                (i + 1).to_string(),
                mv.qualified_name.clone(),
                mode.label().to_string(),
                mv.avg_refresh_ms
                    .map(format::duration_ms)
                    .unwrap_or_else(|| "?".into()),
                readers.get(oid).copied().unwrap_or(0).to_string(),
                mode.lock().to_string(),
            ]);
        }
    }
    super::list::print_out(&t.to_psql())
}
