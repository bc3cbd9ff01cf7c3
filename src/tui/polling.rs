//! The inventory and pulse polls: when the next one is due, what it reads, and what its
//! answer changes (the MVs, their fingerprint, the connection's health). Also the selected
//! MV's detail read, which rides on the same tick.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::in_flight::{InFlight, due};
use super::msg::Effect;
use super::schedules;
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

pub(super) fn pulse_arrived(
    state: &mut State,
    generation: u64,
    result: Result<crate::catalog::pulse::Pulse, String>,
) -> Vec<Effect> {
    if !state.polling.reads.accept(generation) {
        return Vec::new();
    }
    let moved = |known: Option<&Fingerprint>, now: Option<&Fingerprint>| match (known, now) {
        (Some(known), Some(now)) => known.moved_to(now),
        (None, _) => true,
        (Some(_), None) => false,
    };
    match result {
        Ok(pulse)
            if moved(
                state.polling.fingerprint.as_ref(),
                pulse.fingerprint.as_ref(),
            ) || state
                .facts
                .as_ref()
                .is_some_and(|f| f.in_recovery != pulse.in_recovery) =>
        {
            // Something was refreshed, created, dropped or altered, or a standby was
            // promoted: read it all again.
            state.polling.pulse_baseline = pulse.baseline;
            state.polling.full_wanted = true;
            start_poll(state)
        }
        Ok(pulse) => {
            state.polling.answered_at = Some(state.now);
            state.health = Health::Ok;
            state.polling.failures = 0;
            state.polling.pulse_baseline = pulse.baseline;
            if let (Some(known), Some(now)) =
                (state.polling.fingerprint.as_mut(), pulse.fingerprint)
            {
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
                    .polling
                    .table_writes
                    .extend(writes.iter().map(|(t, w)| (*t, *w)));
                let known = state.polling.table_writes.clone();
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
                state.polling.full_wanted = true;
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
    state.polling.answered_at = Some(state.now);
    state.polling.failures += 1;
    let since = match &state.health {
        Health::Lost { since, .. } => *since,
        _ => state.now,
    };
    state.health = Health::Lost { error, since };
}

pub(super) fn inventory_arrived(
    state: &mut State,
    generation: u64,
    result: Result<Box<crate::catalog::Inventory>, String>,
) -> Vec<Effect> {
    if !state.polling.reads.accept(generation) {
        return Vec::new();
    }
    state.polling.answered_at = Some(state.now);
    match result {
        Ok(inventory) => {
            let mut inventory = *inventory;
            state.polling.fingerprint = Some(Fingerprint {
                mv_count: inventory.facts.mv_count,
                xmin_sum: inventory.facts.mv_xmin_sum.clone(),
                definition_writes: None,
            });
            // The next pulse computes the fingerprint again, and reads every counter.
            state.polling.pulse_baseline = crate::catalog::pulse::Baseline::default();
            state.polling.last_full_at = Some(state.now);
            state.polling.full_wanted = false;
            inventory.apply_memory_log(&state.memory_log);
            keep_definitions(&state.views, &mut inventory.views);
            let place = state.place();
            state.facts = Some(inventory.facts);
            state.views = inventory.views;
            state.views_generation += 1;
            state.polling.table_writes.clear();
            state.polling.base_tables = None;
            state.hints = inventory.hints;
            state.health = Health::Ok;
            state.polling.failures = 0;
            state.recompute_visible();
            state.keep_place(place);
            super::pg_cron::apply_stats(state);
            // MVs were refreshed, created or dropped: runs were claimed, names changed.
            let mut effects = schedules::wanted(state);
            effects.extend(super::pg_cron::wanted(state));
            if state.polling.definitions_pending {
                // The first read left them out: read them now.
                state.polling.full_wanted = true;
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
