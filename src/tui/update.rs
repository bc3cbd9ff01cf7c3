//! `update(state, msg) -> effects`: every behaviour of the console, pure. No I/O, no async,
//! no clock reads (time comes in with `Msg::Tick`).

use std::collections::HashMap;
use std::time::Duration;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;

use super::keymap::{Action, changes_database};
use super::msg::{Effect, Msg};
use super::schedules;
use super::sessions;
use super::state::{Column, Health, JobView, Overlay, Pane, PendingAction, State};
use crate::catalog::pulse::Fingerprint;
use crate::refresh::plan::{Cascade, PlanRun, PlanStep, plan};
use crate::refresh::{
    Concurrently, JobSpec, JobState, Limits, OutcomeKind, Source, Target, choose_mode,
};

const MIN_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(60);
/// The full inventory at least this often, even when the pulse sees no change (sizes grow
/// with VACUUM and writes to nothing the fingerprint watches).
const FULL_EVERY: Duration = Duration::from_secs(300);
/// Longest pause between polls while the connection is lost.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const READ_ONLY: &str = "read-only: this console changes nothing in the database";

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            let mut effects = poll_if_due(state);
            effects.extend(detail_if_wanted(state));
            effects.extend(sessions::tick(state));
            effects
        }
        Msg::Detail { oid, result } => {
            state.detail_in_flight = None;
            match result {
                Ok(detail) => state.detail = Some((oid, detail)),
                Err(e) => state.message = Some(format!("detail: {e}")),
            }
            Vec::new()
        }
        Msg::Resize { width, height } => {
            state.screen = ratatui::layout::Rect::new(0, 0, width, height);
            Vec::new()
        }
        Msg::Inventory { generation, result } => inventory_arrived(state, generation, result),
        Msg::Pulse { generation, result } => pulse_arrived(state, generation, result),
        Msg::Job(event) => job_changed(state, event),
        Msg::Bench(m) => super::bench::on_msg(state, m),
        Msg::Key(key) => key_pressed(state, key),
        Msg::Sessions { generation, result } => {
            sessions::sessions_arrived(state, generation, result)
        }
        Msg::Statements { generation, result } => {
            sessions::statements_arrived(state, generation, result)
        }
        Msg::StatementTexts(result) => {
            sessions::texts_arrived(state, result);
            Vec::new()
        }
        Msg::Signalled(result) => sessions::signalled(state, result),
        Msg::Schedules { generation, result } => schedules::arrived(state, generation, result),
        Msg::ScheduleSaved(result) => schedules::saved(state, result),
        Msg::Scheduler(event) => schedules::heard(state, &event),
        Msg::PgCron(result) => {
            super::pg_cron::arrived(state, result);
            Vec::new()
        }
    }
}

/// The selected MV's detail, read once the selection rested for a tick (not on every move).
fn detail_if_wanted(state: &mut State) -> Vec<Effect> {
    let Some(oid) = state.selected else {
        return Vec::new();
    };
    let Some(facts) = &state.facts else {
        return Vec::new();
    };
    let have = state.detail.as_ref().is_some_and(|(d, _)| *d == oid);
    if have || state.detail_in_flight.is_some() {
        return Vec::new();
    }
    state.detail_in_flight = Some(oid);
    vec![Effect::FetchDetail {
        oid,
        ledger: facts.ledger_installed,
    }]
}

fn poll_if_due(state: &mut State) -> Vec<Effect> {
    if state.paused || state.poll_in_flight {
        return Vec::new();
    }
    let wait = match state.health {
        // Back off while the server is away: 1, 2, 4 ... 30 s.
        Health::Lost { .. } => state
            .poll_every
            .saturating_mul(1 << state.poll_failures.min(5))
            .min(MAX_BACKOFF),
        _ => state.poll_every,
    };
    if sessions::due(state.last_poll_at, state.now, wait) {
        start_poll(state)
    } else {
        Vec::new()
    }
}

