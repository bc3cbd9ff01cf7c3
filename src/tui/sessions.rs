//! The locks and activity panes: their state and their part of `update` (pure: no I/O,
//! no clock reads). Sessions are polled at the console's interval, pg_stat_statements
//! every few seconds; a poll is never started while the previous one is in flight.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::keymap::Action;
use super::msg::Effect;
use super::state::{Overlay, Pane, PendingAction, State};
use crate::catalog::locks::{MvLocks, TreeLine, mv_locks, wait_tree};
use crate::catalog::sessions::{SessionRow, Sessions, Signal};
use crate::catalog::statements::{self, Counters, PssAccess, PssSource, StatementStat};

/// pg_stat_statements costs more than the sessions poll: read it this often.
pub const STATEMENTS_EVERY: Duration = Duration::from_secs(5);
/// Statements listed (and whose text is read).
pub const TOP_STATEMENTS: usize = 50;

/// How the running statements are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunningSort {
    #[default]
    Elapsed,
    Pid,
    User,
    Application,
    State,
}

impl RunningSort {
    pub const ALL: [RunningSort; 5] = [
        RunningSort::Elapsed,
        RunningSort::Pid,
        RunningSort::User,
        RunningSort::Application,
        RunningSort::State,
    ];

    pub fn title(self) -> &'static str {
        match self {
            RunningSort::Elapsed => "elapsed",
            RunningSort::Pid => "pid",
            RunningSort::User => "user",
            RunningSort::Application => "application",
            RunningSort::State => "state",
        }
    }
}

/// pg_stat_statements as the activity pane shows it.
#[derive(Debug, Clone, Default)]
pub struct StatementsView {
    /// None until the server facts are known; Err: the one line saying what to do.
    pub access: Option<Result<PssSource, String>>,
    /// A limit on what is visible (e.g. only this role's statements).
    pub note: Option<String>,
    /// The last read, and when it arrived.
    pub latest: Option<(DateTime<Utc>, Counters)>,
    /// What happened between the last two reads, and over how many seconds.
    pub window: Option<(f64, Counters)>,
    pub texts: HashMap<i64, String>,
    pub texts_in_flight: bool,
    pub generation: u64,
    pub in_flight: bool,
    pub last_at: Option<DateTime<Utc>>,
    /// Totals since the last reset instead of the last window.
    pub cumulative: bool,
    /// REFRESH statements only.
    pub refresh_only: bool,
    pub error: Option<String>,
}

impl StatementsView {
    /// The rows to show, heaviest first.
    pub fn top(&self) -> Vec<StatementStat> {
        match (self.cumulative, &self.window, &self.latest) {
            (false, Some((secs, c)), _) => statements::top(
                c,
                &self.texts,
                Some(*secs),
                TOP_STATEMENTS,
                self.refresh_only,
            ),
            (true, _, Some((_, c))) => {
                statements::top(c, &self.texts, None, TOP_STATEMENTS, self.refresh_only)
            }
            _ => Vec::new(),
        }
    }
}

/// Sessions, lock waits and statements, as the last polls saw them.
#[derive(Debug, Clone, Default)]
pub struct SessionsView {
    pub data: Option<Sessions>,
    /// When `data` arrived: elapsed times tick on from there.
    pub polled_at: Option<DateTime<Utc>>,
    pub generation: u64,
    pub in_flight: bool,
    pub last_at: Option<DateTime<Utc>>,
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

impl SessionsView {
    /// The locks pane's lines about MVs: one for readers waiting on an MV, one for its
    /// refresh waiting behind others.
    pub fn mv_summary_lines(&self) -> usize {
        self.mv_locks
            .values()
            .map(|m| usize::from(m.waiters > 0) + usize::from(!m.refresh_waits_behind.is_empty()))
            .sum()
    }

    /// The running statements, in the chosen order.
    pub fn running(&self) -> Vec<&SessionRow> {
        let Some(data) = &self.data else {
            return Vec::new();
        };
        let mut rows: Vec<&SessionRow> = data.rows.iter().filter(|r| r.is_running()).collect();
        rows.sort_by(|a, b| {
            let ord = match self.running_sort {
                RunningSort::Elapsed => b
                    .elapsed_ms
                    .unwrap_or(0.0)
                    .total_cmp(&a.elapsed_ms.unwrap_or(0.0)),
                RunningSort::Pid => a.pid.cmp(&b.pid),
                RunningSort::User => a.user.cmp(&b.user),
                RunningSort::Application => a.application.cmp(&b.application),
                RunningSort::State => a.state.cmp(&b.state),
            };
            ord.then(a.pid.cmp(&b.pid))
        });
        rows
    }

    pub fn locks_row(&self) -> Option<usize> {
        let (pid, parent) = self.locks_selected?;
        self.tree
            .iter()
            .position(|l| l.pid == pid && l.parent == parent)
            .or_else(|| self.tree.iter().position(|l| l.pid == pid))
    }

