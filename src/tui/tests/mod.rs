//! The console's unit tests, out of the production files: `update` pane by pane (`views.rs`,
//! `polling.rs`, `jobs.rs`, `schedules.rs`, the session panes in `sessions.rs`, the mouse in
//! `mouse.rs`), the
//! benchmark flow (`bench.rs`), `--read-only` (`read_only.rs`), and the fixed state they and
//! the snapshots start from (`fixture.rs`). The snapshots are in `ui/tests/`. Below: the
//! steps the `update` tests share.

pub(super) mod bench;
pub(super) mod cost;
pub(super) mod fixture;
mod jobs;
mod mouse;
mod polling;
mod read_only;
mod schedules;
pub(super) mod sessions;
mod sessions_fixture;
mod views;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::msg::{Effect, Msg};
use crate::tui::update::update;

fn press(s: &mut crate::tui::state::State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(s: &mut crate::tui::state::State, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

fn names(s: &crate::tui::state::State) -> Vec<String> {
    s.visible.iter().map(|&i| s.views[i].name.clone()).collect()
}

/// A full inventory poll answered with `views`.
fn repoll(s: &mut crate::tui::state::State, views: Vec<crate::catalog::MatView>) {
    let generation = s.polling.reads.supersede(s.now);
    let inventory = crate::catalog::Inventory {
        facts: fixture::facts(),
        views,
        hints: vec![],
    };
    update(
        s,
        Msg::Inventory {
            generation,
            result: Ok(Box::new(inventory)),
        },
    );
}