/// A pulse, or the full inventory when it is wanted or due.
fn start_poll(state: &mut State) -> Vec<Effect> {
    if state.poll_in_flight {
        return Vec::new();
    }
    state.poll_generation += 1;
    state.poll_in_flight = true;
    let generation = state.poll_generation;
    let stale = state
        .last_full_at
        .is_none_or(|at| (state.now - at).to_std().unwrap_or_default() >= FULL_EVERY);
    if state.full_wanted || stale || state.fingerprint.is_none() {
        vec![inventory_read(state, generation)]
    } else {
        // A standby replays DDL without counting it: the fingerprint on every pulse there.
        let on_standby = state.facts.as_ref().is_some_and(|f| f.in_recovery);
        vec![Effect::Pulse {
            generation,
            tables: state
                .base_tables
                .get_or_insert_with(|| base_tables(&state.views))
                .clone(),
            since: crate::catalog::pulse::Baseline {
                always_fingerprint: on_standby,
                ..state.pulse_baseline
            },
        }]
    }
}

/// What the next inventory read takes again: sizes of every MV now and then (VACUUM moves
/// them without touching the MV), everything on Ctrl-r and every third such read, else only
/// what changed. The very first read leaves definitions out, so the table shows sooner.
fn inventory_read(state: &mut State, generation: u64) -> Effect {
    let first = state.views.is_empty() && state.sizes_read_at.is_none();
    let sizes_due = state
        .sizes_read_at
        .or(state.last_full_at)
        .is_none_or(|at| (state.now - at).to_std().unwrap_or_default() >= FULL_EVERY);
    let again = if state.reread_wanted || (sizes_due && state.sizes_reads.is_multiple_of(3)) {
        crate::catalog::Reread::Everything
    } else if sizes_due {
        crate::catalog::Reread::Sizes
    } else {
        crate::catalog::Reread::Changed
    };
    if again != crate::catalog::Reread::Changed {
        state.sizes_read_at = Some(state.now);
        state.sizes_reads += 1;
    }
    state.reread_wanted = false;
    state.definitions_pending = first;
    Effect::FetchInventory {
        generation,
        again,
        definitions: !first,
    }
}

/// Every table some MV reads, once each.
fn base_tables(views: &[crate::catalog::MatView]) -> Vec<u32> {
    let mut tables: Vec<u32> = views
        .iter()
        .flat_map(|v| v.base_tables.iter().copied())
        .collect();
    tables.sort_unstable();
    tables.dedup();
    tables
}

