//! The inventory and pulse polls: when the next one is due, what it reads, and what its
//! answer changes (the MVs, their fingerprint, the connection's health). Also the selected
//! MV's detail read, which rides on the same tick. What an answer changes is in `arrived`.

mod arrived;

pub(super) use arrived::{inventory_arrived, pulse_arrived};

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::in_flight::{InFlight, due};
use super::msg::Effect;
use super::state::{Health, State};
use crate::catalog::pulse::{Baseline, Fingerprint};
use crate::catalog::writes::TableWrites;

/// Bounds of the poll interval (`+`/`-` and `:interval`).
pub(super) const MIN_POLL: Duration = Duration::from_secs(1);
pub(super) const MAX_POLL: Duration = Duration::from_secs(60);
/// The full inventory at least this often, even when the pulse sees no change (sizes grow
/// with VACUUM and writes to nothing the fingerprint watches).
const FULL_EVERY: Duration = Duration::from_secs(300);
/// Longest pause between polls while the connection is lost.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Ledger runs the detail pane shows.
pub(super) const DETAIL_RUNS: u32 = 30;

/// The inventory and pulse polls' state: how often, whether paused, and what the next
/// read takes (the pulse's fingerprint and counters, which sizes and definitions are due).
#[derive(Debug, Clone)]
pub struct Polling {
    /// Every this often unless paused.
    pub every: Duration,
    pub paused: bool,
    /// The full inventory is read again when the pulse's fingerprint moves away from this,
    /// when asked (Ctrl-r, a finished job), and every few minutes.
    pub fingerprint: Option<Fingerprint>,
    /// What the last pulse saw: the next one computes only what moved since.
    pub pulse_baseline: Baseline,
    /// Every table some MV reads, once each: worked out on the first pulse after an
    /// inventory, not on every one.
    pub base_tables: Option<Vec<u32>>,
    /// The MVs' base tables' last write counters.
    pub table_writes: TableWrites,
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
    /// Polls failed in a row: the pause before the next one grows with it.
    pub failures: u32,
    /// The inventory's and the pulse's reads (one at a time, of one generation sequence).
    pub reads: InFlight,
    /// When the last answer came (or failed): the next poll is due `every` after it.
    pub answered_at: Option<DateTime<Utc>>,
    /// Some MV shows refreshing or lock-holding pids: the next pulse must visit the MVs.
    pub pids_shown: bool,
}

impl Polling {
    /// Before the first poll: the full inventory is wanted.
    pub fn new(every: Duration) -> Polling {
        Polling {
            every,
            paused: false,
            fingerprint: None,
            pulse_baseline: Baseline::default(),
            base_tables: None,
            table_writes: TableWrites::new(),
            last_full_at: None,
            full_wanted: true,
            sizes_read_at: None,
            sizes_reads: 0,
            reread_wanted: false,
            definitions_pending: false,
            failures: 0,
            reads: InFlight::default(),
            answered_at: None,
            pids_shown: true,
        }
    }
}

/// The selected MV's detail, read once the selection rested for a tick (not on every move).
pub(super) fn detail_if_wanted(state: &mut State) -> Vec<Effect> {
    let Some(oid) = state.selected else {
        return Vec::new();
    };
    let Some(facts) = &state.facts else {
        return Vec::new();
    };
    let have = state.detail.as_ref().is_some_and(|(d, _)| *d == oid);
    if have {
        return Vec::new();
    }
    let ledger = facts.ledger_installed;
    let Some(generation) = state.detail_reads.start(state.now) else {
        return Vec::new();
    };
    vec![Effect::FetchDetail {
        oid,
        generation,
        ledger,
        runs: DETAIL_RUNS,
    }]
}

/// The detail of `oid` came; the next tick reads the selected one's if it is another.
pub(super) fn detail_arrived(
    state: &mut State,
    oid: u32,
    generation: u64,
    result: Result<super::msg::DetailData, String>,
) -> Vec<Effect> {
    if !state.detail_reads.accept(generation) {
        return Vec::new();
    }
    match result {
        Ok(detail) => state.detail = Some((oid, detail)),
        Err(e) => state.message = Some(format!("detail: {e}")),
    }
    Vec::new()
}

pub(super) fn poll_if_due(state: &mut State) -> Vec<Effect> {
    if state.polling.paused || state.polling.reads.is_pending() {
        return Vec::new();
    }
    let wait = match state.health {
        // Back off while the server is away: 1, 2, 4 ... 30 s.
        Health::Lost { .. } => state
            .polling
            .every
            .saturating_mul(1 << state.polling.failures.min(5))
            .min(MAX_BACKOFF),
        _ => state.polling.every,
    };
    if due(state.polling.answered_at, state.now, wait) {
        start_poll(state)
    } else {
        Vec::new()
    }
}

/// A pulse, or the full inventory when it is wanted or due.
pub(super) fn start_poll(state: &mut State) -> Vec<Effect> {
    let Some(generation) = state.polling.reads.start(state.now) else {
        return Vec::new();
    };
    let stale = state
        .polling
        .last_full_at
        .is_none_or(|at| (state.now - at).to_std().unwrap_or_default() >= FULL_EVERY);
    if state.polling.full_wanted || stale || state.polling.fingerprint.is_none() {
        vec![inventory_read(state, generation)]
    } else {
        // A standby replays DDL without counting it: the fingerprint on every pulse there.
        let on_standby = state.facts.as_ref().is_some_and(|f| f.in_recovery);
        vec![Effect::Pulse {
            generation,
            tables: state
                .polling
                .base_tables
                .get_or_insert_with(|| base_tables(&state.views))
                .clone(),
            since: crate::catalog::pulse::Baseline {
                always_fingerprint: on_standby,
                ..state.polling.pulse_baseline
            },
        }]
    }
}

/// What the next inventory read takes again: sizes of every MV now and then (VACUUM moves
/// them without touching the MV), everything on Ctrl-r and every third such read, else only
/// what changed. The very first read leaves definitions out, so the table shows sooner.
fn inventory_read(state: &mut State, generation: u64) -> Effect {
    let first = state.views.is_empty() && state.polling.sizes_read_at.is_none();
    let sizes_due = state
        .polling
        .sizes_read_at
        .or(state.polling.last_full_at)
        .is_none_or(|at| (state.now - at).to_std().unwrap_or_default() >= FULL_EVERY);
    let again = if state.polling.reread_wanted
        || (sizes_due && state.polling.sizes_reads.is_multiple_of(3))
    {
        crate::catalog::Reread::Everything
    } else if sizes_due {
        crate::catalog::Reread::Sizes
    } else {
        crate::catalog::Reread::Changed
    };
    if again != crate::catalog::Reread::Changed {
        state.polling.sizes_read_at = Some(state.now);
        state.polling.sizes_reads += 1;
    }
    state.polling.reread_wanted = false;
    state.polling.definitions_pending = first;
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
