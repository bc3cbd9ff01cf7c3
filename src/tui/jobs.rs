//! The jobs pane's state changes and the refresh actions: planning a refresh (asking first
//! when it would block readers), starting its steps, and following its jobs to the end.

use std::collections::HashMap;

use super::locks;
use super::msg::Effect;
use super::polling::poll_if_due;
use super::state::{JobView, Overlay, PendingAction, State};
use crate::refresh::plan::{Cascade, PlanRun, PlanStep, plan};
use crate::refresh::{
    Concurrently, JobSpec, JobState, Limits, OutcomeKind, Source, Target, choose_mode,
};

pub(super) const READ_ONLY: &str = "read-only: this console changes nothing in the database";

pub(super) fn job_changed(state: &mut State, event: crate::refresh::JobEvent) -> Vec<Effect> {
    let now = state.now;
    let entry = state.jobs.entry(event.id).or_insert_with(|| JobView {
        spec: event.spec.clone(),
        state: JobState::Queued,
        queued_at: now,
        started_at: None,
        finished_at: None,
    });
    if matches!(event.state, JobState::Running { .. }) && entry.started_at.is_none() {
        entry.started_at = Some(now);
    }
    let mut effects = Vec::new();
    if let JobState::Finished(outcome) = &event.state {
        entry.finished_at = Some(now);
        let name = &event.spec.target.qualified_name;
        state.message = Some(match (outcome.kind, &outcome.error) {
            (OutcomeKind::Ok, _) => format!(
                "refreshed {name} ({}) in {}",
                event.spec.mode.label(),
                outcome
                    .duration_ms
                    .map(crate::format::duration_ms)
                    .unwrap_or_default()
            ),
            (kind, Some(e)) => format!("{name}: {}: {e}", kind.as_str()),
            (kind, None) => format!("{name}: {}", kind.as_str()),
        });
        if outcome.recorded == crate::refresh::Recorded::Memory {
            state.memory_log.record(crate::ledger::MemoryRun {
                mv_oid: event.spec.target.oid,
                finished_at: now,
                duration_ms: outcome.duration_ms,
                outcome: outcome.kind.as_str().to_string(),
                error: outcome.error.clone(),
                base_writes: outcome.base_writes,
                concurrently: event.spec.mode.concurrently,
                cost: (*outcome.cost).clone(),
            });
        }
        let refreshed = outcome.kind == OutcomeKind::Ok;
        for run in &mut state.plans {
            if run.contains_running(event.spec.target.oid) {
                let next = run.finished(event.spec.target.oid, refreshed);
                effects.extend(carry_out(&mut state.message, next, &state.views));
            }
        }
        state.plans.retain(|run| !run.is_done());
        if state
            .detail
            .as_ref()
            .is_some_and(|(oid, _)| *oid == event.spec.target.oid)
        {
            state.detail = None;
        }
        // The new figures (duration, last refresh) are in the next poll: make it now.
        state.polling.answered_at = None;
        state.polling.full_wanted = true;
        effects.extend(poll_if_due(state));
    }
    if let Some(entry) = state.jobs.get_mut(&event.id) {
        entry.state = event.state;
    }
    effects
}

/// Starts the `Start`s of a plan step; a skip is said in the message line.
fn carry_out(
    message: &mut Option<String>,
    steps: Vec<PlanStep>,
    views: &[crate::catalog::MatView],
) -> Vec<Effect> {
    let mut effects = Vec::new();
    for step in steps {
        match step {
            PlanStep::Start(spec) => effects.push(Effect::StartRefresh(spec)),
            PlanStep::Skip { spec, because } => {
                let upstream = views
                    .iter()
                    .find(|v| v.oid == because)
                    .map_or_else(|| because.to_string(), |v| v.qualified_name.clone());
                *message = Some(format!(
                    "skipped {}: {upstream} did not refresh",
                    spec.target.qualified_name
                ));
            }
        }
    }
    effects
}

