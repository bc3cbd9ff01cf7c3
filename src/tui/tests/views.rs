//! The views pane through `update`: sorting, the filter, the selection across polls,
//! paging, the panes, help and the command line; from the fixed state in `fixture`.

use ratatui::crossterm::event::KeyCode;

use super::fixture;
use super::{names, press, repoll, typed};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::{Column, Overlay, Pane};
use crate::tui::update::update;

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
    let generation = s.polling.reads.supersede(s.now);
    let inventory = crate::catalog::Inventory {
        facts: fixture::facts(),
        views,
        hints: vec![],
    };
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
