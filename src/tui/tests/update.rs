//! Behaviour of `update`, message by message, from the fixed state in `fixture`.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixture;
use crate::refresh::{JobEvent, JobState, Outcome, OutcomeKind, Recorded};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::{Column, Health, Overlay, Pane};
use crate::tui::update::update;

fn press(s: &mut crate::tui::state::State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(s: &mut crate::tui::state::State, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

/// A tick's poll effects (the history reads and the sessions polls it may also ask for are
/// tested on their own).
fn tick(s: &mut crate::tui::state::State, at: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
    update(s, Msg::Tick(at))
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                Effect::FetchDetail { .. }
                    | Effect::PollSessions { .. }
                    | Effect::PollStatements { .. }
            )
        })
        .collect()
}

/// A job of `spec` ended with `outcome`.
fn finished(
    s: &mut crate::tui::state::State,
    id: u64,
    spec: &crate::refresh::JobSpec,
    outcome: Outcome,
) -> Vec<Effect> {
    let state = JobState::Finished(outcome);
    update(
        s,
        Msg::Job(JobEvent {
            id,
            spec: Arc::new(spec.clone()),
            state,
        }),
    )
}

fn names(s: &crate::tui::state::State) -> Vec<String> {
    s.visible.iter().map(|&i| s.views[i].name.clone()).collect()
}

#[test]
fn rows_sort_by_name_then_by_any_column_both_ways() {
    let mut s = fixture::state();
    assert_eq!(
        names(&s),
        [
            "Builds by Project",
            "builds_hourly",
            "copr_target_builds",
            "koji_builds_daily"
        ]
    );
    press(&mut s, KeyCode::Char('o'));
    assert_eq!(s.sort.column, Column::Size);
    assert_eq!(names(&s)[0], "koji_builds_daily");
    press(&mut s, KeyCode::Char('O'));
    assert_eq!(names(&s)[0], "copr_target_builds");
    let effects = crate::tui::update::run_command(&mut s, "sort status");
    assert!(effects.is_empty());
    assert_eq!(s.sort.column, Column::Status);
    assert_eq!(names(&s)[0], "Builds by Project", "failed first");
}

#[test]
fn filter_narrows_live_and_escape_clears_it() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('/'));
    assert_eq!(s.overlay, Overlay::Filter);
    typed(&mut s, "BUILDS");
    assert_eq!(
        names(&s),
        [
            "Builds by Project",
            "builds_hourly",
            "copr_target_builds",
            "koji_builds_daily"
        ]
    );
    typed(&mut s, "_h");
    assert_eq!(names(&s), ["builds_hourly"]);
    assert_eq!(
        s.selected,
        Some(1),
        "the selection moves onto what is shown"
    );
    press(&mut s, KeyCode::Enter);
    assert_eq!(
        (s.overlay.clone(), s.filter.as_str()),
        (Overlay::None, "BUILDS_h")
    );
    press(&mut s, KeyCode::Esc);
    assert!(s.filter.is_empty());
    assert_eq!(s.visible.len(), 4);
}

#[test]
fn the_selection_survives_a_repoll_in_another_order() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('j'));
    press(&mut s, KeyCode::Char('j'));
    assert_eq!(s.selected, Some(2));
    let mut views = fixture::views();
    views.reverse();
    s.poll_generation += 1;
    s.poll_in_flight = true;
    let inventory = crate::catalog::Inventory {
        facts: fixture::facts(),
        views,
        hints: vec![],
    };
    let generation = s.poll_generation;
    update(
        &mut s,
        Msg::Inventory {
            generation,
            result: Ok(Box::new(inventory)),
        },
    );
    assert_eq!(s.selected, Some(2));
    assert_eq!(s.selected_row(), Some(2));
}