fn pulse_arrived(
    state: &mut State,
    generation: u64,
    result: Result<crate::catalog::pulse::Pulse, String>,
) -> Vec<Effect> {
    if generation != state.poll_generation {
        return Vec::new();
    }
    state.poll_in_flight = false;
    let moved = |known: Option<&Fingerprint>, now: Option<&Fingerprint>| match (known, now) {
        (Some(known), Some(now)) => known.moved_to(now),
        (None, _) => true,
        (Some(_), None) => false,
    };
    match result {
        Ok(pulse)
            if moved(state.fingerprint.as_ref(), pulse.fingerprint.as_ref())
                || state
                    .facts
                    .as_ref()
                    .is_some_and(|f| f.in_recovery != pulse.in_recovery) =>
        {
            // Something was refreshed, created, dropped or altered, or a standby was
            // promoted: read it all again.
            state.pulse_baseline = pulse.baseline;
            state.full_wanted = true;
            start_poll(state)
        }
        Ok(pulse) => {
            state.last_poll_at = Some(state.now);
            state.health = Health::Ok;
            state.poll_failures = 0;
            state.pulse_baseline = pulse.baseline;
            if let (Some(known), Some(now)) = (state.fingerprint.as_mut(), pulse.fingerprint) {
                known.definition_writes = now.definition_writes;
            }
            let (mut changed, mut refresh_ended) = (false, false);
            let anything_now = !pulse.refreshing.is_empty() || !pulse.lock_holders.is_empty();
            for v in &mut state.views {
                // Most MVs are idle before and after: nothing to compare (thousands a tick).
                if !anything_now && v.refreshing_pids.is_empty() && v.lock_holder_pids.is_empty() {
                    continue;
                }
                let refreshing = pulse.refreshing.get(&v.oid).cloned().unwrap_or_default();
                let holders = pulse.lock_holders.get(&v.oid).cloned().unwrap_or_default();
                changed |= refreshing != v.refreshing_pids || holders != v.lock_holder_pids;
                refresh_ended |= refreshing.is_empty() && !v.refreshing_pids.is_empty();
                v.refreshing_pids = refreshing;
                v.lock_holder_pids = holders;
                v.lock_holders = v.lock_holder_pids.len() as i64;
            }
            let writes = pulse.writes.unwrap_or_default();
            if changed || !writes.is_empty() {
                state
                    .table_writes
                    .extend(writes.iter().map(|(t, w)| (*t, *w)));
                let known = state.table_writes.clone();
                note_refresh_starts(state, &known);
                crate::catalog::inventory::settle_statuses(
                    &mut state.views,
                    &writes,
                    &state.writes_at_refresh_start,
                    state.facts.as_ref().is_some_and(|f| f.in_recovery),
                );
            }
            if refresh_ended {
                // Another client's refresh ended (the catalog counters that would show it
                // reach this session up to 10 s later): its outcome and size are new.
                state.full_wanted = true;
                return start_poll(state);
            }
            Vec::new()
        }
        Err(error) => {
            lost(state, error);
            Vec::new()
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

/// The base tables' counters when each running refresh was first seen: writes after that
/// make it refreshing-stale.
fn note_refresh_starts(state: &mut State, writes: &crate::catalog::writes::TableWrites) {
    let running: HashMap<u32, Option<i64>> = state
        .views
        .iter()
        .filter(|v| !v.refreshing_pids.is_empty())
        .map(|v| {
            (
                v.oid,
                crate::catalog::writes::writes_of(&v.base_tables, writes),
            )
        })
        .collect();
    state
        .writes_at_refresh_start
        .retain(|oid, _| running.contains_key(oid));
    for (oid, now) in running {
        if let Some(now) = now {
            state.writes_at_refresh_start.entry(oid).or_insert(now);
        }
    }
}

fn lost(state: &mut State, error: String) {
    // Keep the last good data on screen; say what is wrong.
    state.last_poll_at = Some(state.now);
    state.poll_failures += 1;
    let since = match &state.health {
        Health::Lost { since, .. } => *since,
        _ => state.now,
    };
    state.health = Health::Lost { error, since };
}

fn inventory_arrived(
    state: &mut State,
    generation: u64,
    result: Result<Box<crate::catalog::Inventory>, String>,
) -> Vec<Effect> {
    if generation != state.poll_generation {
        return Vec::new();
    }
    state.poll_in_flight = false;
    state.last_poll_at = Some(state.now);
    match result {
        Ok(inventory) => {
            let mut inventory = *inventory;
            state.fingerprint = Some(Fingerprint {
                mv_count: inventory.facts.mv_count,
                xmin_sum: inventory.facts.mv_xmin_sum.clone(),
                definition_writes: None,
            });
            // The next pulse computes the fingerprint again, and reads every counter.
            state.pulse_baseline = crate::catalog::pulse::Baseline::default();
            state.last_full_at = Some(state.now);
            state.full_wanted = false;
            inventory.apply_memory_log(&state.memory_log);
            keep_definitions(&state.views, &mut inventory.views);
            let place = state.place();
            state.facts = Some(inventory.facts);
            state.views = inventory.views;
            state.views_generation += 1;
            state.table_writes.clear();
            state.base_tables = None;
            state.hints = inventory.hints;
            state.health = Health::Ok;
            state.poll_failures = 0;
            state.recompute_visible();
            state.keep_place(place);
            super::pg_cron::apply_stats(state);
            // MVs were refreshed, created or dropped: runs were claimed, names changed.
            let mut effects = schedules::wanted(state);
            effects.extend(super::pg_cron::wanted(state));
            if state.definitions_pending {
                // The first read left them out: read them now.
                state.full_wanted = true;
                effects.extend(start_poll(state));
            }
            return effects;
        }
        Err(error) => lost(state, error),
    }
    Vec::new()
}

/// Polls fetch definitions only now and then: a poll without one keeps the last one read.
fn keep_definitions(old: &[crate::catalog::MatView], new: &mut [crate::catalog::MatView]) {
    let known: HashMap<u32, &String> = old
        .iter()
        .filter_map(|v| v.definition.as_ref().map(|d| (v.oid, d)))
        .collect();
    for v in new.iter_mut().filter(|v| v.definition.is_none()) {
        if let Some(d) = known.get(&v.oid) {
            v.definition = Some((*d).clone());
        }
    }
}

fn job_changed(state: &mut State, event: crate::refresh::JobEvent) -> Vec<Effect> {
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
        state.last_poll_at = None;
        state.full_wanted = true;
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

fn key_pressed(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match state.overlay.clone() {
        Overlay::Help => {
            state.overlay = Overlay::None;
            Vec::new()
        }
        Overlay::Filter => filter_key(state, key),
        Overlay::Schedule { oid, .. } => schedules::form_key(state, oid, key),
        Overlay::Command => command_key(state, key),
        Overlay::Confirm { then, .. } => {
            state.overlay = Overlay::None;
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => confirmed(state, *then),
                _ => {
                    state.message = Some("cancelled".into());
                    Vec::new()
                }
            }
        }
        Overlay::None => match state.keymap.action(&key) {
            Some(action) => act(state, action),
            None => Vec::new(),
        },
    }
}

fn filter_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => state.overlay = Overlay::None,
        KeyCode::Esc => {
            state.overlay = Overlay::None;
            state.filter.clear();
            state.recompute_visible();
        }
        _ => {
            state.input.handle_event(&Event::Key(key));
            state.filter = state.input.value().to_string();
            state.recompute_visible();
        }
    }
    Vec::new()
}

fn command_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => {
            state.overlay = Overlay::None;
            let line = state.input.value().to_string();
            run_command(state, &line)
        }
        KeyCode::Esc => {
            state.overlay = Overlay::None;
            Vec::new()
        }
        _ => {
            state.input.handle_event(&Event::Key(key));
            Vec::new()
        }
    }
}

