//! What reaches `update` (messages) and what it asks the runtime to do (effects).

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::KeyEvent;

use crate::catalog::Inventory;
use crate::catalog::indexes::MvIndex;
use crate::catalog::pulse::Pulse;
use crate::ledger::RefreshRecord;

/// What the detail pane reads for the selected MV only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailData {
    /// Newest first.
    pub runs: Vec<RefreshRecord>,
    pub indexes: Vec<MvIndex>,
}
use crate::refresh::{JobEvent, JobId, JobSpec};

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// The mouse, at a cell of the screen (0-based, as crossterm counts); only when the
    /// console captures it (not with `--no-mouse`).
    Mouse {
        kind: Pointer,
        column: u16,
        row: u16,
    },
    /// The terminal changed size (columns, rows): redraw; pages follow the new height.
    Resize {
        width: u16,
        height: u16,
    },
    /// The clock moved on; polls fall due.
    Tick(DateTime<Utc>),
    /// An inventory poll ended; results of an older generation are dropped.
    Inventory {
        generation: u64,
        result: Result<Box<Inventory>, String>,
    },
    /// A pulse ended (fingerprint and activity); stale generations are dropped too.
    Pulse {
        generation: u64,
        result: Result<Pulse, String>,
    },
    /// The recorded runs and the indexes of one MV, for the detail pane.
    Detail {
        oid: u32,
        generation: u64,
        result: Result<DetailData, String>,
    },
    /// A refresh job changed state.
    Job(JobEvent),
    /// A sessions poll (running statements, lock waits) ended.
    Sessions {
        generation: u64,
        result: Result<crate::catalog::sessions::Sessions, String>,
    },
    /// A read of pg_stat_statements' counters ended.
    Statements {
        generation: u64,
        result: Result<crate::catalog::statements::Counters, String>,
    },
    /// Query texts by queryid.
    StatementTexts {
        generation: u64,
        result: Result<std::collections::HashMap<i64, String>, String>,
    },
    /// A cancel or terminate ended: the line to show.
    Signalled(Result<String, String>),
    /// The schedules, read from the ledger; stale generations are dropped.
    Schedules {
        generation: u64,
        result: Result<Vec<crate::schedule::Schedule>, String>,
    },
    /// A schedule was set or removed from the form: the line to show.
    ScheduleSaved(Result<String, String>),
    /// The background scheduler said something.
    Scheduler(crate::schedule::SchedulerEvent),
    /// pg_cron's jobs and runs, or why they cannot be read.
    PgCron {
        generation: u64,
        result: Result<super::pg_cron::Snapshot, crate::pgcron::Unavailable>,
    },
    /// A benchmark moved on or ended.
    Bench(super::bench::BenchMsg),
}

/// What the mouse did; the runtime drops the rest (moves, drags, releases, other buttons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointer {
    /// The left button went down.
    Click,
    WheelUp,
    WheelDown,
}

impl Pointer {
    pub fn of(kind: ratatui::crossterm::event::MouseEventKind) -> Option<Pointer> {
        use ratatui::crossterm::event::{MouseButton, MouseEventKind};
        match kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Pointer::Click),
            MouseEventKind::ScrollUp => Some(Pointer::WheelUp),
            MouseEventKind::ScrollDown => Some(Pointer::WheelDown),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Poll the inventory; the answer comes back as `Msg::Inventory` with this generation.
    FetchInventory {
        generation: u64,
        /// What is read again of the MVs read before.
        again: crate::catalog::Reread,
        /// Definitions too (not on the first read: the table shows sooner without them).
        definitions: bool,
    },
    /// The cheap poll, with the write counters of these base tables; the answer comes back
    /// as `Msg::Pulse`.
    Pulse {
        generation: u64,
        tables: Vec<u32>,
        /// What the last pulse saw: only what moved since is computed.
        since: crate::catalog::pulse::Baseline,
    },
    /// Read this MV's indexes and (from the ledger, when there is one) its last runs; the
    /// answer comes back as `Msg::Detail`.
    FetchDetail {
        oid: u32,
        generation: u64,
        ledger: bool,
        /// How many of its last runs.
        runs: u32,
    },
    StartRefresh(JobSpec),
    /// `JobId`s are the executor's; it ignores unknown ones.
    CancelJob(JobId),
    /// Poll the sessions; the answer comes back as `Msg::Sessions`.
    PollSessions {
        generation: u64,
    },
    /// Read pg_stat_statements' counters; the answer comes back as `Msg::Statements`.
    PollStatements {
        generation: u64,
        source: crate::catalog::statements::PssSource,
    },
    FetchStatementTexts {
        generation: u64,
        source: crate::catalog::statements::PssSource,
        queryids: Vec<i64>,
    },
    /// pg_cancel_backend / pg_terminate_backend; the answer comes back as `Msg::Signalled`.
    Signal {
        pid: i32,
        signal: crate::catalog::sessions::Signal,
    },
    /// Read the schedules; the answer comes back as `Msg::Schedules` with this generation.
    FetchSchedules {
        generation: u64,
    },
    /// Read pg_cron's jobs for these MVs (oid, schema, name) and their runs; the answer
    /// comes back as `Msg::PgCron`.
    FetchPgCron {
        generation: u64,
        mvs: Vec<(u32, String, String)>,
        ledger: bool,
    },
    /// Set (or, with `off`, remove) the schedule of one MV from the form's line; the answer
    /// comes back as `Msg::ScheduleSaved`.
    SaveSchedule {
        oid: u32,
        schema: String,
        name: String,
        text: String,
    },
    /// Start or cancel a benchmark.
    Bench(super::bench::BenchEffect),
    /// Put text on the clipboard of the terminal (OSC 52: works over SSH).
    Copy(String),
    Quit,
}
