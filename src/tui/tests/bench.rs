//! The console's benchmark flow through `update`: `b` starts it for the selected MV,
//! progress and the result arrive as messages, Esc or `c` cancel it, results stay per MV.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixture;
use crate::bench::{self, BenchError, CaseRuns, Kind, Measurements, Progress, Subject, Usage};
use crate::tui::bench::{BenchEffect, BenchEvent, BenchMsg, BenchStatus};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::State;
use crate::tui::update::update;

fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// A finished benchmark of builds_hourly (oid 1): the view 124 ms, the MV 7.5 ms, its
/// recorded refresh 88 ms, read 40 times per refresh.
pub fn sample_report() -> bench::BenchReport {
    report_with(Some(88.0))
}

/// The same benchmark with `history_refresh_ms` as the MV's recorded average refresh.
fn report_with(history_refresh_ms: Option<f64>) -> bench::BenchReport {
    let runs = |name: &'static str, ms: &[f64]| CaseRuns {
        name,
        statement: format!("SELECT * FROM {name}"),
        client_ms: ms.to_vec(),
        server_ms: ms.iter().map(|m| m * 0.9).collect(),
        rows: Some(1010),
        bytes: Some(40_000),
        shared_hit: Some(9),
        shared_read: Some(0),
    };
    let m = Measurements {
        view: runs("view", &[121.0, 124.2, 126.0, 123.5, 125.0]),
        mv: runs("mv", &[7.4, 7.5, 7.6, 7.5, 7.3]),
        refresh: None,
        create: None,
    };
    let subject = Subject {
        oid: 1,
        schema: "reporting".into(),
        name: "builds_hourly".into(),
        qualified_name: "reporting.builds_hourly".into(),
        kind: Kind::MaterializedView,
        definition: String::new(),
        populated: true,
    };
    let usage = Usage {
        scans: 410,
        window_secs: Some(36_000.0),
        refreshes_in_window: Some(10),
        refresh_interval_secs: None,
    };
    bench::assemble(subject, 5, 1, None, &m, Some(usage), history_refresh_ms).unwrap()
}

fn msg(oid: u32, generation: u64, event: BenchEvent) -> Msg {
    Msg::Bench(BenchMsg {
        oid,
        generation,
        event,
    })
}

fn selected(oid: u32) -> State {
    let mut s = fixture::state();
    s.selected = Some(oid);
    s
}

#[test]
fn b_benchmarks_the_selected_mv_in_the_background() {
    let mut s = selected(1);
    let effects = press(&mut s, KeyCode::Char('b'));
    assert_eq!(
        effects,
        vec![Effect::Bench(BenchEffect::Start {
            oid: 1,
            generation: 1,
            history_refresh_ms: Some(88.0),
            ledger: true,
            refresh: None,
        })]
    );
    assert_eq!(s.benches.running, Some((1, 1)));
    assert!(matches!(s.benches.by_oid[&1], BenchStatus::Running(_)));
    let p = Progress {
        done: 3,
        total: 20,
        step: "view (warm-up)".into(),
    };
    update(&mut s, msg(1, 1, BenchEvent::Progress(p.clone())));
    assert_eq!(s.benches.by_oid[&1], BenchStatus::Running(p));
    let report = sample_report();
    update(
        &mut s,
        msg(1, 1, BenchEvent::Finished(Ok(Box::new(report.clone())))),
    );
    assert_eq!(s.benches.running, None);
    assert_eq!(s.benches.by_oid[&1], BenchStatus::Done(Box::new(report)));
    let line = s.message.clone().unwrap();
    assert!(
        line.starts_with("reporting.builds_hourly: reads 40×/refresh"),
        "{line}"
    );
}

#[test]
fn one_benchmark_at_a_time_and_stale_messages_are_dropped() {
    let mut s = selected(1);
    press(&mut s, KeyCode::Char('b'));
    s.selected = Some(2);
    assert!(press(&mut s, KeyCode::Char('b')).is_empty());
    assert!(
        s.message
            .as_deref()
            .unwrap()
            .contains("benchmarking reporting.builds_hourly already")
    );
    assert!(!s.benches.by_oid.contains_key(&2));
    // A message of another generation (an earlier, cancelled run) changes nothing.
    let before = s.benches.clone();
    update(
        &mut s,
        msg(1, 7, BenchEvent::Finished(Err(BenchError::Cancelled))),
    );
    assert_eq!(s.benches, before);
}