#[test]
fn stale_poll_results_are_dropped_and_polls_never_overlap() {
    let mut s = fixture::state();
    let later = fixture::now() + chrono::Duration::seconds(3);
    let effects = tick(&mut s, later);
    assert_eq!(
        effects,
        [Effect::Pulse {
            generation: 2,
            tables: vec![],
            since: Default::default(),
        }],
        "the cheap poll between full reads"
    );
    assert!(
        tick(&mut s, later + chrono::Duration::seconds(5)).is_empty(),
        "one in flight"
    );
    let old = crate::catalog::Inventory {
        facts: fixture::facts(),
        views: vec![],
        hints: vec![],
    };
    update(
        &mut s,
        Msg::Inventory {
            generation: 1,
            result: Ok(Box::new(old)),
        },
    );
    assert_eq!(s.views.len(), 4, "generation 1 is stale");
    assert!(s.poll_in_flight);
    update(
        &mut s,
        Msg::Inventory {
            generation: 2,
            result: Err("server closed the connection".into()),
        },
    );
    assert!(matches!(s.health, Health::Lost { .. }));
    assert_eq!(s.views.len(), 4, "the last good data stays");
}

#[test]
fn polling_pauses_and_backs_off_while_the_connection_is_lost() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('p'));
    assert!(tick(&mut s, fixture::now() + chrono::Duration::seconds(30)).is_empty());
    press(&mut s, KeyCode::Char('p'));
    s.health = Health::Lost {
        error: "gone".into(),
        since: fixture::now(),
    };
    s.poll_failures = 3;
    s.poll_in_flight = false;
    s.last_poll_at = Some(s.now);
    let t = s.now;
    assert!(
        tick(&mut s, t + chrono::Duration::seconds(10)).is_empty(),
        "2 s x 8 = 16 s"
    );
    assert_eq!(tick(&mut s, t + chrono::Duration::seconds(17)).len(), 1);
}

#[test]
fn refresh_starts_a_job_and_a_second_one_is_refused() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('j')); // builds_hourly: concurrent-ready
    let effects = press(&mut s, KeyCode::Char('r'));
    let [Effect::StartRefresh(spec)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.target.oid, 1);
    assert!(spec.mode.concurrently);
    update(
        &mut s,
        Msg::Job(JobEvent {
            id: 7,
            spec: Arc::new(spec.clone()),
            state: JobState::Queued,
        }),
    );
    assert!(press(&mut s, KeyCode::Char('r')).is_empty());
    assert!(
        s.message
            .as_deref()
            .unwrap()
            .contains("already being refreshed")
    );
    assert_eq!(press(&mut s, KeyCode::Char('c')), [Effect::CancelJob(7)]);
    let done = Outcome {
        kind: OutcomeKind::Ok,
        duration_ms: Some(90.0),
        attempts: 1,
        error: None,
        recorded: Recorded::Memory,
        base_writes: None,
    };
    let after = finished(&mut s, 7, spec, done);
    assert_eq!(
        after,
        [Effect::FetchInventory {
            generation: 2,
            again: crate::catalog::Reread::Changed,
            definitions: true
        }],
        "a finished refresh polls at once"
    );
    assert_eq!(
        s.memory_log.runs().len(),
        1,
        "kept in memory without a ledger record"
    );
}

#[test]
fn a_plain_refresh_that_blocks_readers_asks_first() {
    let mut s = fixture::state();
    crate::tui::update::run_command(&mut s, "sort size desc");
    assert_eq!(
        s.selected_view().unwrap().name,
        "Builds by Project",
        "sorting keeps the selection"
    );
    press(&mut s, KeyCode::Char('g'));
    assert_eq!(s.selected_view().unwrap().name, "copr_target_builds");
    // Who reads it, as the sessions poll knows them.
    for v in s.views.iter_mut().filter(|v| v.oid == 2) {
        v.lock_holder_pids = vec![101, 102];
    }
    let reader = crate::catalog::locks::tests::session(101, "idle in transaction", "SELECT 1");
    s.sessions.data = Some(crate::catalog::sessions::Sessions { rows: vec![reader] });
    assert!(press(&mut s, KeyCode::Char('r')).is_empty());
    let Overlay::Confirm { question, .. } = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert!(question.contains("2 sessions reading it"), "{question}");
    assert!(
        question.contains("pid 101 (alice, app101, idle in transaction 1")
            && question.contains("pid 102"),
        "{question}"
    );
    let effects = press(&mut s, KeyCode::Char('y'));
    assert!(matches!(effects.as_slice(), [Effect::StartRefresh(spec)] if !spec.mode.concurrently));
}

