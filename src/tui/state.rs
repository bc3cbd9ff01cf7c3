//! Everything the console shows, as plain data. `update` changes it, `render` reads it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::keymap::Keymap;
use super::msg::DetailData;
use super::visible::VisibleBasis;
use crate::catalog::{MatView, ServerFacts};
use crate::ledger::MemoryLog;
use crate::refresh::plan::PlanRun;
use crate::refresh::{JobId, JobSpec, JobState};

/// Columns of the views table, in display order; each one sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Size,
    Rows,
    LastRefresh,
    AvgRefresh,
    Status,
    NextRun,
    Level,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Name,
        Column::Size,
        Column::Rows,
        Column::LastRefresh,
        Column::AvgRefresh,
        Column::Status,
        Column::NextRun,
        Column::Level,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Size => "size",
            Column::Rows => "rows",
            Column::LastRefresh => "last refresh",
            Column::AvgRefresh => "avg refresh",
            Column::Status => "status",
            Column::NextRun => "next run",
            Column::Level => "level",
        }
    }

    pub fn parse(text: &str) -> Option<Column> {
        let t = text.trim().to_lowercase().replace(['_', '-'], " ");
        Column::ALL
            .into_iter()
            .find(|c| c.title() == t || c.title().split(' ').next() == Some(t.as_str()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Views,
    Detail,
    Jobs,
    /// Lock waits, as a tree of who blocks whom (in place of the views and detail).
    Locks,
    /// Running statements and pg_stat_statements (in place of the views and detail).
    Activity,
    /// Every schedule with its next run (in place of the views and detail).
    Schedules,
}

/// What is drawn over the panes and takes the keys first.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    /// The `/` filter being typed.
    Filter,
    /// The `:` command line being typed.
    Command,
    /// The `s` form: one MV's schedule being typed, checked as it is typed.
    Schedule {
        oid: u32,
        error: Option<String>,
    },
    /// A question; `y` does `then`.
    Confirm {
        question: String,
        then: Box<PendingAction>,
    },
}

/// An action waiting for a yes.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingAction {
    Refresh(Vec<JobSpec>),
    /// The benchmark with a plain refresh per round (`B`).
    BenchWithRefresh(JobSpec),
    /// Cancel the query of, or terminate, a session.
    Signal {
        pid: i32,
        signal: crate::catalog::sessions::Signal,
    },
    Quit,
}

/// The state of the connection as the last poll saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Connecting,
    Ok,
    /// The last poll failed; the runtime reconnects with backoff.
    Lost {
        error: String,
        since: DateTime<Utc>,
    },
}

/// A refresh job as the jobs pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub spec: std::sync::Arc<JobSpec>,
    pub state: JobState,
    pub queued_at: DateTime<Utc>,
    /// When its REFRESH went to the server (first attempt).
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub target: String,
    pub facts: Option<ServerFacts>,
    pub views: Vec<MatView>,
    pub hints: Vec<String>,
    /// Indices into `views`, filtered and sorted: what the table shows.
    pub visible: Vec<usize>,
    /// Bumped whenever `views` is replaced (indices into the old one mean nothing).
    pub views_generation: u64,
    /// What `visible` was computed from: a filter typed one more character narrows it
    /// instead of filtering and sorting every MV again (20,000 MVs, a key each).
    pub(super) visible_basis: Option<VisibleBasis>,
    /// The longest name and the table width it wants, kept with `visible`.
    pub name_widths: super::columns::NameWidths,
    /// The selected MV, by oid, so it survives a re-poll and re-sorting.
    pub selected: Option<u32>,
    pub marked: HashSet<u32>,
    pub sort: Sort,
    pub filter: String,
    /// Text being typed in the filter or command overlay.
    pub input: tui_input::Input,
    pub overlay: Overlay,
    pub pane: Pane,
    pub jobs: BTreeMap<JobId, JobView>,
    /// Refresh plans being carried out (cascades), one step at a time.
    pub plans: Vec<PlanRun>,
    /// Runs that no ledger recorded: kept here and shown as if it had.
    pub memory_log: MemoryLog,
    /// Inventory polls: every `polling.every` unless paused; what the next one reads.
    pub polling: super::polling::Polling,
    /// The inventory poll in flight (one at a time, stale answers dropped), and when the
    /// last one started. Not in `Polling` yet: tests/privileges.rs and tests/hostile_names.rs
    /// set these two fields by name.
    pub health: Health,
    pub read_only: bool,
    pub keymap: Keymap,
    /// The clock, as the last tick brought it: `update` and `render` never read one.
    pub now: DateTime<Utc>,
    /// The terminal's size, as the runtime last reported it: paging moves by the rows the
    /// pane shows at this size.
    pub screen: ratatui::layout::Rect,
    /// A one-line message at the bottom (results, refusals, errors).
    pub message: Option<String>,
    pub detail_scroll: u16,
    /// What the detail pane read for one MV.
    pub detail: Option<(u32, DetailData)>,
    /// The detail's reads (of the MV in `Msg::Detail`).
    pub detail_reads: super::in_flight::InFlight,
    /// Sessions, lock waits and statement timing (the locks and activity panes).
    pub sessions: super::locks::SessionsView,
    pub schedules: super::schedules::ScheduleBook,
    /// MV oid -> its base tables' write counters when its running refresh was first seen.
    pub writes_at_refresh_start: HashMap<u32, i64>,
    /// Benchmarks of this session, per MV.
    pub benches: super::bench::Benches,
    pub quit: bool,
}

