//! The benchmark in the detail pane: running, and its result with the verdict.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::bench::Progress;
use crate::tui::bench::BenchStatus;
use crate::tui::state::State;
use crate::tui::tests::bench::sample_report;
use crate::tui::tests::fixture;
use crate::tui::ui::{Theme, render};

fn snapshot(name: &str, state: &State) {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(f, state, &Theme::new(true))).unwrap();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn on_builds_hourly(status: BenchStatus) -> State {
    let mut s = fixture::state();
    s.selected = Some(1);
    s.benches.by_oid.insert(1, status);
    s
}

#[test]
fn benchmark_running() {
    let s = on_builds_hourly(BenchStatus::Running(Progress {
        done: 9,
        total: 24,
        step: "mv".into(),
    }));
    snapshot("bench_running", &s);
}

#[test]
fn benchmark_result_with_the_verdict() {
    let s = on_builds_hourly(BenchStatus::Done(Box::new(sample_report())));
    snapshot("bench_result", &s);
}

#[test]
fn benchmark_failed() {
    let s = on_builds_hourly(BenchStatus::Failed(
        "view did not finish within --timeout 60.0 s (canceling statement due to statement timeout)".into(),
    ));
    snapshot("bench_failed", &s);
}
