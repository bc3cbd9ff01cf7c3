//! Behaviour of the locks and activity panes' part of `update`, from a fixed state.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixture;
use crate::catalog::locks::tests::{session, waits};
use crate::catalog::sessions::{Sessions, Signal};
use crate::catalog::statements::{Counter, Counters};
use crate::refresh::{JobSpec, JobState, Limits, Mode, Source, Target};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::{JobView, Overlay, Pane, PendingAction, State};
use crate::tui::update::update;

fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// An idle-in-transaction session (101) holds a read lock on copr_target_builds (oid 2);
/// a plain refresh of it (102) waits behind; two readers (103, 104) queue behind the
/// refresh. 105 reads from disk; 106 refreshes builds_hourly (oid 1) concurrently.
pub fn sessions() -> Sessions {
    let mv = "reporting.copr_target_builds";
    let mut etl = session(
        101,
        "idle in transaction",
        "SELECT * FROM reporting.copr_target_builds WHERE id = 7",
    );
    etl.user = Some("loader".into());
    etl.application = "etl".into();
    etl.xact_age_ms = Some(245_000.0);
    let mut refresh = waits(
        session(
            102,
            "active",
            "REFRESH MATERIALIZED VIEW reporting.copr_target_builds",
        ),
        mv,
        Some(2),
        &[(101, &["AccessShareLock"])],
    );
    refresh.application = "mvtop".into();
    if let Some(w) = refresh.wait.as_mut() {
        w.mode = "AccessExclusiveLock".into();
    }
    let reader = |pid: i32| {
        let mut r = waits(
            session(
                pid,
                "active",
                "SELECT count(*) FROM reporting.copr_target_builds",
            ),
            mv,
            Some(2),
            &[(102, &[])],
        );
        r.application = "grafana".into();
        r
    };
    let (r1, r2) = (reader(103), reader(104));
    let mut io = session(
        105,
        "active",
        "SELECT count(*)\n  FROM ci.builds WHERE at > now() - interval '1 day'",
    );
    io.wait_event_type = Some("IO".into());
    io.wait_event = Some("DataFileRead".into());
    io.elapsed_ms = Some(2_500.0);
    let mut hourly = session(
        106,
        "active",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.builds_hourly",
    );
    hourly.elapsed_ms = Some(800.0);
    Sessions {
        rows: vec![refresh, r1, r2, io, hourly, etl],
    }
}

fn counters(entries: &[(i64, i64, f64)]) -> Counters {
    Counters {
        by_query: entries
            .iter()
            .map(|&(id, calls, ms)| {
                let c = Counter {
                    calls,
                    total_ms: ms,
                    rows: calls * 10,
                };
                (id, c)
            })
            .collect(),
    }
}

/// The console with sessions, statements and a refresh job waiting for its lock.
pub fn state() -> State {
    let mut s = fixture::state();
    s.views[0].refreshing_pids = vec![106];
    let _ = update(&mut s, Msg::Tick(fixture::now()));
    let generation = s.sessions.reads.generation();
    update(
        &mut s,
        Msg::Sessions {
            generation,
            result: Ok(sessions()),
        },
    );
    // Two reads of pg_stat_statements, 5 s apart.
    let generation = s.sessions.statements.reads.generation();
    update(
        &mut s,
        Msg::Statements {
            generation,
            result: Ok(counters(&[
                (1, 100, 1000.0),
                (2, 10, 500.0),
                (3, 1, 1480.0),
            ])),
        },
    );
    s.now = fixture::now() + Duration::seconds(5);
    let generation = s.sessions.statements.reads.supersede(s.now);
    update(
        &mut s,
        Msg::Statements {
            generation,
            result: Ok(counters(&[
                (1, 150, 1600.0),
                (2, 12, 540.0),
                (3, 2, 2980.0),
            ])),
        },
    );
    let generation = s.sessions.statements.text_reads.generation();
    update(
        &mut s,
        Msg::StatementTexts {
            generation,
            result: Ok(HashMap::from([
                (1, "SELECT * FROM ci.builds WHERE id = $1".to_string()),
                (
                    2,
                    "UPDATE ci.builds SET status = $1 WHERE id = $2".to_string(),
                ),
                (
                    3,
                    "REFRESH MATERIALIZED VIEW reporting.copr_target_builds".to_string(),
                ),
            ])),
        },
    );
    s.now = fixture::now();
    s.sessions.polled_at = Some(s.now);
    let view = s.views.iter().find(|v| v.oid == 2).unwrap();
    let spec = JobSpec {
        target: Target::from(view),
        mode: Mode {
            concurrently: false,
            with_data: true,
        },
        source: Source::Console,
        limits: Limits::default(),
    };
    s.jobs.insert(
        1,
        JobView {
            spec: Arc::new(spec),
            state: JobState::WaitingForLock {
                blocked_by: vec![101],
            },
            queued_at: fixture::now(),
            started_at: Some(fixture::now()),
            finished_at: None,
        },
    );
    s.message = None;
    s
}

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
