//! What a poll's answer changes: the MVs (a new inventory, or the pulse's refreshes and
//! lock holders on the ones shown), their fingerprint, and the connection's health.

use std::collections::HashMap;

use super::start_poll;
use crate::catalog::pulse::Fingerprint;
use crate::tui::msg::Effect;
use crate::tui::schedules;
use crate::tui::state::{Health, State};

pub(in crate::tui) fn pulse_arrived(
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
            // Idle before and now, the usual tick: no MV to visit (thousands of them).
            let views = if anything_now || state.polling.pids_shown {
                &mut state.views[..]
            } else {
                &mut []
            };
            state.polling.pids_shown = anything_now;
            for v in views {
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

pub(in crate::tui) fn inventory_arrived(
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
            state.polling.pids_shown = state
                .views
                .iter()
                .any(|v| !v.refreshing_pids.is_empty() || !v.lock_holder_pids.is_empty());
            state.views_generation += 1;
            state.polling.table_writes.clear();
            state.polling.base_tables = None;
            state.hints = inventory.hints;
            state.health = Health::Ok;
            state.polling.failures = 0;
            state.recompute_visible();
            state.keep_place(place);
            crate::tui::pg_cron::apply_stats(state);
            // MVs were refreshed, created or dropped: runs were claimed, names changed.
            let mut effects = schedules::wanted(state);
            effects.extend(crate::tui::pg_cron::wanted(state));
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
    let known: HashMap<u32, &std::sync::Arc<str>> = old
        .iter()
        .filter_map(|v| v.definition.as_ref().map(|d| (v.oid, d)))
        .collect();
    for v in new.iter_mut().filter(|v| v.definition.is_none()) {
        if let Some(d) = known.get(&v.oid) {
            // Shared, not copied: the old and the new inventory hold one text.
            v.definition = Some(std::sync::Arc::clone(d));
        }
    }
}