/// `:refresh NAME`, `:filter TEXT`, `:sort COLUMN [desc]`, `:interval SECONDS`, `:pause`,
/// `:quit`.
pub fn run_command(state: &mut State, line: &str) -> Vec<Effect> {
    let line = line.trim();
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    match verb {
        "q" | "quit" => act(state, Action::Quit),
        "refresh" | "r" if !rest.is_empty() => {
            match crate::catalog::names::find_in(&state.views, rest) {
                Ok(v) => {
                    let oid = v.oid;
                    refresh(state, vec![oid], None)
                }
                Err(e) => {
                    state.message = Some(e);
                    Vec::new()
                }
            }
        }
        "filter" | "f" => {
            state.filter = rest.to_string();
            state.input = tui_input::Input::new(state.filter.clone());
            state.recompute_visible();
            Vec::new()
        }
        "sort" => {
            let mut words = rest.split_whitespace();
            let column = words.next().and_then(Column::parse);
            match column {
                Some(column) => {
                    state.sort.column = column;
                    state.sort.descending = words.next().is_some_and(|w| w == "desc");
                    state.recompute_visible();
                }
                None => state.message = Some(format!("unknown column {rest:?}")),
            }
            Vec::new()
        }
        "interval" => {
            match rest.parse::<u64>() {
                Ok(s) => {
                    state.poll_every = Duration::from_secs(s).clamp(MIN_POLL, MAX_POLL);
                    state.message = Some(format!("polling every {} s", state.poll_every.as_secs()));
                }
                Err(_) => state.message = Some(format!("not a number of seconds: {rest:?}")),
            }
            Vec::new()
        }
        "pause" => act(state, Action::Pause),
        "" => Vec::new(),
        _ => {
            state.message = Some(format!(
                "unknown command {verb:?} (refresh NAME, filter TEXT, sort COLUMN [desc], interval SECONDS, pause, quit)"
            ));
            Vec::new()
        }
    }
}

