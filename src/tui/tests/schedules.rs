//! The schedules pane through `update`: the form, its reads, next runs and claims.

use ratatui::crossterm::event::KeyCode;

use super::fixture;
use super::{names, press, typed};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::{Overlay, Pane};
use crate::tui::update::update;

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

/// `a` fills the form with the detail pane's advice, in the form's own words; Enter saves it.
#[test]
fn a_fills_the_schedule_form_with_the_advice_and_enter_saves_it() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('j')); // builds_hourly: 88 ms on average
    press(&mut s, KeyCode::Char('a'));
    assert_eq!(
        s.overlay,
        Overlay::Schedule {
            oid: 1,
            error: None
        }
    );
    assert_eq!(s.input.value(), "on-change quiet 30s max-stale 15m");
    let effects = press(&mut s, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::SaveSchedule {
            oid: 1,
            schema: "reporting".into(),
            name: "builds_hourly".into(),
            text: "on-change quiet 30s max-stale 15m".into(),
        }]
    );
    // Without a measured refresh there is nothing to apply: one line says why.
    press(&mut s, KeyCode::Char('G')); // koji_builds_daily: never refreshed
    press(&mut s, KeyCode::Char('a'));
    assert_eq!(s.overlay, Overlay::None);
    assert!(
        s.message.as_deref().unwrap().contains("no advice for"),
        "{:?}",
        s.message
    );
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