/// Plans refreshes of `targets`; asks first when a plain refresh would block readers.
pub(super) fn refresh(
    state: &mut State,
    targets: Vec<u32>,
    cascade: Option<Cascade>,
) -> Vec<Effect> {
    if targets.is_empty() {
        return Vec::new();
    }
    // Every way to a refresh ends here (keys, `:refresh`, the confirm prompt): refuse it
    // here too, so no path can bypass --read-only.
    if refused(state) {
        return Vec::new();
    }
    let the_plan = plan(&state.views, &targets, cascade);
    let by_oid: HashMap<u32, &crate::catalog::MatView> =
        state.views.iter().map(|v| (v.oid, v)).collect();
    let mut specs = Vec::new();
    let mut busy = Vec::new();
    let mut blocking = Vec::new();
    for oid in the_plan.steps.iter().flatten() {
        let Some(v) = by_oid.get(oid) else { continue };
        if state.active_job_for(*oid).is_some() {
            busy.push(v.qualified_name.clone());
            continue;
        }
        let target = Target::from(*v);
        let Ok(mode) = choose_mode(&target, Concurrently::Auto, true) else {
            continue;
        };
        // What the last plain refresh of it blocked, when that was measured.
        let last_time = v
            .refresh_cost
            .as_ref()
            .and_then(|c| c.last_plain_blocked)
            .filter(|b| b.sessions > 0);
        if !mode.concurrently && v.lock_holders > 0 {
            blocking.push(format!(
                "{} ({} session{} reading it{}, ~{} each{})",
                v.qualified_name,
                v.lock_holders,
                if v.lock_holders == 1 { "" } else { "s" },
                holders_named(state, v),
                v.avg_refresh_ms
                    .map(crate::format::duration_ms)
                    .unwrap_or_else(|| "unknown".into()),
                last_time
                    .map(|b| format!("; last time: {}", b.describe()))
                    .unwrap_or_default()
            ));
        } else if !mode.concurrently
            && let Some(b) = last_time
        {
            blocking.push(format!(
                "{} (last time: {})",
                v.qualified_name,
                b.describe()
            ));
        }
        specs.push(JobSpec {
            target,
            mode,
            source: Source::Console,
            limits: Limits::default(),
        });
    }
    if !busy.is_empty() {
        state.message = Some(format!("already being refreshed: {}", busy.join(", ")));
    }
    if specs.is_empty() {
        return Vec::new();
    }
    state.marked.clear();
    if blocking.is_empty() {
        confirmed(state, PendingAction::Refresh(specs))
    } else {
        state.overlay = Overlay::Confirm {
            question: format!(
                "A plain refresh blocks every reader while it runs: {}. Refresh? (y/n)",
                blocking.join("; ")
            ),
            then: Box::new(PendingAction::Refresh(specs)),
        };
        Vec::new()
    }
}

/// Whether no refresh may run from this console (read-only, or a standby); the message
/// says why. The refreshes and the benchmark with refreshes both ask it.
pub(super) fn refused(state: &mut State) -> bool {
    let why = if state.read_only {
        READ_ONLY
    } else if state.facts.as_ref().is_some_and(|f| f.in_recovery) {
        "the server is a standby: materialized views cannot be refreshed"
    } else {
        return false;
    };
    state.message = Some(why.into());
    true
}

pub(super) fn confirmed(state: &mut State, action: PendingAction) -> Vec<Effect> {
    if state.read_only && !matches!(action, PendingAction::Quit) {
        state.message = Some(READ_ONLY.into());
        return Vec::new();
    }
    match action {
        PendingAction::Quit => {
            state.quit = true;
            vec![Effect::Quit]
        }
        PendingAction::Signal { pid, signal } => locks::confirmed_signal(state, pid, signal),
        PendingAction::BenchWithRefresh(spec) => super::bench::start(state, Some(spec)),
        PendingAction::Refresh(specs) => {
            let targets: Vec<u32> = specs.iter().map(|s| s.target.oid).collect();
            let mut with_order = plan(&state.views, &targets, None);
            // The specs already hold the cascade's MVs: order them by level only.
            with_order.steps.retain(|s| !s.is_empty());
            let by_oid = specs.into_iter().map(|s| (s.target.oid, s)).collect();
            let mut run = PlanRun::new(&state.views, &with_order, by_oid);
            let first = run.advance();
            let effects = carry_out(&mut state.message, first, &state.views);
            if !run.is_done() {
                state.plans.push(run);
            }
            effects
        }
    }
}

/// `: pid 12 (alice, psql, idle in transaction 3 min), pid 40 (...)`: who a plain refresh
/// would block, as far as the sessions poll knows them (three at most).
fn holders_named(state: &State, v: &crate::catalog::MatView) -> String {
    if v.lock_holder_pids.is_empty() {
        return String::new();
    }
    let sessions = state.sessions.data.as_ref();
    let mut named: Vec<String> = v
        .lock_holder_pids
        .iter()
        .take(3)
        .map(|pid| crate::catalog::locks::describe(sessions, *pid))
        .collect();
    if v.lock_holder_pids.len() > 3 {
        named.push(format!("{} more", v.lock_holder_pids.len() - 3));
    }
    format!(": {}", named.join(", "))
}