#[test]
fn cascade_refresh_runs_upstream_first_then_the_rest() {
    let mut s = fixture::state();
    assert_eq!(s.selected, Some(3)); // "Builds by Project" reads copr_target_builds
    let effects = press(&mut s, KeyCode::Char('R'));
    assert!(
        effects.is_empty(),
        "copr_target_builds has readers: asks first"
    );
    let effects = press(&mut s, KeyCode::Char('y'));
    let [Effect::StartRefresh(first)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(first.target.oid, 2);
    let ok = Outcome {
        kind: OutcomeKind::Ok,
        duration_ms: Some(1.0),
        attempts: 1,
        error: None,
        recorded: Recorded::Ledger,
        base_writes: None,
    };
    let effects = finished(&mut s, 1, first, ok);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::StartRefresh(spec) if spec.target.oid == 3)),
        "{effects:?}"
    );
}

#[test]
fn read_only_refuses_every_change() {
    let mut s = fixture::state();
    s.read_only = true;
    assert!(press(&mut s, KeyCode::Char('r')).is_empty());
    assert!(press(&mut s, KeyCode::Char('c')).is_empty());
    assert!(s.message.as_deref().unwrap().starts_with("read-only"));
    assert!(s.jobs.is_empty());
}

#[test]
fn panes_help_command_line_and_quit() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.pane, Pane::Detail);
    press(&mut s, KeyCode::Char('j'));
    assert_eq!(
        s.detail_scroll, 1,
        "j scrolls the detail pane when it has the keys"
    );
    press(&mut s, KeyCode::Char('3'));
    assert_eq!(s.pane, Pane::Jobs);
    press(&mut s, KeyCode::Char('?'));
    assert_eq!(s.overlay, Overlay::Help);
    press(&mut s, KeyCode::Char('x'));
    assert_eq!(s.overlay, Overlay::None);
    press(&mut s, KeyCode::Char(':'));
    typed(&mut s, "filter koji");
    press(&mut s, KeyCode::Enter);
    assert_eq!(names(&s), ["koji_builds_daily"]);
    assert_eq!(
        press(&mut s, KeyCode::Char('y')),
        [Effect::Copy("reporting.koji_builds_daily".into())]
    );
    assert_eq!(press(&mut s, KeyCode::Char('q')), [Effect::Quit]);
    assert!(s.quit);
}

fn pulse(count: i64, xmin_sum: &str, refreshing: &[(u32, i32)]) -> crate::catalog::pulse::Pulse {
    crate::catalog::pulse::Pulse {
        fingerprint: Some(crate::catalog::pulse::Fingerprint {
            mv_count: count,
            xmin_sum: xmin_sum.into(),
            definition_writes: Some(0),
        }),
        refreshing: refreshing
            .iter()
            .map(|&(oid, pid)| (oid, vec![pid]))
            .collect(),
        lock_holders: Default::default(),
        writes: Default::default(),
        baseline: Default::default(),
        in_recovery: false,
    }
}

