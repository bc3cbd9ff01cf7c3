//! The views pane's actions: what a key does once no overlay took it (moving, marking,
//! sorting, focusing panes, refreshing, polling speed, copying, quitting). Panes with keys
//! of their own (bench, locks, activity, schedules) answer first.

use super::jobs::{READ_ONLY, confirmed, refresh};
use super::keymap::{Action, changes_database};
use super::locks;
use super::msg::Effect;
use super::polling::{MAX_POLL, MIN_POLL, poll_if_due, start_poll};
use super::schedules;
use super::state::{Column, Overlay, Pane, PendingAction, State};
use crate::refresh::JobState;
use crate::refresh::plan::Cascade;

pub(super) fn act(state: &mut State, action: Action) -> Vec<Effect> {
    if let Some(effects) = super::bench::intercept(state, action) {
        return effects;
    }
    if state.read_only && changes_database(action) {
        state.message = Some(READ_ONLY.into());
        return Vec::new();
    }
    if let Some(effects) = locks::act(state, action) {
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
        // The locks and activity panes' own keys (locks::act answered them).
        // The schedules pane's own keys (schedules::act answered them).
        Action::FocusSchedules | Action::EditSchedule | Action::ApplyAdvice => {}
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
            state.polling.paused = !state.polling.paused;
            state.message = Some(
                if state.polling.paused {
                    "polling paused"
                } else {
                    "polling resumed"
                }
                .into(),
            );
            if !state.polling.paused {
                return poll_if_due(state);
            }
        }
        Action::Slower => {
            state.polling.every = (state.polling.every * 2).min(MAX_POLL);
            state.message = Some(format!("polling every {} s", state.polling.every.as_secs()));
        }
        Action::Faster => {
            state.polling.every = (state.polling.every / 2).max(MIN_POLL);
            state.message = Some(format!("polling every {} s", state.polling.every.as_secs()));
        }
        Action::Reload => {
            state.polling.full_wanted = true;
            state.polling.reread_wanted = true;
            return start_poll(state);
        }
        // Handled by `bench::intercept`.
        Action::Bench | Action::BenchWithRefresh => {}
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
                        let d = d.to_string();
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
