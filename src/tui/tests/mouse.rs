//! The mouse through `update`: the wheel over each pane, clicks on rows (with the table
//! scrolled), on panes, and on what is no pane. The cells are counted by hand from the
//! screen below (120x30), not asked of `layout`, so a hit-test that disagrees with what is
//! drawn fails here.
//!
//! ```text
//! row 0       header line
//! rows 1-25   body: the views table (x 0-84, as wide as its longest name wants; top
//!             border 1, column titles 2, MVs 3-24, bottom border 25) beside the detail
//!             pane (x 85-119)
//! rows 26-28  jobs pane (borders 26 and 28)
//! row 29      footer
//! ```

use ratatui::crossterm::event::KeyCode;

use super::{fixture, press};
use crate::tui::msg::{Msg, Pointer};
use crate::tui::state::{Overlay, Pane, State};
use crate::tui::update::update;

/// The fixture's 4 MVs and `extra` more, at 120x30, the first row selected.
fn console(extra: u32) -> State {
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
    update(
        &mut s,
        Msg::Resize {
            width: 120,
            height: 30,
        },
    );
    press(&mut s, KeyCode::Home);
    s
}

fn mouse(s: &mut State, kind: Pointer, column: u16, row: u16) {
    let effects = update(s, Msg::Mouse { kind, column, row });
    assert!(effects.is_empty(), "{effects:?}");
}

fn click(s: &mut State, column: u16, row: u16) {
    mouse(s, Pointer::Click, column, row);
}

/// What a click or the wheel may change.
fn seen(s: &State) -> (Pane, Option<usize>, u16, usize, Overlay) {
    let overlay = s.overlay.clone();
    (
        s.pane,
        s.selected_row(),
        s.detail_scroll,
        s.schedules.selected,
        overlay,
    )
}

#[test]
fn the_wheel_over_the_views_table_moves_its_selection_three_rows() {
    let mut s = console(40);
    mouse(&mut s, Pointer::WheelDown, 10, 10);
    assert_eq!(s.selected_row(), Some(3));
    mouse(&mut s, Pointer::WheelDown, 10, 10);
    mouse(&mut s, Pointer::WheelUp, 40, 3);
    assert_eq!(s.selected_row(), Some(3));
    mouse(&mut s, Pointer::WheelUp, 40, 3);
    mouse(&mut s, Pointer::WheelUp, 40, 3);
    assert_eq!(s.selected_row(), Some(0), "stops at the top");
    // From the detail pane: the table under the pointer scrolls, the focus stays.
    s.pane = Pane::Detail;
    mouse(&mut s, Pointer::WheelDown, 10, 20);
    assert_eq!((s.pane, s.selected_row()), (Pane::Detail, Some(3)));
}

#[test]
fn the_wheel_over_another_pane_scrolls_that_pane_not_the_views() {
    let mut s = console(40);
    mouse(&mut s, Pointer::WheelDown, 100, 10);
    assert_eq!(
        (s.detail_scroll, s.selected_row(), s.pane),
        (3, Some(0), Pane::Views),
        "the detail scrolls, the table and the focus stay"
    );
    mouse(&mut s, Pointer::WheelUp, 100, 10);
    assert_eq!(s.detail_scroll, 0);
    // The jobs pane does not scroll, and must not move the table instead.
    let before = seen(&s);
    mouse(&mut s, Pointer::WheelDown, 10, 27);
    assert_eq!(seen(&s), before);
    // The schedules pane (in place of the table) moves its own selection.
    let one = fixture::schedules().remove(0);
    for i in 0..10 {
        let mut more = one.clone();
        more.mv_name = format!("zz_page_{i:03}");
        s.schedules.rows.push(more);
    }
    press(&mut s, KeyCode::Char('6'));
    s.schedules.selected = 0;
    mouse(&mut s, Pointer::WheelDown, 10, 10);
    assert_eq!((s.schedules.selected, s.selected_row()), (3, Some(0)));
}

#[test]
fn a_click_on_a_row_of_the_scrolled_table_selects_exactly_that_row() {
    let mut s = console(80);
    for _ in 0..30 {
        press(&mut s, KeyCode::Down);
    }
    // 22 rows shown, the selection (30) on the last: rows 9 to 30, MV row 3 shows row 9.
    assert_eq!(s.selected_row(), Some(30));
    click(&mut s, 10, 3 + 6);
    assert_eq!(s.selected_row(), Some(15));
    let name = &s.views[s.visible[15]].name;
    assert_eq!(s.selected_view().map(|v| &v.name), Some(name));
    // Now the window starts at 0 again: the first MV row is row 0 of the list.
    click(&mut s, 50, 3);
    assert_eq!(s.selected_row(), Some(0));
    click(&mut s, 50, 24);
    assert_eq!(s.selected_row(), Some(21), "the last row shown");
    // The column titles: the pane, no row.
    s.pane = Pane::Detail;
    click(&mut s, 10, 2);
    assert_eq!((s.pane, s.selected_row()), (Pane::Views, Some(21)));
}

