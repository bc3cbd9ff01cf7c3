//! The mouse end to end: the real binary in tmux (120x40) against a throwaway cluster, the
//! mouse sent as the SGR reports a terminal sends (`ESC [ < button ; column ; row M`,
//! 1-based), the selection read from the detail pane, which starts with the selected MV's
//! name right after its left border.

mod common;

use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;

const FIXTURE: &str = r#"
CREATE SCHEMA rpt;
CREATE MATERIALIZED VIEW rpt.mv_a AS SELECT 1 AS n;
CREATE MATERIALIZED VIEW rpt.mv_b AS SELECT 2 AS n;
CREATE MATERIALIZED VIEW rpt.mv_c AS SELECT 3 AS n;
CREATE MATERIALIZED VIEW rpt.mv_d AS SELECT 4 AS n;
CREATE MATERIALIZED VIEW rpt.mv_e AS SELECT 5 AS n;
"#;

/// Screen row (1-based, as the reports count) of the table's first MV: the header line,
/// the table's top border and its column titles come first.
const FIRST_MV_ROW: u16 = 4;

async fn console(name: &str, flags: &str) -> Tmux {
    let (db, s) = common::fresh_db(name).await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    let conninfo = common::cluster().conninfo(&db);
    let command = format!(
        "{} {flags} -d '{conninfo}'; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("rpt.mv_e");
    tmux.wait_for("│rpt.mv_a");
    tmux
}

/// A press and a release of the left button at (`column`, `row`), 1-based.
fn click(tmux: &Tmux, column: u16, row: u16) {
    tmux.keys(&["-l", &format!("\x1b[<0;{column};{row}M")]);
    tmux.keys(&["-l", &format!("\x1b[<0;{column};{row}m")]);
}

/// A notch of the wheel, down, at (`column`, `row`).
fn wheel_down(tmux: &Tmux, column: u16, row: u16) {
    tmux.keys(&["-l", &format!("\x1b[<65;{column};{row}M")]);
}

/// A format of tmux's about the pane (`#{mouse_any_flag}`: the program asked for mouse
/// reports).
fn pane_flag(tmux: &Tmux, format: &str) -> String {
    let out = Command::new("tmux")
        .args(["display-message", "-p", "-t", &tmux.session, format])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn a_click_selects_the_row_under_it_and_the_wheel_scrolls_the_table() {
    let tmux = console("mouse_on", "").await;
    assert_eq!(pane_flag(&tmux, "#{mouse_any_flag}"), "1", "captured");
    click(&tmux, 11, FIRST_MV_ROW + 2);
    tmux.wait_for("│rpt.mv_c");
    click(&tmux, 11, FIRST_MV_ROW);
    tmux.wait_for("│rpt.mv_a");
    wheel_down(&tmux, 11, FIRST_MV_ROW + 1);
    tmux.wait_for("│rpt.mv_d");
    // The column titles and the header line select nothing.
    click(&tmux, 11, FIRST_MV_ROW - 1);
    click(&tmux, 11, 1);
    wheel_down(&tmux, 11, 1);
    std::thread::sleep(Duration::from_millis(300));
    assert!(tmux.screen().contains("│rpt.mv_d"), "{}", tmux.screen());
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
    assert_eq!(
        pane_flag(&tmux, "#{mouse_any_flag} #{alternate_on}"),
        "0 0",
        "the mouse released, the normal screen back"
    );
}

#[tokio::test]
async fn with_no_mouse_the_terminal_keeps_the_mouse_and_a_report_selects_nothing() {
    let tmux = console("mouse_off", "--no-mouse").await;
    assert_eq!(pane_flag(&tmux, "#{mouse_any_flag}"), "0", "not captured");
    // What reaches mvtop anyway (bytes shaped as reports) changes nothing.
    click(&tmux, 11, FIRST_MV_ROW + 2);
    wheel_down(&tmux, 11, FIRST_MV_ROW + 1);
    std::thread::sleep(Duration::from_millis(500));
    let screen = tmux.screen();
    assert!(
        screen.contains("│rpt.mv_a"),
        "still the first MV:\n{screen}"
    );
    assert!(screen.contains("views 5/5"), "no filter typed:\n{screen}");
    // The keys still work, and the console quits cleanly.
    tmux.keys(&["j"]);
    tmux.wait_for("│rpt.mv_b");
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
}
