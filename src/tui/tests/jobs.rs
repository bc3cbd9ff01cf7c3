//! Refreshes through `update`: starting jobs, asking before blocking readers, cascades,
//! read-only, and jobs whose MV went away.

use std::sync::Arc;

use ratatui::crossterm::event::KeyCode;

use super::fixture;
use super::{press, repoll};
use crate::refresh::{JobEvent, JobState, Outcome, OutcomeKind, Recorded};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::Overlay;
use crate::tui::update::update;

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
        cost: Default::default(),
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
        cost: Default::default(),
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
        cost: Default::default(),
    };
    finished(&mut s, 1, &spec, outcome);
    let message = s.message.clone().unwrap_or_default();
    assert!(message.contains("no longer exists"), "{message}");
    assert!(s.active_job_for(spec.target.oid).is_none());
}