#[test]
fn the_pulse_turns_fresh_to_stale_and_a_refresh_under_writes_to_refreshing_stale() {
    let mut s = fixture::state();
    for v in &mut s.views {
        if v.oid == 1 {
            v.base_tables = vec![100, 101];
        }
    }
    let t = fixture::now() + chrono::Duration::seconds(3);
    assert_eq!(
        tick(&mut s, t),
        [Effect::Pulse {
            generation: 2,
            tables: vec![100, 101],
            since: Default::default(),
        }]
    );
    let status = |s: &crate::tui::state::State| s.views.iter().find(|v| v.oid == 1).unwrap().status;
    let arrive = |s: &mut crate::tui::state::State, generation, p| {
        update(
            s,
            Msg::Pulse {
                generation,
                result: Ok(p),
            },
        );
    };
    // Its refresh saw 10 writes; now there are 13: stale.
    let mut p = pulse(4, "1000", &[]);
    p.writes = Some([(100, 4), (101, 9)].into());
    arrive(&mut s, 2, p);
    assert_eq!(status(&s), crate::catalog::MvStatus::Stale);
    // A refresh starts at 13 writes, one more arrives meanwhile.
    for (generation, writes) in [(3, 9), (4, 10)] {
        tick(&mut s, t + chrono::Duration::seconds(3 * (generation - 1)));
        let mut p = pulse(4, "1000", &[(1, 77)]);
        p.writes = Some([(100, 4), (101, writes)].into());
        arrive(&mut s, generation as u64, p);
    }
    assert_eq!(status(&s), crate::catalog::MvStatus::RefreshingStale);
}

#[test]
fn the_pulse_shows_activity_and_a_moved_fingerprint_reads_everything_again() {
    let mut s = fixture::state();
    let t = fixture::now() + chrono::Duration::seconds(3);
    assert_eq!(
        tick(&mut s, t),
        [Effect::Pulse {
            generation: 2,
            tables: vec![],
            since: Default::default(),
        }]
    );
    let same = pulse(4, "1000", &[(2, 4242)]);
    assert!(
        update(
            &mut s,
            Msg::Pulse {
                generation: 2,
                result: Ok(same)
            }
        )
        .is_empty()
    );
    let big = s.views.iter().find(|v| v.oid == 2).unwrap();
    assert_eq!(
        (big.status, big.refreshing_pids.clone()),
        (crate::catalog::MvStatus::Refreshing, vec![4242])
    );
    let t = t + chrono::Duration::seconds(3);
    assert_eq!(
        tick(&mut s, t),
        [Effect::Pulse {
            generation: 3,
            tables: vec![],
            since: Default::default(),
        }]
    );
    let moved = pulse(4, "1007", &[]);
    let effects = update(
        &mut s,
        Msg::Pulse {
            generation: 3,
            result: Ok(moved),
        },
    );
    assert_eq!(
        effects,
        [Effect::FetchInventory {
            generation: 4,
            again: crate::catalog::Reread::Changed,
            definitions: true
        }]
    );
}

#[test]
fn another_clients_refresh_ending_reads_the_inventory_again() {
    let mut s = fixture::state();
    let mut t = fixture::now();
    for (generation, refreshing) in [(2, vec![(2, 4242)]), (3, vec![])] {
        t += chrono::Duration::seconds(3);
        tick(&mut s, t);
        let effects = update(
            &mut s,
            Msg::Pulse {
                generation,
                result: Ok(pulse(4, "1000", &refreshing)),
            },
        );
        if generation == 2 {
            assert!(effects.is_empty(), "{effects:?}");
        } else {
            assert_eq!(
                effects,
                [Effect::FetchInventory {
                    generation: 4,
                    again: crate::catalog::Reread::Changed,
                    definitions: true
                }]
            );
        }
    }
}