#[test]
fn esc_or_c_cancel_the_running_benchmark_even_read_only() {
    for key in [KeyCode::Esc, KeyCode::Char('c')] {
        let mut s = selected(1);
        s.read_only = true;
        // Reads only: allowed in --read-only.
        assert_eq!(press(&mut s, KeyCode::Char('b')).len(), 1);
        assert_eq!(
            press(&mut s, key),
            vec![Effect::Bench(BenchEffect::Cancel { generation: 1 })]
        );
        update(
            &mut s,
            msg(1, 1, BenchEvent::Finished(Err(BenchError::Cancelled))),
        );
        assert_eq!(s.benches.by_oid[&1], BenchStatus::Cancelled);
        assert_eq!(s.benches.running, None);
        // With nothing running, Esc and c do what they always did.
        assert!(press(&mut s, key).is_empty());
        assert!(
            !s.message
                .as_deref()
                .unwrap_or("")
                .contains("cancelling the benchmark")
        );
    }
}

#[test]
fn results_stay_per_mv_for_the_session() {
    let mut s = selected(1);
    press(&mut s, KeyCode::Char('b'));
    update(
        &mut s,
        msg(1, 1, BenchEvent::Finished(Ok(Box::new(sample_report())))),
    );
    s.selected = Some(2);
    press(&mut s, KeyCode::Char('b'));
    update(
        &mut s,
        msg(
            2,
            2,
            BenchEvent::Finished(Err(BenchError::TimedOut("view did not finish".into()))),
        ),
    );
    assert!(matches!(s.benches.by_oid[&1], BenchStatus::Done(_)));
    assert_eq!(
        s.benches.by_oid[&2],
        BenchStatus::Failed("view did not finish".into())
    );
    // A poll replaces the inventory, not the results.
    let _ = update(
        &mut s,
        Msg::Tick(fixture::now() + chrono::Duration::seconds(5)),
    );
    assert_eq!(s.benches.by_oid.len(), 2);
}

#[test]
fn an_unpopulated_mv_is_not_benchmarked() {
    let mut s = selected(4);
    assert!(press(&mut s, KeyCode::Char('b')).is_empty());
    assert!(s.message.as_deref().unwrap().contains("not populated"));
    assert_eq!(s.benches.running, None);
}

/// `B` measures a refresh per round: CONCURRENTLY where it can, and a plain one only after
/// a question that says what it blocks; read-only refuses it.
#[test]
fn capital_b_benchmarks_with_refreshes_and_asks_before_plain_ones() {
    let mut s = selected(1); // builds_hourly: concurrent-ready
    let effects = press(&mut s, KeyCode::Char('B'));
    let [
        Effect::Bench(BenchEffect::Start {
            oid: 1,
            refresh: Some(spec),
            ..
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert!(spec.mode.concurrently);
    assert_eq!(spec.target.oid, 1);

    let mut s = selected(2); // copr_target_builds: no unique index, 2 sessions reading it
    assert!(press(&mut s, KeyCode::Char('B')).is_empty());
    let crate::tui::state::Overlay::Confirm { question, .. } = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert!(
        question.contains("5 times without CONCURRENTLY"),
        "{question}"
    );
    assert!(question.contains("2 sessions are reading it"), "{question}");
    let effects = press(&mut s, KeyCode::Char('y'));
    let [
        Effect::Bench(BenchEffect::Start {
            oid: 2,
            refresh: Some(spec),
            ..
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert!(!spec.mode.concurrently);

    let mut s = selected(1);
    s.read_only = true;
    assert!(press(&mut s, KeyCode::Char('B')).is_empty());
    assert!(s.message.as_deref().unwrap().contains("read-only"));
    assert_eq!(s.benches.running, None);
}

/// Without a recorded refresh the console's verdict points to its own key, not to a flag.
#[test]
fn without_a_refresh_time_the_verdict_names_the_key_that_measures_one() {
    let mut s = selected(1);
    let report = report_with(None);
    assert_eq!(
        report.verdict_kind,
        bench::verdict::VerdictKind::RefreshTimeUnknown
    );
    let line = crate::tui::bench::verdict_line(&s, &report);
    assert!(line.contains("B benchmarks with refreshes"), "{line}");
    assert!(!line.contains("--with-refresh"), "{line}");
    // With a recorded average the break-even is computed from it.
    let line = crate::tui::bench::verdict_line(&s, &sample_report());
    assert!(line.contains("break-even"), "{line}");
    s.read_only = true;
    let line = crate::tui::bench::verdict_line(&s, &report);
    assert!(line.contains("mvtop bench --with-refresh"), "{line}");
}
