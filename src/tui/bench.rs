//! The console's benchmark: `b` measures the selected MV against its view in the
//! background (reads only, so `--read-only` allows it), `B` the same with one refresh per
//! round (for a measured break-even; it changes the database), reports progress through
//! messages, is cancelled with Esc or `c`, and keeps each MV's result for the session.
//! State and behaviour here; the runtime's part is `io/bench.rs`, the drawing is
//! `ui/bench.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::keymap::Action;
use super::msg::Effect;
use super::state::{Overlay, PendingAction, State};
use crate::bench::verdict::VerdictKind;
use crate::bench::{BenchError, BenchReport, Progress};
use crate::refresh::{Concurrently, JobSpec, Limits, Source, Target, choose_mode};

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
        /// Count its refreshes in the ledger for the read rate (and record the benchmark's own
        /// refreshes there).
        ledger: bool,
        /// Refresh once per measured round with this spec (`B`), for a measured break-even.
        refresh: Option<JobSpec>,
    },
    Cancel {
        generation: u64,
    },
}

/// The benchmark's keys, before the keymap's own handling (and before the read-only
/// refusal: cancelling a read changes nothing). None: not a benchmark matter.
pub fn intercept(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    match action {
        Action::Bench => Some(start(state, None)),
        Action::BenchWithRefresh => Some(with_refresh(state)),
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

/// `B`: the benchmark with one refresh per round, which changes the database: refused when
/// read-only, on a standby or while the MV has a job; a plain refresh asks first (each
/// round blocks every reader of the MV).
fn with_refresh(state: &mut State) -> Vec<Effect> {
    if super::jobs::refused(state) {
        return Vec::new();
    }
    let Some(v) = state.selected_view() else {
        return Vec::new();
    };
    if state.active_job_for(v.oid).is_some() {
        state.message = Some(format!("already being refreshed: {}", v.qualified_name));
        return Vec::new();
    }
    let target = Target::from(v);
    let mode = match choose_mode(&target, Concurrently::Auto, true) {
        Ok(mode) => mode,
        Err(why) => {
            state.message = Some(format!("{}: {why}", v.qualified_name));
            return Vec::new();
        }
    };
    let spec = JobSpec {
        target,
        mode,
        source: Source::Console,
        limits: Limits {
            statement_timeout: Some(TIMEOUT),
            ..Limits::default()
        },
    };
    if mode.concurrently {
        return start(state, Some(spec));
    }
    let reading = match v.lock_holders {
        0 => String::new(),
        1 => " (1 session is reading it now)".into(),
        n => format!(" ({n} sessions are reading it now)"),
    };
    state.overlay = Overlay::Confirm {
        question: format!(
            "The benchmark refreshes {} {RUNS} times without CONCURRENTLY: each blocks every \
             reader while it runs{reading}. Benchmark with refreshes? (y/n)",
            v.qualified_name
        ),
        then: Box::new(PendingAction::BenchWithRefresh(spec)),
    };
    Vec::new()
}

/// The benchmark's one-line verdict as the console says it: where `mvtop bench` points to
/// `--with-refresh`, the console names its own key.
pub fn verdict_line(state: &State, report: &BenchReport) -> String {
    if report.verdict_kind != VerdictKind::RefreshTimeUnknown {
        return report.verdict.clone();
    }
    let how = if state.read_only {
        "mvtop bench --with-refresh measures one".to_string()
    } else {
        format!(
            "{} benchmarks with refreshes",
            state.keymap.key_of(Action::BenchWithRefresh)
        )
    };
    format!(
        "MV read {}× faster; break-even unknown: no refresh recorded ({how})",
        crate::bench::verdict::times(report.speedup)
    )
}

pub(super) fn start(state: &mut State, refresh: Option<JobSpec>) -> Vec<Effect> {
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
        refresh,
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
                    state.message = Some(format!("{name}: {}", verdict_line(state, &report)));
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
