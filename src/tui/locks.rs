//! The locks pane's state and its part of `update` (pure: no I/O, no clock reads), and the
//! sessions poll it shares with the activity pane: polled at the console's interval, never
//! while the previous poll is in flight. The keys both session panes share (moving,
//! expanding, cancel and terminate) are here too; the activity pane's own are in
//! `activity.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::activity::{RunningSort, StatementsView};
use super::in_flight::InFlight;
use super::keymap::Action;
use super::msg::Effect;
use super::state::{Overlay, Pane, PendingAction, State};
use crate::catalog::locks::{MvLocks, TreeLine, mv_locks, wait_tree};
use crate::catalog::sessions::{Sessions, Signal};

/// Sessions, lock waits and statements, as the last polls saw them.
#[derive(Debug, Clone, Default)]
pub struct SessionsView {
    pub data: Option<Sessions>,
    /// When `data` arrived: elapsed times tick on from there.
    pub polled_at: Option<DateTime<Utc>>,
    pub reads: InFlight,
    pub error: Option<String>,
    /// Derived from `data` when it arrives.
    pub tree: Vec<TreeLine>,
    pub mv_locks: HashMap<u32, MvLocks>,
    /// The selected line of the wait tree, as (pid, parent): it survives a re-poll.
    pub locks_selected: Option<(i32, Option<i32>)>,
    pub running_selected: Option<i32>,
    pub running_sort: RunningSort,
    /// The selected session's whole query and details are shown.
    pub expanded: bool,
    pub statements: StatementsView,
}

/// A line of the locks pane's MV summary: readers wait on the MV, or its refresh waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MvLine {
    Waiters,
    RefreshWaits,
}

impl SessionsView {
    /// The locks pane's lines about MVs, by oid: one for readers waiting on an MV, one for
    /// its refresh waiting behind others. The pane draws these and the layout counts them.
    pub fn mv_summary(&self) -> Vec<(u32, &MvLocks, MvLine)> {
        let mut mvs: Vec<(&u32, &MvLocks)> = self.mv_locks.iter().collect();
        mvs.sort_by_key(|(oid, _)| **oid);
        let mut lines = Vec::new();
        for (oid, m) in mvs {
            if m.waiters > 0 {
                lines.push((*oid, m, MvLine::Waiters));
            }
            if !m.refresh_waits_behind.is_empty() {
                lines.push((*oid, m, MvLine::RefreshWaits));
            }
        }
        lines
    }

    pub fn mv_summary_lines(&self) -> usize {
        self.mv_summary().len()
    }

    pub fn locks_row(&self) -> Option<usize> {
        let (pid, parent) = self.locks_selected?;
        self.tree
            .iter()
            .position(|l| l.pid == pid && l.parent == parent)
            .or_else(|| self.tree.iter().position(|l| l.pid == pid))
    }

    /// The session the keys act on in `pane`.
    pub fn selected_pid(&self, pane: Pane) -> Option<i32> {
        match pane {
            Pane::Locks => self.locks_row().map(|i| self.tree[i].pid),
            Pane::Activity => self.running_row().map(|_| self.running_selected)?,
            _ => None,
        }
    }

    /// How long ago `data` arrived, so times shown keep moving between polls.
    pub fn since_poll_ms(&self, now: DateTime<Utc>) -> f64 {
        self.polled_at
            .map_or(0.0, |at| (now - at).num_milliseconds().max(0) as f64)
    }

    pub fn waiting_count(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.waiting().count())
    }
}

/// On every tick: the sessions poll and the statements poll, when they fell due.
pub fn tick(state: &mut State) -> Vec<Effect> {
    // While the connection is lost the inventory poll reconnects, with backoff; these wait.
    if state.polling.paused || matches!(state.health, super::state::Health::Lost { .. }) {
        return Vec::new();
    }
    let mut effects = Vec::new();
    let now = state.now;
    let s = &mut state.sessions;
    if s.reads.due(now, state.polling.every)
        && let Some(generation) = s.reads.start(now)
    {
        effects.push(Effect::PollSessions { generation });
    }
    effects.extend(super::activity::poll_statements(state));
    effects
}