fn act(state: &mut State, action: Action) -> Vec<Effect> {
    if let Some(effects) = super::bench::intercept(state, action) {
        return effects;
    }
    if state.read_only && changes_database(action) {
        state.message = Some(READ_ONLY.into());
        return Vec::new();
    }
    if let Some(effects) = sessions::act(state, action) {
        return effects;
    }
    if let Some(effects) = schedules::act(state, action) {
        return effects;
    }
    match action {
        Action::Up => move_by(state, -1),
        Action::Down => move_by(state, 1),
        Action::PageUp => move_by(state, -(super::layout::page_rows(state) as i64)),
        Action::PageDown => move_by(state, super::layout::page_rows(state) as i64),
        Action::Top => move_by(state, i64::MIN / 2),
        Action::Bottom => move_by(state, i64::MAX / 2),
        Action::NextPane => {
            state.pane = match state.pane {
                Pane::Views => Pane::Detail,
                Pane::Detail => Pane::Jobs,
                Pane::Jobs => Pane::Locks,
                Pane::Locks => Pane::Activity,
                Pane::Activity => Pane::Schedules,
                Pane::Schedules => Pane::Views,
            };
        }
        Action::FocusViews => state.pane = Pane::Views,
        Action::FocusDetail => state.pane = Pane::Detail,
        Action::FocusJobs => state.pane = Pane::Jobs,
        // The locks and activity panes' own keys (sessions::act answered them).
        // The schedules pane's own keys (schedules::act answered them).
        Action::FocusSchedules | Action::EditSchedule => {}
        Action::FocusLocks
        | Action::FocusActivity
        | Action::Terminate
        | Action::Expand
        | Action::ToggleCumulative
        | Action::RefreshOnly => {}
        Action::Mark => {
            if let Some(oid) = state.selected {
                if !state.marked.remove(&oid) {
                    state.marked.insert(oid);
                }
                move_by(state, 1);
            }
        }
        Action::Refresh | Action::RefreshCascade => {
            let targets: Vec<u32> = if state.marked.is_empty() {
                state.selected.into_iter().collect()
            } else {
                let mut m: Vec<u32> = state.marked.iter().copied().collect();
                m.sort_unstable();
                m
            };
            let cascade = (action == Action::RefreshCascade).then_some(Cascade::Both);
            return refresh(state, targets, cascade);
        }
        Action::CancelJob => {
            let Some(oid) = state.selected else {
                return Vec::new();
            };
            match state.active_job_for(oid) {
                Some((id, job)) => {
                    let id = *id;
                    state.message = Some(format!("cancelling {}", job.spec.target.qualified_name));
                    return vec![Effect::CancelJob(id)];
                }
                None => state.message = Some("no refresh of this MV is running".into()),
            }
        }
        Action::Filter => {
            state.input = tui_input::Input::new(state.filter.clone());
            state.overlay = Overlay::Filter;
        }
        Action::Command => {
            state.input = tui_input::Input::default();
            state.overlay = Overlay::Command;
        }
        Action::Help => state.overlay = Overlay::Help,
        Action::Back => {
            if !state.filter.is_empty() {
                state.filter.clear();
                state.recompute_visible();
            } else if !state.marked.is_empty() {
                state.marked.clear();
            } else {
                state.pane = Pane::Views;
            }
        }
        Action::SortNext => {
            let i = Column::ALL
                .iter()
                .position(|c| *c == state.sort.column)
                .unwrap_or(0);
            state.sort.column = Column::ALL[(i + 1) % Column::ALL.len()];
            state.recompute_visible();
        }
        Action::SortReverse => {
            state.sort.descending = !state.sort.descending;
            state.recompute_visible();
        }
        Action::Pause => {
            state.paused = !state.paused;
            state.message = Some(
                if state.paused {
                    "polling paused"
                } else {
                    "polling resumed"
                }
                .into(),
            );
            if !state.paused {
                return poll_if_due(state);
            }
        }
        Action::Slower => {
            state.poll_every = (state.poll_every * 2).min(MAX_POLL);
            state.message = Some(format!("polling every {} s", state.poll_every.as_secs()));
        }
        Action::Faster => {
            state.poll_every = (state.poll_every / 2).max(MIN_POLL);
            state.message = Some(format!("polling every {} s", state.poll_every.as_secs()));
        }
        Action::Reload => {
            state.full_wanted = true;
            state.reread_wanted = true;
            return start_poll(state);
        }
        // Handled by `bench::intercept`.
        Action::Bench => {}
        Action::CopyName => {
            if let Some(v) = state.selected_view() {
                let name = v.qualified_name.clone();
                state.message = Some(format!("copied {name}"));
                return vec![Effect::Copy(name)];
            }
        }
        Action::CopyDefinition => {
            if let Some(v) = state.selected_view() {
                match &v.definition {
                    Some(d) => {
                        let d = d.clone();
                        state.message = Some("copied the definition".into());
                        return vec![Effect::Copy(d)];
                    }
                    None => state.message = Some("the definition is not loaded yet".into()),
                }
            }
        }
        Action::Quit => {
            let running = state
                .jobs
                .values()
                .filter(|j| !matches!(j.state, JobState::Finished(_)))
                .count();
            if running > 0 {
                state.overlay = Overlay::Confirm {
                    question: format!(
                        "{running} refresh(es) still running: quitting cancels them. Quit? (y/n)"
                    ),
                    then: Box::new(PendingAction::Quit),
                };
            } else {
                return confirmed(state, PendingAction::Quit);
            }
        }
    }
    Vec::new()
}