#[test]
fn the_selected_mvs_detail_is_read_once_it_rests() {
    let mut s = fixture::state();
    let t = fixture::now() + chrono::Duration::seconds(1);
    let effects = update(&mut s, Msg::Tick(t));
    assert!(
        effects.contains(&Effect::FetchDetail {
            oid: 3,
            ledger: true
        }),
        "{effects:?}"
    );
    let again = update(&mut s, Msg::Tick(t + chrono::Duration::milliseconds(500)));
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, Effect::FetchDetail { .. })),
        "one in flight"
    );
    let detail = crate::tui::msg::DetailData::default();
    update(
        &mut s,
        Msg::Detail {
            oid: 3,
            result: Ok(detail.clone()),
        },
    );
    assert_eq!(s.detail, Some((3, detail)));
}

#[test]
fn the_filter_takes_a_regex_when_it_looks_like_one() {
    let mut s = fixture::state();
    crate::tui::update::run_command(&mut s, "filter ^(koji|copr)_");
    assert_eq!(names(&s), ["copr_target_builds", "koji_builds_daily"]);
    crate::tui::update::run_command(&mut s, "filter _daily$");
    assert_eq!(names(&s), ["koji_builds_daily"]);
    crate::tui::update::run_command(&mut s, "filter reporting.builds b");
    assert_eq!(
        names(&s),
        ["Builds by Project"],
        "a plain dot is a substring, on schema.name"
    );
    crate::tui::update::run_command(&mut s, "filter (unclosed");
    assert!(names(&s).is_empty(), "an invalid regex is a substring");
}

#[test]
fn s_opens_the_schedule_form_prefilled_and_enter_saves_a_valid_line() {
    let mut s = fixture::state();
    // The first row by name is "Reporting"."Builds by Project", scheduled nightly.
    press(&mut s, KeyCode::Char('s'));
    assert_eq!(
        s.overlay,
        Overlay::Schedule {
            oid: 3,
            error: None
        }
    );
    assert_eq!(s.input.value(), "cron 0 3 * * * tz UTC window 01:00-05:00");
    // Typing is checked as it goes.
    s.input = tui_input::Input::new("every 1h".into());
    typed(&mut s, " parsecs");
    match &s.overlay {
        Overlay::Schedule { error: Some(e), .. } => assert!(e.contains("--every"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(
        press(&mut s, KeyCode::Enter).is_empty(),
        "an invalid line is not sent"
    );
    s.input = tui_input::Input::new("every 15m window 01:00-05:00".into());
    let effects = press(&mut s, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::SaveSchedule {
            oid: 3,
            schema: "Reporting".into(),
            name: "Builds by Project".into(),
            text: "every 15m window 01:00-05:00".into(),
        }]
    );
    assert_eq!(s.overlay, Overlay::None);
    let after = update(&mut s, Msg::ScheduleSaved(Ok("saved".into())));
    assert_eq!(after, vec![Effect::FetchSchedules { generation: 2 }]);
}

#[test]
fn read_only_refuses_the_schedule_form() {
    let mut s = fixture::state();
    s.read_only = true;
    press(&mut s, KeyCode::Char('s'));
    assert_eq!(s.overlay, Overlay::None);
    assert!(s.message.unwrap().contains("read-only"));
}

#[test]
fn the_schedules_pane_lists_them_and_a_claim_reads_them_again() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('6'));
    assert_eq!(s.pane, Pane::Schedules);
    press(&mut s, KeyCode::Char('j'));
    assert_eq!(s.schedules.selected, 1);
    // `s` in the pane edits the selected schedule's MV.
    press(&mut s, KeyCode::Char('s'));
    assert_eq!(
        s.overlay,
        Overlay::Schedule {
            oid: 2,
            error: None
        }
    );
    assert_eq!(s.input.value(), "on-change quiet 2m max-stale 1h");
    press(&mut s, KeyCode::Esc);
    let claimed = crate::schedule::SchedulerEvent::Claimed {
        mv: "reporting.builds_hourly".into(),
        due: fixture::now(),
        why: "interval".into(),
    };
    assert_eq!(
        update(&mut s, Msg::Scheduler(claimed)),
        vec![Effect::FetchSchedules { generation: 2 }]
    );
    assert!(s.message.unwrap().contains("builds_hourly"));
}