    pub fn running_row(&self) -> Option<usize> {
        let pid = self.running_selected?;
        self.running().iter().position(|r| r.pid == pid)
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

/// Ticks come every second give or take a few milliseconds: a tick a hair early must not
/// push a 1 s poll to 2 s.
const TICK_SLACK: Duration = Duration::from_millis(100);

pub(super) fn due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, every: Duration) -> bool {
    last.is_none_or(|at| (now - at).to_std().unwrap_or_default() + TICK_SLACK >= every)
}

/// On every tick: the polls that fell due.
pub fn tick(state: &mut State) -> Vec<Effect> {
    // While the connection is lost the inventory poll reconnects, with backoff; these wait.
    if state.paused || matches!(state.health, super::state::Health::Lost { .. }) {
        return Vec::new();
    }
    let mut effects = Vec::new();
    let now = state.now;
    let s = &mut state.sessions;
    if !s.in_flight && due(s.last_at, now, state.poll_every) {
        s.in_flight = true;
        s.generation += 1;
        s.last_at = Some(now);
        effects.push(Effect::PollSessions {
            generation: s.generation,
        });
    }
    let st = &mut s.statements;
    if st.access.is_none()
        && let Some(facts) = &state.facts
    {
        match statements::access(facts) {
            PssAccess::Usable { source, note } => {
                st.access = Some(Ok(source));
                st.note = note;
            }
            PssAccess::Unavailable(why) => st.access = Some(Err(why)),
        }
    }
    if let Some(Ok(source)) = &st.access
        && !st.in_flight
        && due(st.last_at, now, STATEMENTS_EVERY.max(state.poll_every))
    {
        st.in_flight = true;
        st.generation += 1;
        st.last_at = Some(now);
        effects.push(Effect::PollStatements {
            generation: st.generation,
            source: source.clone(),
        });
    }
    effects
}

pub fn sessions_arrived(
    state: &mut State,
    generation: u64,
    result: Result<Sessions, String>,
) -> Vec<Effect> {
    let s = &mut state.sessions;
    if generation != s.generation {
        return Vec::new();
    }
    s.in_flight = false;
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

pub fn statements_arrived(
    state: &mut State,
    generation: u64,
    result: Result<Counters, String>,
) -> Vec<Effect> {
    let st = &mut state.sessions.statements;
    if generation != st.generation {
        return Vec::new();
    }
    st.in_flight = false;
    let counters = match result {
        Ok(c) => c,
        Err(e) => {
            // Not preloaded (only known once read) or revoked: stop asking, say what to do.
            if e == statements::NOT_LOADED {
                st.access = Some(Err(e));
            } else {
                st.error = Some(e);
            }
            return Vec::new();
        }
    };
    st.error = None;
    if let Some((at, before)) = &st.latest {
        let secs = (state.now - *at).num_milliseconds().max(1) as f64 / 1000.0;
        st.window = Some((secs, counters.since(before)));
    }
    st.latest = Some((state.now, counters));
    wanted_texts(st)
}

/// Reads the text of the heaviest statements not seen before.
fn wanted_texts(st: &mut StatementsView) -> Vec<Effect> {
    if st.texts_in_flight {
        return Vec::new();
    }
    let Some(Ok(source)) = &st.access else {
        return Vec::new();
    };
    let mut ids: Vec<i64> = Vec::new();
    for c in [
        st.window.as_ref().map(|w| &w.1),
        st.latest.as_ref().map(|l| &l.1),
    ]
    .into_iter()
    .flatten()
    {
        ids.extend(statements::heaviest(c, TOP_STATEMENTS));
    }
    ids.retain(|id| !st.texts.contains_key(id));
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Vec::new();
    }
    st.texts_in_flight = true;
    vec![Effect::FetchStatementTexts {
        source: source.clone(),
        queryids: ids,
    }]
}

pub fn texts_arrived(state: &mut State, result: Result<HashMap<i64, String>, String>) {
    let st = &mut state.sessions.statements;
    st.texts_in_flight = false;
    match result {
        Ok(texts) => st.texts.extend(texts),
        Err(e) => st.error = Some(e),
    }
}

/// The outcome of a cancel or terminate, in one line; the next poll shows its effect now.
pub fn signalled(state: &mut State, result: Result<String, String>) -> Vec<Effect> {
    state.message = Some(match result {
        Ok(line) | Err(line) => line,
    });
    state.sessions.last_at = None;
    tick(state)
}

/// The keys of the locks and activity panes; None: not theirs, the views' meaning holds.
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
        Action::SortNext if state.pane == Pane::Activity => {
            let i = RunningSort::ALL
                .iter()
                .position(|c| *c == s.running_sort)
                .unwrap_or(0);
            s.running_sort = RunningSort::ALL[(i + 1) % RunningSort::ALL.len()];
            state.message = Some(format!("running statements by {}", s.running_sort.title()));
        }
        Action::ToggleCumulative => {
            let st = &mut s.statements;
            st.cumulative = !st.cumulative;
            state.message = Some(
                if st.cumulative {
                    "statements: totals since the last pg_stat_statements reset"
                } else {
                    "statements: the last interval"
                }
                .into(),
            );
        }
        Action::RefreshOnly => {
            let st = &mut s.statements;
            st.refresh_only = !st.refresh_only;
            state.message = Some(
                if st.refresh_only {
                    "statements: REFRESH only"
                } else {
                    "statements: all"
                }
                .into(),
            );
        }
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