fn move_by(state: &mut State, delta: i64) {
    if state.pane == Pane::Detail {
        let scroll = i64::from(state.detail_scroll) + delta.clamp(-1000, 1000);
        state.detail_scroll = scroll.clamp(0, i64::from(u16::MAX)) as u16;
        return;
    }
    if state.visible.is_empty() {
        return;
    }
    let row = state.selected_row().unwrap_or(0) as i64;
    let last = state.visible.len() as i64 - 1;
    let row = row.saturating_add(delta).clamp(0, last) as usize;
    state.selected = Some(state.views[state.visible[row]].oid);
    state.detail_scroll = 0;
}

/// Plans refreshes of `targets`; asks first when a plain refresh would block readers.
fn refresh(state: &mut State, targets: Vec<u32>, cascade: Option<Cascade>) -> Vec<Effect> {
    if targets.is_empty() {
        return Vec::new();
    }
    // Every way to a refresh ends here (keys, `:refresh`, the confirm prompt): refuse it
    // here too, so no path can bypass --read-only.
    if state.read_only {
        state.message = Some(READ_ONLY.into());
        return Vec::new();
    }
    if state.facts.as_ref().is_some_and(|f| f.in_recovery) {
        state.message =
            Some("the server is a standby: materialized views cannot be refreshed".into());
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
        if !mode.concurrently && v.lock_holders > 0 {
            blocking.push(format!(
                "{} ({} session{} reading it{}, ~{} each)",
                v.qualified_name,
                v.lock_holders,
                if v.lock_holders == 1 { "" } else { "s" },
                holders_named(state, v),
                v.avg_refresh_ms
                    .map(crate::format::duration_ms)
                    .unwrap_or_else(|| "unknown".into())
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

fn confirmed(state: &mut State, action: PendingAction) -> Vec<Effect> {
    if state.read_only && !matches!(action, PendingAction::Quit) {
        state.message = Some(READ_ONLY.into());
        return Vec::new();
    }
    match action {
        PendingAction::Quit => {
            state.quit = true;
            vec![Effect::Quit]
        }
        PendingAction::Signal { pid, signal } => sessions::confirmed_signal(state, pid, signal),
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

/// Keys as the terminal sends them: only presses count (Windows also sends releases).
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}