#[test]
fn next_runs_show_and_sort() {
    let mut s = fixture::state();
    let hourly = s.views.iter().find(|v| v.oid == 1).unwrap();
    // Every hour, last claimed 20 minutes ago: in 40 minutes.
    assert_eq!(
        s.schedules.next_run(hourly, s.now).unwrap().short(s.now),
        "in 40m"
    );
    crate::tui::update::run_command(&mut s, "sort next");
    assert_eq!(names(&s)[0], "builds_hourly", "the soonest first");
    assert_eq!(
        names(&s).last().unwrap(),
        "koji_builds_daily",
        "unscheduled last"
    );
}

/// A full inventory poll answered with `views`.
fn repoll(s: &mut crate::tui::state::State, views: Vec<crate::catalog::MatView>) {
    s.poll_generation += 1;
    s.poll_in_flight = true;
    let generation = s.poll_generation;
    let inventory = crate::catalog::Inventory {
        facts: fixture::facts(),
        views,
        hints: vec![],
    };
    update(
        s,
        Msg::Inventory {
            generation,
            result: Ok(Box::new(inventory)),
        },
    );
}

fn selected_name(s: &crate::tui::state::State) -> String {
    s.selected_view()
        .map(|v| v.name.clone())
        .unwrap_or_default()
}

#[test]
fn a_dropped_selected_mv_hands_the_selection_to_the_row_that_took_its_place() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('j'));
    press(&mut s, KeyCode::Char('j'));
    assert_eq!(selected_name(&s), "copr_target_builds");
    let without = |gone: &[u32]| {
        let mut v = fixture::views();
        v.retain(|m| !gone.contains(&m.oid));
        v
    };
    repoll(&mut s, without(&[2]));
    assert_eq!(
        selected_name(&s),
        "koji_builds_daily",
        "the next row, not the top"
    );
    assert_eq!(s.selected_row(), Some(2));
    // The last row dropped: the new last one.
    repoll(&mut s, without(&[2, 4]));
    assert_eq!(selected_name(&s), "builds_hourly");
    assert_eq!(s.selected_row(), Some(1));
    // Everything dropped: nothing selected, nothing to crash on.
    repoll(&mut s, Vec::new());
    assert_eq!(s.selected, None);
    assert!(press(&mut s, KeyCode::Char('r')).is_empty());
    press(&mut s, KeyCode::Char('j'));
    repoll(&mut s, fixture::views());
    assert!(s.selected.is_some());
}

#[test]
fn a_recreated_mv_stays_selected_and_a_renamed_one_is_followed() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('j'));
    press(&mut s, KeyCode::Char('j'));
    assert_eq!(s.selected, Some(2));
    // DROP + CREATE under the same name: a new oid.
    let mut views = fixture::views();
    views[1].oid = 22;
    repoll(&mut s, views);
    assert_eq!(s.selected, Some(22));
    assert_eq!(selected_name(&s), "copr_target_builds");
    // ALTER ... RENAME keeps the oid: the selection follows it to its new row.
    let mut views = fixture::views();
    views[1].oid = 22;
    views[1].name = "a_renamed".into();
    views[1].qualified_name = "reporting.a_renamed".into();
    repoll(&mut s, views);
    assert_eq!(s.selected, Some(22));
    assert_eq!(s.selected_row(), Some(1));
}

#[test]
fn a_queued_refresh_of_a_dropped_mv_ends_with_a_clear_message() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('j'));
    let effects = press(&mut s, KeyCode::Char('r'));
    let spec = effects
        .iter()
        .find_map(|e| match e {
            Effect::StartRefresh(spec) => Some(spec.clone()),
            _ => None,
        })
        .expect("a refresh starts");
    let mut views = fixture::views();
    views.retain(|v| v.oid != spec.target.oid);
    repoll(&mut s, views);
    let outcome = Outcome {
        kind: OutcomeKind::Refused,
        duration_ms: None,
        attempts: 0,
        error: Some("materialized view reporting.builds_hourly no longer exists".into()),
        recorded: Recorded::Nowhere,
        base_writes: None,
    };
    finished(&mut s, 1, &spec, outcome);
    let message = s.message.clone().unwrap_or_default();
    assert!(message.contains("no longer exists"), "{message}");
    assert!(s.active_job_for(spec.target.oid).is_none());
}

