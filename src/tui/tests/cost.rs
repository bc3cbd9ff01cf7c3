//! What refreshes cost, in the console: the confirm dialog of a plain refresh says what the
//! last one blocked; `summary` is the figures the detail-pane snapshot shows too.

use ratatui::crossterm::event::KeyCode;

use super::{fixture, press};
use crate::catalog::StatsSource;
use crate::catalog::cost::{Blocked, BlockedWho, CostSummary, RunCost};
use crate::tui::msg::Effect;
use crate::tui::state::Overlay;

/// A plain MV whose last refresh blocked 14 readers.
pub(crate) fn summary() -> CostSummary {
    let blocked = Blocked {
        sessions: 14,
        total_ms: 3_210.0,
        longest_ms: 870.0,
    };
    let last = RunCost {
        wal_bytes: Some(11_650_786),
        temp_bytes: Some(0),
        shared_read_bytes: Some(8_192),
        shared_hit_bytes: Some(24_412_160),
        rows_processed: Some(100_000),
        cost_source: Some("pg_stat_statements".into()),
        cost_note: None,
        blocked_sessions: Some(blocked.sessions),
        blocked_longest_ms: Some(blocked.longest_ms),
        blocked_total_ms: Some(blocked.total_ms),
        blocked_who: Some(vec![BlockedWho {
            user: "alice".into(),
            application: "grafana".into(),
            sessions: 14,
            total_ms: 3_210.0,
            longest_ms: 870.0,
        }]),
        blocked_note: None,
    };
    CostSummary {
        source: StatsSource::Ledger,
        last: Some(last),
        last_concurrently: Some(false),
        runs_considered: 3,
        avg_wal_bytes: Some(11_000_000.0),
        avg_temp_bytes: Some(0.0),
        avg_shared_read_bytes: Some(8_192.0),
        avg_blocked_total_ms: Some(2_400.0),
        plain_avg_wal_bytes: Some(11_000_000.0),
        plain_wal_runs: 3,
        concurrently_avg_wal_bytes: None,
        concurrently_wal_runs: 0,
        last_plain_blocked: Some(blocked),
        max_plain_blocked_total_ms: Some(3_210.0),
    }
}

#[test]
fn the_confirm_dialog_says_what_the_last_plain_refresh_blocked() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('g'));
    let v = s.selected_view().unwrap().oid;
    for m in s.views.iter_mut().filter(|m| m.oid == v) {
        m.concurrent_ready = false;
        m.unique_index = None;
        m.lock_holders = 0;
        m.lock_holder_pids.clear();
        m.refresh_cost = Some(summary());
    }
    // Nobody reads it now, but the last plain refresh blocked 14 sessions: it asks.
    assert!(press(&mut s, KeyCode::Char('r')).is_empty());
    let Overlay::Confirm { question, .. } = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert!(
        question.contains("last time: 14 sessions blocked, 3.2 s in total, longest 0.9 s"),
        "{question}"
    );
    let effects = press(&mut s, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::StartRefresh(spec)] if !spec.mode.concurrently));
}

#[test]
fn a_refresh_that_blocked_nobody_last_time_does_not_ask() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('g'));
    let v = s.selected_view().unwrap().oid;
    let mut quiet = summary();
    quiet.last_plain_blocked = Some(Blocked {
        sessions: 0,
        total_ms: 0.0,
        longest_ms: 0.0,
    });
    for m in s.views.iter_mut().filter(|m| m.oid == v) {
        m.concurrent_ready = false;
        m.lock_holders = 0;
        m.refresh_cost = Some(quiet.clone());
    }
    let effects = press(&mut s, KeyCode::Char('r'));
    assert!(
        matches!(effects.as_slice(), [Effect::StartRefresh(_)]),
        "{effects:?}"
    );
}
