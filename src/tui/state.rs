//! Everything the console shows, as plain data. `update` changes it, `render` reads it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::keymap::Keymap;
use super::msg::DetailData;
use crate::catalog::pulse::{Baseline, Fingerprint};
use crate::catalog::{MatView, MvStatus, ServerFacts};
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
    visible_basis: Option<VisibleBasis>,
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
    /// Inventory polls: every `poll_every` unless paused; one at a time, stale ones dropped.
    pub poll_every: Duration,
    pub paused: bool,
    pub poll_generation: u64,
    pub poll_in_flight: bool,
    pub last_poll_at: Option<DateTime<Utc>>,
    /// The full inventory is read again when the pulse's fingerprint moves away from this,
    /// when asked (Ctrl-r, a finished job), and every few minutes.
    pub fingerprint: Option<Fingerprint>,
    /// What the last pulse saw: the next one computes only what moved since.
    pub pulse_baseline: Baseline,
    /// Every table some MV reads, once each: worked out on the first pulse after an
    /// inventory, not on every one.
    pub base_tables: Option<Vec<u32>>,
    /// The MVs' base tables' last write counters.
    pub table_writes: crate::catalog::writes::TableWrites,
    pub last_full_at: Option<DateTime<Utc>>,
    pub full_wanted: bool,
    /// Inventory reads that read every MV's size again (Ctrl-r, every few minutes): the
    /// others read only the MVs that changed. Definitions again on every third.
    pub sizes_read_at: Option<DateTime<Utc>>,
    pub sizes_reads: u32,
    /// Ctrl-r: read everything again, whatever is known.
    pub reread_wanted: bool,
    /// The first read left definitions out: the next one reads them.
    pub definitions_pending: bool,
    pub health: Health,
    /// Polls failed in a row: the pause before the next one grows with it.
    pub poll_failures: u32,
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
    /// The MV whose detail is being read.
    pub detail_in_flight: Option<u32>,
    /// Sessions, lock waits and statement timing (the locks and activity panes).
    pub sessions: super::sessions::SessionsView,
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
            poll_every,
            paused: false,
            poll_generation: 0,
            poll_in_flight: false,
            last_poll_at: None,
            fingerprint: None,
            pulse_baseline: Baseline::default(),
            base_tables: None,
            table_writes: HashMap::new(),
            last_full_at: None,
            full_wanted: true,
            sizes_read_at: None,
            sizes_reads: 0,
            reread_wanted: false,
            definitions_pending: false,
            health: Health::Connecting,
            poll_failures: 0,
            read_only,
            keymap: Keymap::default(),
            now,
            // Until the runtime reports the real size: a classic terminal.
            screen: ratatui::layout::Rect::new(0, 0, 80, 24),
            message: None,
            detail_scroll: 0,
            detail: None,
            detail_in_flight: None,
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

    /// Recomputes `visible` from the filter and sort, keeping the selection when it is still
    /// shown and moving it to the first row otherwise.
    pub fn recompute_visible(&mut self) {
        let filter = Filter::new(&self.filter);
        let basis = VisibleBasis {
            generation: self.views_generation,
            len: self.views.len(),
            sort: self.sort,
            filter: self.filter.clone(),
        };
        if let Some(before) = &self.visible_basis
            && before.narrows_to(&basis)
        {
            // Same MVs in the same order, fewer of them: sorting again changes nothing.
            let views = &self.views;
            self.visible.retain(|&i| filter.matches(&views[i]));
            self.visible_basis = Some(basis);
            if self.selected_row().is_none() {
                self.selected = self.visible.first().map(|&i| self.views[i].oid);
            }
            return;
        }
        let mut visible: Vec<usize> = (0..self.views.len())
            .filter(|&i| filter.matches(&self.views[i]))
            .collect();
        let views = &self.views;
        let sort = self.sort;
        // Unscheduled last; waiting for writes after any timed run.
        let next_key = |v: &MatView| {
            use super::schedules::NextRun;
            match self.schedules.next_run(v, self.now) {
                Some(NextRun::Now) => (0, None),
                Some(NextRun::At(t)) => (1, Some(t)),
                Some(NextRun::AfterRunning) => (2, None),
                Some(NextRun::WhenQuiet) => (3, None),
                Some(NextRun::OnChange) => (4, None),
                Some(NextRun::Never) => (5, None),
                None => (6, None),
            }
        };
        visible.sort_by(|&a, &b| {
            let (a, b) = (&views[a], &views[b]);
            let by_name = || (&a.schema, &a.name).cmp(&(&b.schema, &b.name));
            let ord = match sort.column {
                Column::Name => by_name(),
                Column::Size => a.total_bytes.cmp(&b.total_bytes),
                Column::Rows => a.rows_estimate.cmp(&b.rows_estimate),
                Column::LastRefresh => a.last_refresh.cmp(&b.last_refresh),
                Column::AvgRefresh => a
                    .avg_refresh_ms
                    .unwrap_or(-1.0)
                    .total_cmp(&b.avg_refresh_ms.unwrap_or(-1.0)),
                Column::Status => status_rank(a.status).cmp(&status_rank(b.status)),
                Column::Level => a.refresh_level.cmp(&b.refresh_level),
                Column::NextRun => next_key(a).cmp(&next_key(b)),
            };
            let ord = if sort.descending { ord.reverse() } else { ord };
            ord.then_with(by_name)
        });
        self.visible = visible;
        self.visible_basis = Some(basis);
        if self.selected_row().is_none() {
            self.selected = self.visible.first().map(|&i| self.views[i].oid);
        }
    }
}