#[test]
fn the_first_read_leaves_definitions_out_then_reads_them_and_later_reads_only_changes() {
    use crate::catalog::Reread;
    let read = |effects: &[Effect]| {
        effects.iter().find_map(|e| match e {
            Effect::FetchInventory {
                again, definitions, ..
            } => Some((*again, *definitions)),
            _ => None,
        })
    };
    let every = std::time::Duration::from_secs(2);
    let mut s = crate::tui::state::State::new("t".into(), false, every, fixture::now());
    let first = tick(&mut s, fixture::now());
    assert_eq!(
        read(&first),
        Some((Reread::Everything, false)),
        "sooner without definitions"
    );
    let arrive = |s: &mut crate::tui::state::State| {
        let generation = s.poll_generation;
        update(
            s,
            Msg::Inventory {
                generation,
                result: Ok(Box::new(crate::catalog::Inventory {
                    facts: fixture::facts(),
                    views: fixture::views(),
                    hints: vec![],
                })),
            },
        )
    };
    assert_eq!(
        read(&arrive(&mut s)),
        Some((Reread::Changed, true)),
        "the definitions at once, of what changed (all of them, as none is known)"
    );
    arrive(&mut s);
    // A refresh ended: only what changed.
    s.full_wanted = true;
    let t = fixture::now() + chrono::Duration::seconds(10);
    assert_eq!(read(&tick(&mut s, t)), Some((Reread::Changed, true)));
    arrive(&mut s);
    // Minutes later every size again; every third time everything.
    let mut seen = Vec::new();
    for minutes in [6, 12, 18] {
        s.full_wanted = true;
        let effects = tick(&mut s, fixture::now() + chrono::Duration::minutes(minutes));
        seen.push(read(&effects).unwrap().0);
        arrive(&mut s);
    }
    assert_eq!(seen, [Reread::Sizes, Reread::Sizes, Reread::Everything]);
    // Ctrl-r: everything.
    let effects = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    assert_eq!(read(&effects), Some((Reread::Everything, true)));
}

/// A filter typed one key at a time narrows the rows already shown instead of filtering
/// and sorting every MV again: each step shows exactly what a fresh computation shows,
/// through backspace, a regex and an inventory that replaced the MVs.
#[test]
fn a_filter_typed_key_by_key_shows_what_a_fresh_filter_shows() {
    let fresh = |s: &crate::tui::state::State| {
        let mut f = fixture::state();
        f.views = s.views.clone();
        f.sort = s.sort;
        f.filter = s.filter.clone();
        f.recompute_visible();
        names(&f)
    };
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('O'));
    press(&mut s, KeyCode::Char('/'));
    for c in "ing.B".chars() {
        press(&mut s, KeyCode::Char(c));
        assert_eq!(names(&s), fresh(&s), "after {:?}", s.filter);
    }
    assert!(!names(&s).is_empty() && names(&s).len() < s.views.len());
    for code in [
        KeyCode::Backspace,
        KeyCode::Backspace,
        KeyCode::Char('^'),
        KeyCode::Char('c'),
    ] {
        press(&mut s, code);
        assert_eq!(names(&s), fresh(&s), "after {:?}", s.filter);
    }
    // A new inventory, as long as the old one but other MVs at those places.
    let mut inventory = fixture::views();
    inventory.reverse();
    for v in &mut inventory {
        v.name = format!("x{}", v.name);
    }
    s.views = inventory;
    s.views_generation += 1;
    press(&mut s, KeyCode::Char('x'));
    assert_eq!(names(&s), fresh(&s), "after {:?}", s.filter);
}

