//! The detail pane with what the selected MV's refreshes cost.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::tui::tests::{cost, fixture};
use crate::tui::ui::{Theme, render};

#[test]
fn detail_with_refresh_cost() {
    let mut s = fixture::state();
    let selected = s.selected_view().unwrap().oid;
    for v in s.views.iter_mut().filter(|v| v.oid == selected) {
        v.refresh_cost = Some(cost::summary());
        v.definition = None;
    }
    let mut t = Terminal::new(TestBackend::new(160, 40)).unwrap();
    t.draw(|f| render(f, &s, &Theme::new(true))).unwrap();
    let text = format!("{}", t.backend());
    assert!(text.contains("last refresh cost"), "{text}");
    insta::assert_snapshot!(t.backend());
}