impl State {
    pub fn new(target: String, read_only: bool, poll_every: Duration, now: DateTime<Utc>) -> State {
        State {
            target,
            facts: None,
            views: Vec::new(),
            views_generation: 0,
            visible_basis: None,
            name_widths: Default::default(),
            hints: Vec::new(),
            visible: Vec::new(),
            selected: None,
            marked: HashSet::new(),
            sort: Sort {
                column: Column::Name,
                descending: false,
            },
            filter: String::new(),
            input: tui_input::Input::default(),
            overlay: Overlay::None,
            pane: Pane::Views,
            jobs: BTreeMap::new(),
            plans: Vec::new(),
            memory_log: MemoryLog::default(),
            polling: super::polling::Polling::new(poll_every),
            health: Health::Connecting,
            read_only,
            keymap: Keymap::default(),
            now,
            // Until the runtime reports the real size: a classic terminal.
            screen: ratatui::layout::Rect::new(0, 0, 80, 24),
            message: None,
            detail_scroll: 0,
            detail: None,
            detail_reads: Default::default(),
            sessions: Default::default(),
            schedules: Default::default(),
            writes_at_refresh_start: HashMap::new(),
            benches: super::bench::Benches::default(),
            quit: false,
        }
    }

    pub fn selected_view(&self) -> Option<&MatView> {
        let oid = self.selected?;
        self.views.iter().find(|v| v.oid == oid)
    }

    /// Position of the selection in `visible`.
    pub fn selected_row(&self) -> Option<usize> {
        let oid = self.selected?;
        self.visible.iter().position(|&i| self.views[i].oid == oid)
    }

    /// Where the selection is, to find a sensible one again should its MV go away.
    pub fn place(&self) -> Option<Place> {
        let row = self.selected_row()?;
        let v = self.selected_view()?;
        Some(Place {
            oid: v.oid,
            row,
            schema: v.schema.clone(),
            name: v.name.clone(),
        })
    }

    /// After new data: when the selected MV is gone (dropped, or recreated under a new
    /// oid), select the MV of the same name if there is one (recreated), else the row that
    /// took its place (the next one; the last when it was the last), never jump to the top.
    pub fn keep_place(&mut self, place: Option<Place>) {
        let Some(place) = place else {
            return;
        };
        if self.views.iter().any(|v| v.oid == place.oid) {
            return;
        }
        let same_name = self
            .visible
            .iter()
            .find(|&&i| self.views[i].schema == place.schema && self.views[i].name == place.name);
        let row = place.row.min(self.visible.len().saturating_sub(1));
        self.selected = same_name
            .or_else(|| self.visible.get(row))
            .map(|&i| self.views[i].oid);
    }

    /// The job of this MV that has not finished, if any.
    pub fn active_job_for(&self, oid: u32) -> Option<(&JobId, &JobView)> {
        self.jobs
            .iter()
            .find(|(_, j)| j.spec.target.oid == oid && !matches!(j.state, JobState::Finished(_)))
    }
}

/// The selection's row and MV name (see `State::place`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub oid: u32,
    pub row: usize,
    pub schema: String,
    pub name: String,
}
