//! The screens at 80x24 and 120x40, from the fixed state: what a user sees.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use crate::tui::state::{Overlay, PendingAction, State};
use crate::tui::tests::fixture;
use crate::tui::ui::{Theme, render};

fn draw(state: &State, width: u16, height: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| render(f, state, &theme)).unwrap();
    t
}

fn snapshot(name: &str, state: &State) {
    for (w, h) in [(80, 24), (120, 40)] {
        let t = draw(state, w, h, Theme::new(true));
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn main_screen() {
    snapshot("main", &fixture::state());
}

#[test]
fn wide_table_shows_each_schedule_with_its_next_run() {
    let t = draw(&fixture::state(), 200, 24, Theme::new(true));
    insta::assert_snapshot!("main_200x24", t.backend());
}

#[test]
fn schedules_pane() {
    let mut s = fixture::state();
    s.pane = crate::tui::state::Pane::Schedules;
    s.schedules.last_event = Some("scheduled refresh of reporting.builds_hourly (interval)".into());
    snapshot("schedules", &s);
}

#[test]
fn schedule_form_with_an_error() {
    let mut s = fixture::state();
    s.input = tui_input::Input::new("every 15 parsecs".into());
    s.overlay = Overlay::Schedule {
        oid: 1,
        error: crate::tui::schedules::form_error(
            "every 15 parsecs",
            "UTC",
            &crate::tui::pg_cron::PgCronBook::default(),
        ),
    };
    snapshot("schedule_form", &s);
}

#[test]
fn help_overlay() {
    let mut s = fixture::state();
    s.overlay = Overlay::Help;
    snapshot("help", &s);
}

#[test]
fn read_only_help_hides_what_changes_the_database() {
    let mut s = fixture::state();
    s.read_only = true;
    s.overlay = Overlay::Help;
    snapshot("help_read_only", &s);
}

#[test]
fn confirmation() {
    let mut s = fixture::state();
    s.overlay = Overlay::Confirm {
        question: "A plain refresh blocks every reader while it runs: reporting.copr_target_builds (2 sessions reading it, ~1.5 s each). Refresh? (y/n)".into(),
        then: Box::new(PendingAction::Quit),
    };
    snapshot("confirm", &s);
}

#[test]
fn filter_and_lost_connection() {
    let mut s = fixture::state();
    crate::tui::update::run_command(&mut s, "filter build");
    s.overlay = Overlay::Filter;
    s.input = tui_input::Input::new("build".into());
    s.health = crate::tui::state::Health::Lost {
        error: "connection refused".into(),
        since: fixture::now() - chrono::Duration::seconds(12),
    };
    snapshot("filter_lost", &s);
}

#[test]
fn too_small() {
    let t = draw(&fixture::state(), 30, 8, Theme::new(true));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn failed_status_is_red_unless_no_color() {
    let s = fixture::state();
    let find = |t: &Terminal<TestBackend>| {
        let buf = t.backend().buffer();
        let area = buf.area;
        (0..area.height)
            .flat_map(|y| (0..area.width).map(move |x| (x, y)))
            .find(|&(x, y)| {
                buf[(x, y)].symbol() == "f"
                    && buf[(x + 1, y)].symbol() == "a"
                    && buf[(x + 2, y)].symbol() == "i"
            })
            .map(|(x, y)| buf[(x, y)].style().fg)
    };
    assert_eq!(
        find(&draw(&s, 120, 40, Theme::new(true))),
        Some(Some(Color::Red))
    );
    assert_eq!(
        find(&draw(&s, 120, 40, Theme::new(false))),
        Some(Some(Color::Reset))
    );
}

#[test]
fn detail_with_indexes_and_refresh_history() {
    let mut s = fixture::state();
    let run =
        |minutes: i64, ms: f64, outcome: &str, error: Option<&str>| crate::ledger::RefreshRecord {
            id: minutes,
            mv_oid: 3,
            schema: "Reporting".into(),
            name: "Builds by Project".into(),
            started_at: fixture::now() - chrono::Duration::minutes(minutes),
            finished_at: Some(fixture::now() - chrono::Duration::minutes(minutes)),
            duration_ms: Some(ms),
            concurrently: false,
            with_data: true,
            source: "cli".into(),
            outcome: outcome.into(),
            error: error.map(str::to_string),
            rows_after: None,
            bytes_after: None,
            db_user: "postgres".into(),
            backend_pid: Some(1),
            client_application: None,
            cost: Default::default(),
        };
    let index = |name: &str, unique: bool, why: Option<&str>| crate::catalog::indexes::MvIndex {
        name: name.into(),
        definition: String::new(),
        unique,
        not_concurrent_because: why.map(str::to_string),
    };
    s.detail = Some((
        3,
        crate::tui::msg::DetailData {
            runs: vec![
                run(1, 30.0, "failed", Some("division by zero")),
                run(10, 120.0, "ok", None),
                run(20, 60.0, "ok", None),
                run(30, 240.0, "ok", None),
            ],
            indexes: vec![
                index("builds_by_project_key", true, None),
                index(
                    "builds_by_project_recent",
                    true,
                    Some("partial (has a WHERE clause)"),
                ),
                index("builds_by_project_at", false, Some("not unique")),
            ],
        },
    ));
    let t = draw(&s, 120, 40, Theme::new(true));
    insta::assert_snapshot!(t.backend());
}

/// The whole screen as text, row by row.
fn screen_text(state: &State, width: u16, height: u16) -> String {
    let t = draw(state, width, height, Theme::new(false));
    let buffer = t.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn footers_and_hints_name_the_keys_the_user_bound() {
    let mut overrides = std::collections::BTreeMap::new();
    for (action, key) in [
        ("refresh", "F5"),
        ("cancel", "x"),
        ("terminate", "T"),
        ("focus_activity", "F9"),
        ("quit", "Q"),
    ] {
        overrides.insert(action.to_string(), vec![key.to_string()]);
    }
    let mut s = fixture::state();
    s.keymap = crate::tui::keymap::Keymap::with_overrides(&overrides).unwrap();
    s.jobs.clear();
    let main = screen_text(&s, 160, 30);
    let footer = main.lines().last().unwrap();
    assert!(footer.contains("F5 refresh"), "{footer}");
    assert!(footer.contains("x cancel"), "{footer}");
    assert!(footer.contains("Q quit"), "{footer}");
    assert!(!footer.contains("r refresh"), "{footer}");
    assert!(main.contains("F5 refreshes the selected MV"), "{main}");
    s.pane = crate::tui::state::Pane::Locks;
    let locks = screen_text(&s, 160, 30);
    let footer = locks.lines().last().unwrap();
    assert!(footer.contains("T terminate"), "{footer}");
    assert!(footer.contains("F9 activity"), "{footer}");
    assert!(!footer.contains("K terminate"), "{footer}");
}

/// A name is cut only when the detail pane cannot give more room, and a cut one ends in `…`;
/// sizes fit their column.
#[test]
fn names_get_room_first_and_cut_ones_end_in_an_ellipsis() {
    let mut s = fixture::state();
    let v = s
        .views
        .iter_mut()
        .find(|v| v.name == "builds_hourly")
        .unwrap();
    v.schema = "Reporting".into();
    v.name = "Sales by Region".into();
    v.qualified_name = "\"Reporting\".\"Sales by Region\"".into();
    v.total_bytes = Some(8192);
    let wide = screen_text(&s, 120, 40);
    assert!(
        wide.contains("\"Reporting\".\"Sales by Region\" "),
        "{wide}"
    );
    assert!(wide.contains(" 8 kB "), "{wide}");
    assert!(!wide.contains("8192 by"), "{wide}");
    // At 80 columns the detail pane is below: the name column has what the others leave.
    let narrow = screen_text(&s, 80, 24);
    let row = narrow
        .lines()
        .find(|l| l.contains("\"Reporting\".\"Sal"))
        .expect("the row");
    assert!(row.contains('…'), "{row}");
    assert!(!row.contains("Region\""), "{row}");
    // A name longer than any table: the detail pane keeps its 30 columns.
    let v = s
        .views
        .iter_mut()
        .find(|v| v.name == "Sales by Region")
        .unwrap();
    v.qualified_name = format!("reporting.{}", "x".repeat(200));
    // As a new inventory would: the widths are computed with the rows, not every frame.
    s.name_widths = crate::tui::columns::NameWidths::of(&s.views);
    let long = screen_text(&s, 120, 40);
    let row = long.lines().find(|l| l.contains("reporting.xxx")).unwrap();
    assert!(row.contains("x… "), "{row}");
    let detail_top = long
        .lines()
        .nth(1)
        .and_then(|l| l.split_once("┌ 2 detail"))
        .map(|(_, rest)| rest.chars().count() + "┌ 2 detail".chars().count());
    assert_eq!(detail_top, Some(30), "{long}");
    // The other names still fit whole.
    assert!(
        long.contains("\"Reporting\".\"Builds by Project\" "),
        "{long}"
    );
}

/// Right after `r`, the views row says what the jobs pane says (the inventory still calls
/// the MV fresh until its next read).
#[test]
fn the_views_row_follows_its_job_before_the_inventory_does() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::sync::Arc;

    use crate::refresh::{JobEvent, JobState};
    use crate::tui::msg::{Effect, Msg};
    use crate::tui::update::update;

    let mut s = fixture::state();
    let key = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    update(&mut s, key('j'));
    let effects = update(&mut s, key('r'));
    let [Effect::StartRefresh(spec)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let spec = Arc::new(spec.clone());
    let name = spec.target.qualified_name.clone();
    let row_of = |s: &State| {
        // The views table is left of the detail pane, whose title names the MV too.
        screen_text(s, 160, 30)
            .lines()
            .filter_map(|l| l.split("││").next())
            .find(|l| l.contains(&name))
            .expect("the row")
            .to_string()
    };
    for (state, shown) in [
        (JobState::Queued, "queued"),
        (
            JobState::WaitingForLock {
                blocked_by: vec![42],
            },
            "lock wait",
        ),
        (JobState::Running { pid: 7, attempt: 1 }, "refreshing"),
    ] {
        update(
            &mut s,
            Msg::Job(JobEvent {
                id: 1,
                spec: spec.clone(),
                state,
            }),
        );
        let row = row_of(&s);
        assert!(row.contains(shown), "{shown}: {row}");
    }
    assert!(!row_of(&s).contains("queued"));
}

/// Every refresh figure in the detail pane names where it comes from, even when the time and
/// the durations come from different places.
#[test]
fn every_refresh_figure_names_its_source() {
    use crate::catalog::StatsSource;

    let mut s = fixture::state();
    s.jobs.clear();
    let oid = s.selected_view().unwrap().oid;
    let v = s.views.iter_mut().find(|v| v.oid == oid).unwrap();
    v.last_refresh = Some(fixture::now() - chrono::Duration::seconds(41));
    v.last_refresh_source = Some(StatsSource::CommitTimestamp);
    (v.last_refresh_ms, v.avg_refresh_ms, v.p95_refresh_ms) = (None, None, None);
    (v.refresh_count, v.refresh_failures, v.refresh_stats_source) = (None, None, None);
    let text = screen_text(&s, 200, 40);
    assert!(
        text.contains("refreshes: last 41s ago (commit timestamp)"),
        "{text}"
    );
    assert!(!text.contains("no source"), "{text}");
    let v = s.views.iter_mut().find(|v| v.oid == oid).unwrap();
    v.avg_refresh_ms = Some(1200.0);
    v.refresh_count = Some(3);
    v.refresh_stats_source = Some(StatsSource::PgStatStatements);
    let v = s.views.iter().find(|v| v.oid == oid).unwrap();
    assert_eq!(
        crate::tui::ui::detail::refresh_summary(&s, v),
        "last 41s ago (commit timestamp); avg 1.2 s, 3 runs (pg_stat_statements)"
    );
    let v = s.views.iter_mut().find(|v| v.oid == oid).unwrap();
    v.last_refresh_source = Some(StatsSource::PgStatStatements);
    let v = s.views.iter().find(|v| v.oid == oid).unwrap();
    assert_eq!(
        crate::tui::ui::detail::refresh_summary(&s, v),
        "last 41s ago, avg 1.2 s, 3 runs (pg_stat_statements)"
    );
}
