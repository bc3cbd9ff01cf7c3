//! Behaviour of the locks and activity panes' part of `update`, from a fixed state.

use crate::catalog::statements::Counters;

use chrono::Duration;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixture;
use crate::catalog::sessions::{Sessions, Signal};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::{Overlay, Pane, PendingAction, State};
use crate::tui::update::update;

fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub use super::sessions_fixture::{counters, sessions, state};

#[test]
fn sessions_are_polled_every_interval_never_twice_at_once_and_stale_answers_dropped() {
    let mut s = fixture::state();
    let effects = update(&mut s, Msg::Tick(fixture::now()));
    assert!(effects.contains(&Effect::PollSessions { generation: 1 }));
    let again = update(&mut s, Msg::Tick(fixture::now() + Duration::seconds(3)));
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, Effect::PollSessions { .. })),
        "one in flight"
    );
    update(
        &mut s,
        Msg::Sessions {
            generation: 0,
            result: Ok(sessions()),
        },
    );
    assert!(s.sessions.data.is_none(), "generation 0 is stale");
    update(
        &mut s,
        Msg::Sessions {
            generation: 1,
            result: Ok(sessions()),
        },
    );
    assert_eq!(s.sessions.waiting_count(), 3);
    let next = update(&mut s, Msg::Tick(fixture::now() + Duration::seconds(3)));
    assert!(next.contains(&Effect::PollSessions { generation: 2 }));
}

#[test]
fn statements_are_read_every_five_seconds_and_only_when_usable() {
    let mut s = fixture::state();
    let t0 = fixture::now();
    let first = update(&mut s, Msg::Tick(t0));
    assert!(
        first
            .iter()
            .any(|e| matches!(e, Effect::PollStatements { generation: 1, .. }))
    );
    update(
        &mut s,
        Msg::Statements {
            generation: 1,
            result: Ok(Counters::default()),
        },
    );
    let soon = update(&mut s, Msg::Tick(t0 + Duration::seconds(2)));
    assert!(
        !soon
            .iter()
            .any(|e| matches!(e, Effect::PollStatements { .. }))
    );
    let later = update(&mut s, Msg::Tick(t0 + Duration::seconds(5)));
    assert!(
        later
            .iter()
            .any(|e| matches!(e, Effect::PollStatements { .. }))
    );

    let mut missing = fixture::state();
    missing.facts.as_mut().unwrap().pss_schema = None;
    let effects = update(&mut missing, Msg::Tick(t0));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::PollStatements { .. }))
    );
    let Some(Err(why)) = &missing.sessions.statements.access else {
        panic!("no hint");
    };
    assert!(why.contains("CREATE EXTENSION pg_stat_statements"), "{why}");
}

#[test]
fn a_library_not_preloaded_stops_the_reads_and_says_what_to_do() {
    let mut s = fixture::state();
    update(&mut s, Msg::Tick(fixture::now()));
    update(
        &mut s,
        Msg::Statements {
            generation: 1,
            result: Err(crate::catalog::statements::NOT_LOADED.into()),
        },
    );
    let effects = update(&mut s, Msg::Tick(fixture::now() + Duration::seconds(10)));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::PollStatements { .. }))
    );
    assert!(
        matches!(&s.sessions.statements.access, Some(Err(w)) if w.contains("shared_preload_libraries"))
    );
}

#[test]
fn the_window_is_the_delta_of_two_reads_and_texts_are_read_once() {
    let s = state();
    let top = s.sessions.statements.top();
    assert_eq!(top[0].queryid, 3, "the refresh took 1.5 s of the window");
    assert_eq!(top[0].calls, 1);
    assert_eq!(
        top[0].refresh_of.as_deref(),
        Some("reporting.copr_target_builds")
    );
    assert_eq!(top[1].calls, 50);
    assert_eq!(top[1].calls_per_s, Some(10.0));
    let mut s = s;
    let generation = s.sessions.statements.reads.supersede(s.now);
    let effects = update(
        &mut s,
        Msg::Statements {
            generation,
            result: Ok(counters(&[(1, 150, 1600.0), (9, 1, 1.0)])),
        },
    );
    assert_eq!(
        effects,
        [Effect::FetchStatementTexts {
            generation: s.sessions.statements.text_reads.generation(),
            source: crate::catalog::statements::PssSource {
                schema: "public".into(),
                version_num: 150018
            },
            queryids: vec![9]
        }],
        "only the text not seen before"
    );
    press(&mut s, KeyCode::Char('5'));
    press(&mut s, KeyCode::Char('t'));
    assert!(s.sessions.statements.cumulative);
    press(&mut s, KeyCode::Char('f'));
    let top = s.sessions.statements.top();
    assert!(top.iter().all(|t| t.refresh_of.is_some()));
}

