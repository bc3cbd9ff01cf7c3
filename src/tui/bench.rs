//! The console's benchmark: `b` measures the selected MV against its view in the
//! background (reads only, so `--read-only` allows it), reports progress through
//! messages, is cancelled with Esc or `c`, and keeps each MV's result for the session.
//! State and behaviour here; the runtime's part is `io/bench.rs`, the drawing is
//! `ui/bench.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::keymap::Action;
use super::msg::Effect;
use super::state::State;
use crate::bench::{BenchError, BenchReport, Progress};

/// Rounds and warm-ups of a console benchmark (as `mvtop bench` by default).
pub const RUNS: u32 = 5;
pub const WARMUP: u32 = 1;
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// One MV's benchmark, as the detail pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchStatus {
    Running(Progress),
    Done(Box<BenchReport>),
    Failed(String),
    Cancelled,
}

/// The session's benchmarks: one running at a time, every result kept per MV.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Benches {
    pub by_oid: BTreeMap<u32, BenchStatus>,
    /// The MV being measured now, and the generation its messages carry.
    pub running: Option<(u32, u64)>,
    pub generation: u64,
}

#[derive(Debug, Clone)]
pub struct BenchMsg {
    pub oid: u32,
    pub generation: u64,
    pub event: BenchEvent,
}

#[derive(Debug, Clone)]
pub enum BenchEvent {
    Progress(Progress),
    Finished(Result<Box<BenchReport>, BenchError>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BenchEffect {
    /// Measure this MV; messages come back with this generation.
    Start {
        oid: u32,
        generation: u64,
        /// The MV's recorded average refresh, for the break-even.
        history_refresh_ms: Option<f64>,
        /// Count its refreshes in the ledger for the read rate.
        ledger: bool,
    },
    Cancel {
        generation: u64,
    },
}

/// The benchmark's keys, before the keymap's own handling (and before the read-only
/// refusal: cancelling a read changes nothing). None: not a benchmark matter.
pub fn intercept(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    match action {
        Action::Bench => Some(start(state)),
        Action::Back if state.benches.running.is_some() => Some(cancel(state)),
        // `c` cancels the selected MV's refresh first, when it has one.
        Action::CancelJob
            if state.benches.running.is_some()
                && state
                    .selected
                    .is_none_or(|oid| state.active_job_for(oid).is_none()) =>
        {
            Some(cancel(state))
        }
        _ => None,
    }
}

fn start(state: &mut State) -> Vec<Effect> {
    let Some(v) = state.selected_view() else {
        return Vec::new();
    };
    if let Some((oid, _)) = state.benches.running {
        let name = state
            .views
            .iter()
            .find(|v| v.oid == oid)
            .map_or_else(|| oid.to_string(), |v| v.qualified_name.clone());
        let keys = format!(
            "{} or {}",
            state.keymap.key_of(Action::Back),
            state.keymap.key_of(Action::CancelJob)
        );
        state.message = Some(format!("benchmarking {name} already ({keys} cancels it)"));
        return Vec::new();
    }
    if !v.populated {
        state.message = Some(format!(
            "{} is not populated: refresh it before benchmarking it",
            v.qualified_name
        ));
        return Vec::new();
    }
    let (oid, history_refresh_ms) = (v.oid, v.avg_refresh_ms);
    state.message = Some(format!(
        "benchmarking {}: its view against reading it ({RUNS} runs)",
        v.qualified_name
    ));
    state.benches.generation += 1;
    let generation = state.benches.generation;
    state.benches.running = Some((oid, generation));
    state.benches.by_oid.insert(
        oid,
        BenchStatus::Running(Progress {
            done: 0,
            total: 0,
            step: "connecting".into(),
        }),
    );
    let ledger = state.facts.as_ref().is_some_and(|f| f.ledger_installed);
    vec![Effect::Bench(BenchEffect::Start {
        oid,
        generation,
        history_refresh_ms,
        ledger,
    })]
}

fn cancel(state: &mut State) -> Vec<Effect> {
    let Some((_, generation)) = state.benches.running else {
        return Vec::new();
    };
    state.message = Some("cancelling the benchmark".into());
    vec![Effect::Bench(BenchEffect::Cancel { generation })]
}

pub fn on_msg(state: &mut State, msg: BenchMsg) -> Vec<Effect> {
    if state.benches.running != Some((msg.oid, msg.generation)) {
        return Vec::new();
    }
    match msg.event {
        BenchEvent::Progress(p) => {
            state
                .benches
                .by_oid
                .insert(msg.oid, BenchStatus::Running(p));
        }
        BenchEvent::Finished(result) => {
            state.benches.running = None;
            let name = state
                .views
                .iter()
                .find(|v| v.oid == msg.oid)
                .map_or_else(|| msg.oid.to_string(), |v| v.qualified_name.clone());
            let status = match result {
                Ok(report) => {
                    state.message = Some(format!("{name}: {}", report.verdict));
                    BenchStatus::Done(report)
                }
                Err(BenchError::Cancelled) => {
                    state.message = Some(format!("benchmark of {name} cancelled"));
                    BenchStatus::Cancelled
                }
                Err(BenchError::TimedOut(e) | BenchError::Failed(e)) => {
                    state.message = Some(format!("benchmark of {name}: {e}"));
                    BenchStatus::Failed(e)
                }
            };
            state.benches.by_oid.insert(msg.oid, status);
        }
    }
    Vec::new()
}
