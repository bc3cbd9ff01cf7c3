//! What reaches `update` (messages) and what it asks the runtime to do (effects).

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::KeyEvent;

use crate::catalog::Inventory;
use crate::catalog::pulse::Pulse;
use crate::ledger::RefreshRecord;
use crate::refresh::{JobEvent, JobId, JobSpec};

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal changed size: redraw.
    Resize,
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
    /// The recorded runs of one MV, for the detail pane.
    History {
        oid: u32,
        result: Result<Vec<RefreshRecord>, String>,
    },
    /// A refresh job changed state.
    Job(JobEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Poll the inventory; the answer comes back as `Msg::Inventory` with this generation.
    FetchInventory {
        generation: u64,
    },
    /// The cheap poll; the answer comes back as `Msg::Pulse`.
    Pulse {
        generation: u64,
    },
    /// Read the ledger's last runs of this MV; the answer comes back as `Msg::History`.
    FetchHistory {
        oid: u32,
    },
    StartRefresh(JobSpec),
    /// `JobId`s are the executor's; it ignores unknown ones.
    CancelJob(JobId),
    /// Put text on the clipboard of the terminal (OSC 52: works over SSH).
    Copy(String),
    Quit,
}