/// The inputs `visible` was last computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VisibleBasis {
    generation: u64,
    len: usize,
    sort: Sort,
    filter: String,
}

impl VisibleBasis {
    /// True when `next` shows a subset of what `self` showed, in the same order: the same
    /// MVs and sort, and a plain substring filter that contains the one before (a regex
    /// typed one more character can match more).
    fn narrows_to(&self, next: &VisibleBasis) -> bool {
        let plain = |f: &str| matches!(Filter::new(f), Filter::All | Filter::Substring(_));
        self.generation == next.generation
            && self.len == next.len
            && self.sort == next.sort
            && self.sort.column != Column::NextRun
            && plain(&self.filter)
            && plain(&next.filter)
            && next
                .filter
                .to_lowercase()
                .contains(&self.filter.to_lowercase())
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

/// The `/` filter: a case-insensitive substring, or a regular expression when the text
/// has regex syntax in it (`^rpt\.`, `daily$`, `(hourly|daily)`) and compiles. A regex
/// also matches its text as a substring, so a name typed as it is (`top\x`, `a (b)`)
/// always finds itself.
enum Filter {
    All,
    Substring(String),
    Regex(regex_lite::Regex, String),
}

impl Filter {
    fn new(text: &str) -> Filter {
        if text.is_empty() {
            return Filter::All;
        }
        let looks_like_regex = text.contains(['^', '$', '*', '+', '?', '(', '[', '{', '|', '\\']);
        if looks_like_regex
            && let Ok(re) = regex_lite::RegexBuilder::new(text)
                .case_insensitive(true)
                .build()
        {
            return Filter::Regex(re, text.to_lowercase());
        }
        Filter::Substring(text.to_lowercase())
    }

    /// On the name, the schema, and `schema.name`.
    fn matches(&self, v: &MatView) -> bool {
        let contains = |needle: &str| {
            // A needle without a dot cannot span the one in `schema.name`.
            let plain = if needle.contains('.') {
                contains_folded(&format!("{}.{}", v.schema, v.name), needle)
            } else {
                contains_folded(&v.schema, needle) || contains_folded(&v.name, needle)
            };
            plain || contains_folded(&v.qualified_name, needle)
        };
        match self {
            Filter::All => true,
            Filter::Substring(needle) => contains(needle),
            Filter::Regex(re, needle) => {
                re.is_match(&v.name)
                    || re.is_match(&v.schema)
                    || re.is_match(&format!("{}.{}", v.schema, v.name))
                    || contains(needle)
            }
        }
    }
}

/// `haystack.to_lowercase().contains(needle)` for a lowercase `needle`, without
/// allocating for ASCII names (the filter runs over every MV on each key).
fn contains_folded(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

fn status_rank(s: MvStatus) -> u8 {
    match s {
        MvStatus::Failed => 0,
        MvStatus::RefreshingStale => 1,
        MvStatus::Refreshing => 2,
        MvStatus::Stale => 3,
        MvStatus::NeverPopulated => 4,
        MvStatus::Populated | MvStatus::UnknownOnStandby => 5,
        MvStatus::Fresh => 6,
    }
}