#[test]
fn the_tree_is_navigated_and_a_cancel_is_confirmed_then_sent() {
    let mut s = state();
    press(&mut s, KeyCode::Char('4'));
    assert_eq!(s.pane, Pane::Locks);
    let pids: Vec<i32> = s.sessions.tree.iter().map(|l| l.pid).collect();
    assert_eq!(pids, [101, 102, 103, 104]);
    assert_eq!(s.sessions.selected_pid(Pane::Locks), Some(101));
    press(&mut s, KeyCode::Char('j'));
    assert_eq!(s.sessions.selected_pid(Pane::Locks), Some(102));
    press(&mut s, KeyCode::Char('k'));
    assert!(press(&mut s, KeyCode::Char('K')).is_empty());
    let Overlay::Confirm { question, then } = &s.overlay else {
        panic!("asks first");
    };
    assert!(
        question.contains("Terminate pid 101 (loader, etl, idle in transaction 4 min 05 s)"),
        "{question}"
    );
    assert_eq!(
        **then,
        PendingAction::Signal {
            pid: 101,
            signal: Signal::Terminate
        }
    );
    assert!(
        press(&mut s, KeyCode::Char('n')).is_empty(),
        "no: nothing sent"
    );
    press(&mut s, KeyCode::Char('c'));
    let effects = press(&mut s, KeyCode::Char('y'));
    assert_eq!(
        effects,
        [Effect::Signal {
            pid: 101,
            signal: Signal::Cancel
        }]
    );
    let effects = update(
        &mut s,
        Msg::Signalled(Err("pid 101: permission denied to cancel query".into())),
    );
    assert_eq!(
        s.message.as_deref(),
        Some("pid 101: permission denied to cancel query")
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::PollSessions { .. })),
        "the outcome shows at once"
    );
    press(&mut s, KeyCode::Enter);
    assert!(s.sessions.expanded);
    press(&mut s, KeyCode::Esc);
    assert!(!s.sessions.expanded);
    assert_eq!(s.pane, Pane::Locks);
}

#[test]
fn read_only_refuses_cancel_and_terminate() {
    let mut s = state();
    s.read_only = true;
    press(&mut s, KeyCode::Char('4'));
    for key in ['c', 'K'] {
        assert!(press(&mut s, KeyCode::Char(key)).is_empty());
        assert_eq!(s.overlay, Overlay::None);
        assert!(s.message.as_deref().unwrap().starts_with("read-only"));
    }
}

#[test]
fn running_statements_sort_and_refreshes_and_waits_are_marked_on_the_mvs() {
    let mut s = state();
    press(&mut s, KeyCode::Char('5'));
    let order = |s: &State| -> Vec<i32> { s.sessions.running().iter().map(|r| r.pid).collect() };
    assert_eq!(order(&s), [105, 101, 102, 103, 104, 106], "longest first");
    press(&mut s, KeyCode::Char('o'));
    assert_eq!(order(&s), [101, 102, 103, 104, 105, 106], "by pid");
    let m = &s.sessions.mv_locks[&2];
    assert_eq!(m.refresh_waits_behind, [101]);
    assert_eq!(m.waiters, 2);
    assert!(m.blocked_by_refresh);
    assert_eq!(
        crate::tui::locks::blockers_phrase(&s, &[101]),
        "pid 101 (loader, etl, idle in transaction 4 min 05 s)"
    );
}

#[test]
fn a_tick_a_hair_early_still_polls_at_one_second() {
    let mut s = fixture::state();
    s.polling.every = std::time::Duration::from_secs(1);
    update(&mut s, Msg::Tick(fixture::now()));
    update(
        &mut s,
        Msg::Sessions {
            generation: 1,
            result: Ok(Sessions::default()),
        },
    );
    let early = update(
        &mut s,
        Msg::Tick(fixture::now() + Duration::milliseconds(997)),
    );
    assert!(early.contains(&Effect::PollSessions { generation: 2 }));
}
