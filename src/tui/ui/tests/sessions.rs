//! The locks and activity panes at 80x24 and 120x40, and the marks they leave on the views
//! table and the jobs pane, from the fixed state of `tui::tests::sessions`.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::tui::state::{Pane, State};
use crate::tui::tests::sessions;
use crate::tui::ui::{Theme, render};

fn snapshot(name: &str, state: &State) {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(f, state, &Theme::new(true))).unwrap();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn locks_pane() {
    let mut s = sessions::state();
    s.pane = Pane::Locks;
    snapshot("locks", &s);
}

#[test]
fn locks_pane_with_the_selected_session_whole() {
    let mut s = sessions::state();
    s.pane = Pane::Locks;
    s.sessions.locks_selected = Some((102, Some(101)));
    s.sessions.expanded = true;
    snapshot("locks_expanded", &s);
}

#[test]
fn activity_pane() {
    let mut s = sessions::state();
    s.pane = Pane::Activity;
    snapshot("activity", &s);
}

#[test]
fn activity_pane_without_pg_stat_statements() {
    let mut s = sessions::state();
    s.pane = Pane::Activity;
    s.sessions.statements.access = Some(Err(crate::catalog::statements::NOT_LOADED.into()));
    snapshot("activity_no_pss", &s);
}

#[test]
fn views_mark_lock_waits_and_jobs_name_the_blocker() {
    snapshot("views_with_lock_waits", &sessions::state());
}