pub fn sessions_arrived(
    state: &mut State,
    generation: u64,
    result: Result<Sessions, String>,
) -> Vec<Effect> {
    let s = &mut state.sessions;
    if !s.reads.accept(generation) {
        return Vec::new();
    }
    match result {
        Ok(data) => {
            s.tree = wait_tree(&data);
            s.mv_locks = mv_locks(&data);
            s.data = Some(data);
            s.polled_at = Some(state.now);
            s.error = None;
            if s.locks_row().is_none() {
                s.locks_selected = s.tree.first().map(|l| (l.pid, l.parent));
            }
            if s.running_row().is_none() {
                s.running_selected = s.running().first().map(|r| r.pid);
            }
        }
        Err(e) => s.error = Some(e),
    }
    Vec::new()
}

/// The outcome of a cancel or terminate, in one line; the next poll shows its effect now.
pub fn signalled(state: &mut State, result: Result<String, String>) -> Vec<Effect> {
    state.message = Some(match result {
        Ok(line) | Err(line) => line,
    });
    state.sessions.reads.due_now();
    tick(state)
}

/// The keys of the locks and activity panes (both list sessions); None: not theirs, the
/// views' meaning holds.
pub fn act(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    match action {
        Action::FocusLocks => {
            state.pane = Pane::Locks;
            return Some(Vec::new());
        }
        Action::FocusActivity => {
            state.pane = Pane::Activity;
            return Some(Vec::new());
        }
        _ => {}
    }
    if !matches!(state.pane, Pane::Locks | Pane::Activity) {
        return match action {
            Action::Terminate | Action::ToggleCumulative | Action::RefreshOnly => {
                state.message = Some(format!(
                    "{} (locks) or {} (activity) first",
                    state.keymap.key_of(Action::FocusLocks),
                    state.keymap.key_of(Action::FocusActivity)
                ));
                Some(Vec::new())
            }
            _ => None,
        };
    }
    if let Some(effects) = super::activity::act(state, action) {
        return Some(effects);
    }
    let s = &mut state.sessions;
    match action {
        Action::Up => move_by(state, -1),
        Action::Down => move_by(state, 1),
        Action::PageUp => move_by(state, -(super::layout::page_rows(state) as i64)),
        Action::PageDown => move_by(state, super::layout::page_rows(state) as i64),
        Action::Top => move_by(state, i64::MIN / 2),
        Action::Bottom => move_by(state, i64::MAX / 2),
        Action::Expand => s.expanded = !s.expanded,
        Action::Back if s.expanded => s.expanded = false,
        Action::CancelJob => return Some(ask_signal(state, Signal::Cancel)),
        Action::Terminate => return Some(ask_signal(state, Signal::Terminate)),
        _ => return None,
    }
    Some(Vec::new())
}

fn move_by(state: &mut State, delta: i64) {
    let s = &mut state.sessions;
    let len = match state.pane {
        Pane::Locks => s.tree.len(),
        _ => s.running().len(),
    };
    if len == 0 {
        return;
    }
    let row = match state.pane {
        Pane::Locks => s.locks_row(),
        _ => s.running_row(),
    }
    .unwrap_or(0) as i64;
    let row = row.saturating_add(delta).clamp(0, len as i64 - 1) as usize;
    match state.pane {
        Pane::Locks => s.locks_selected = Some((s.tree[row].pid, s.tree[row].parent)),
        _ => s.running_selected = Some(s.running()[row].pid),
    }
}

/// Asks before signalling the selected session.
fn ask_signal(state: &mut State, signal: Signal) -> Vec<Effect> {
    let Some(pid) = state.sessions.selected_pid(state.pane) else {
        state.message = Some("no session selected".into());
        return Vec::new();
    };
    let who = crate::catalog::locks::describe(state.sessions.data.as_ref(), pid);
    let consequence = match signal {
        Signal::Cancel => "its current query fails; the session stays",
        Signal::Terminate => "its connection closes and an open transaction rolls back",
    };
    state.overlay = Overlay::Confirm {
        question: format!("{} {who}? {consequence}. (y/n)", capitalised(signal.verb())),
        then: Box::new(PendingAction::Signal { pid, signal }),
    };
    Vec::new()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `y` to a cancel or terminate.
pub fn confirmed_signal(state: &mut State, pid: i32, signal: Signal) -> Vec<Effect> {
    state.message = Some(format!("signalling pid {pid}…"));
    vec![Effect::Signal { pid, signal }]
}

/// What the jobs pane says a waiting refresh waits behind.
pub fn blockers_phrase(state: &State, pids: &[i32]) -> String {
    if pids.is_empty() {
        return "another session".into();
    }
    pids.iter()
        .map(|&p| crate::catalog::locks::describe(state.sessions.data.as_ref(), p))
        .collect::<Vec<_>>()
        .join("; ")
}