fn schedule_reads(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::FetchSchedules { .. }))
        .count()
}

#[test]
fn schedule_reads_never_overlap_and_one_asked_for_meanwhile_follows() {
    let mut s = fixture::state();
    let claimed = crate::schedule::SchedulerEvent::Claimed {
        mv: "reporting.builds_hourly".into(),
        due: fixture::now(),
        why: "interval".into(),
    };
    assert_eq!(schedule_reads(&update(&mut s, Msg::Scheduler(claimed))), 1);
    // A save lands while that read is out: a second read would race it (the older answer
    // could land last).
    let saved = update(&mut s, Msg::ScheduleSaved(Ok("saved".into())));
    assert_eq!(schedule_reads(&saved), 0, "two schedule reads in flight");
    // An answer of an older read is dropped; the first answer sends the read asked for
    // meanwhile.
    let stale = Msg::Schedules {
        generation: 1,
        result: Ok(Vec::new()),
    };
    assert!(update(&mut s, stale).is_empty());
    assert_eq!(
        s.schedules.rows.len(),
        3,
        "the stale answer changed nothing"
    );
    let answered = update(
        &mut s,
        Msg::Schedules {
            generation: 2,
            result: Ok(Vec::new()),
        },
    );
    assert_eq!(answered, vec![Effect::FetchSchedules { generation: 3 }]);
    assert!(s.schedules.rows.is_empty());
}

/// The fixture's views and `extra` more, so that a page no longer shows them all.
fn with_views(extra: u32) -> crate::tui::state::State {
    let mut s = fixture::state();
    for i in 0..extra {
        let name = format!("zz_page_{i:03}");
        s.views.push(crate::catalog::MatView::named(
            10_000 + i,
            "public".into(),
            name.clone(),
            format!("public.{name}"),
        ));
    }
    s.recompute_visible();
    s
}

#[test]
fn page_down_moves_one_page_of_the_views_table() {
    let mut s = with_views(80);
    // 30 rows, wide: header 1, no banner, jobs 3 (none running), footer 1 leave a body of
    // 25; side by side the table is all of it, and borders and its header leave 22 rows.
    update(
        &mut s,
        Msg::Resize {
            width: 120,
            height: 30,
        },
    );
    press(&mut s, KeyCode::Home);
    assert_eq!(s.selected_row(), Some(0));
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.selected_row(), Some(22));
    press(&mut s, KeyCode::PageUp);
    assert_eq!(s.selected_row(), Some(0));
    // Narrow, the detail pane goes below: the table keeps 62% of the body (15.5 of 25,
    // rounded up to 16), 13 rows.
    update(
        &mut s,
        Msg::Resize {
            width: 80,
            height: 30,
        },
    );
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.selected_row(), Some(13));
}

#[test]
fn page_down_scrolls_the_detail_and_the_schedules_by_their_own_heights() {
    let mut s = with_views(0);
    update(
        &mut s,
        Msg::Resize {
            width: 120,
            height: 30,
        },
    );
    // The detail pane beside the table: all 25 rows of the body, 23 inside its borders.
    s.pane = Pane::Detail;
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.detail_scroll, 23);
    // Schedules: 23 inside the borders, less the note line and the table's header: 21.
    let one = fixture::schedules().remove(0);
    for i in 0..60 {
        let mut more = one.clone();
        more.mv_name = format!("zz_page_{i:03}");
        s.schedules.rows.push(more);
    }
    s.pane = Pane::Schedules;
    s.schedules.selected = 0;
    press(&mut s, KeyCode::PageDown);
    assert_eq!(s.schedules.selected, 21);
    press(&mut s, KeyCode::PageUp);
    assert_eq!(s.schedules.selected, 0);
}