#[test]
fn a_click_below_the_last_mv_focuses_the_table_and_selects_nothing_new() {
    let mut s = console(0);
    press(&mut s, KeyCode::Down);
    s.pane = Pane::Jobs;
    click(&mut s, 10, 3 + 4);
    assert_eq!((s.pane, s.selected_row()), (Pane::Views, Some(1)));
    click(&mut s, 10, 3 + 3);
    assert_eq!(s.selected_row(), Some(3));
}

#[test]
fn a_click_on_another_pane_focuses_it() {
    let mut s = console(10);
    press(&mut s, KeyCode::Down);
    click(&mut s, 100, 10);
    assert_eq!((s.pane, s.selected_row()), (Pane::Detail, Some(1)));
    click(&mut s, 60, 27);
    assert_eq!((s.pane, s.selected_row()), (Pane::Jobs, Some(1)));
    click(&mut s, 60, 4);
    assert_eq!((s.pane, s.selected_row()), (Pane::Views, Some(1)));
}

#[test]
fn clicks_on_borders_the_header_the_footer_or_under_a_dialog_do_nothing() {
    let mut s = console(10);
    press(&mut s, KeyCode::Down);
    s.pane = Pane::Detail;
    let before = seen(&s);
    // Borders: the table's left, top, bottom and right, the detail's left and right, the
    // jobs' top.
    let borders = [
        (0, 10),
        (10, 1),
        (10, 25),
        (84, 10),
        (85, 10),
        (119, 10),
        (10, 26),
    ];
    for (column, row) in borders {
        click(&mut s, column, row);
        mouse(&mut s, Pointer::WheelDown, column, row);
        assert_eq!(seen(&s), before, "({column}, {row})");
    }
    // The header line, the footer, off the screen.
    for (column, row) in [(10, 0), (10, 29), (200, 10), (10, 300)] {
        click(&mut s, column, row);
        assert_eq!(seen(&s), before, "({column}, {row})");
    }
    // A dialog ignores the mouse, and the rows under it stay as they were.
    press(&mut s, KeyCode::Char('?'));
    let before = seen(&s);
    assert_eq!(before.4, Overlay::Help);
    click(&mut s, 10, 3);
    mouse(&mut s, Pointer::WheelDown, 10, 3);
    assert_eq!(seen(&s), before);
    // A screen too small to draw on has nothing to click.
    press(&mut s, KeyCode::Char('x'));
    update(
        &mut s,
        Msg::Resize {
            width: 30,
            height: 8,
        },
    );
    let before = seen(&s);
    click(&mut s, 10, 3);
    assert_eq!(seen(&s), before);
}

#[test]
fn clicks_select_sessions_in_the_locks_and_activity_panes() {
    let mut s = super::sessions::state();
    update(
        &mut s,
        Msg::Resize {
            width: 120,
            height: 30,
        },
    );
    press(&mut s, KeyCode::Char('4'));
    let pids: Vec<i32> = s.sessions.tree.iter().map(|l| l.pid).collect();
    assert_eq!(pids, [101, 102, 103, 104]);
    // Inside the borders (rows 2-24): two lines about copr_target_builds (rows 2 and 3),
    // the tree's titles (row 4), its sessions from row 5.
    click(&mut s, 10, 5 + 2);
    assert_eq!(s.sessions.selected_pid(Pane::Locks), Some(103));
    click(&mut s, 10, 4);
    assert_eq!(s.sessions.selected_pid(Pane::Locks), Some(103), "titles");
    mouse(&mut s, Pointer::WheelUp, 10, 12);
    assert_eq!(s.sessions.selected_pid(Pane::Locks), Some(101));
    // Activity: the running sessions' table is bordered, with titles on row 2.
    press(&mut s, KeyCode::Char('5'));
    let running: Vec<i32> = s.sessions.running().iter().map(|r| r.pid).collect();
    click(&mut s, 10, 3 + 1);
    assert_eq!(s.sessions.selected_pid(Pane::Activity), Some(running[1]));
    mouse(&mut s, Pointer::WheelDown, 10, 3);
    assert_eq!(
        s.sessions.selected_pid(Pane::Activity),
        Some(running[4]),
        "three rows down"
    );
}
