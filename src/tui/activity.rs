//! The activity pane's state and its part of `update` (pure: no I/O, no clock reads): the
//! running statements' order, and pg_stat_statements, polled every few seconds and never
//! while the previous read is in flight. The sessions it lists come from the sessions poll
//! (`locks.rs`, which also holds the keys both session panes share).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::in_flight::InFlight;
use super::keymap::Action;
use super::locks::SessionsView;
use super::msg::Effect;
use super::state::{Pane, State};
use crate::catalog::sessions::SessionRow;
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
    /// The query texts' reads.
    pub text_reads: InFlight,
    /// The counters' reads.
    pub reads: InFlight,
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

impl SessionsView {
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

    pub fn running_row(&self) -> Option<usize> {
        let pid = self.running_selected?;
        self.running().iter().position(|r| r.pid == pid)
    }
}

/// The statements poll, when it fell due (`locks::tick` checked the connection first).
pub(super) fn poll_statements(state: &mut State) -> Option<Effect> {
    let now = state.now;
    let st = &mut state.sessions.statements;
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
        && st.reads.due(now, STATEMENTS_EVERY.max(state.polling.every))
        && let Some(generation) = st.reads.start(now)
    {
        return Some(Effect::PollStatements {
            generation,
            source: source.clone(),
        });
    }
    None
}

pub fn statements_arrived(
    state: &mut State,
    generation: u64,
    result: Result<Counters, String>,
) -> Vec<Effect> {
    let st = &mut state.sessions.statements;
    if !st.reads.accept(generation) {
        return Vec::new();
    }
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
    wanted_texts(st, state.now)
}

/// Reads the text of the heaviest statements not seen before.
fn wanted_texts(st: &mut StatementsView, now: DateTime<Utc>) -> Vec<Effect> {
    if st.text_reads.is_pending() {
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
    let source = source.clone();
    let Some(generation) = st.text_reads.start(now) else {
        return Vec::new();
    };
    vec![Effect::FetchStatementTexts {
        generation,
        source,
        queryids: ids,
    }]
}

pub fn texts_arrived(
    state: &mut State,
    generation: u64,
    result: Result<HashMap<i64, String>, String>,
) {
    let st = &mut state.sessions.statements;
    if !st.text_reads.accept(generation) {
        return;
    }
    match result {
        Ok(texts) => st.texts.extend(texts),
        Err(e) => st.error = Some(e),
    }
}

/// The activity pane's own keys (`locks::act` asks once either session pane has focus);
/// None: not its own.
pub(super) fn act(state: &mut State, action: Action) -> Option<Vec<Effect>> {
    let s = &mut state.sessions;
    match action {
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
        _ => return None,
    }
    Some(Vec::new())
}
