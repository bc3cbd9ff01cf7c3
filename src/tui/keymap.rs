//! Keys to actions, per screen; the help overlay is generated from this table.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A user intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    FocusViews,
    FocusDetail,
    FocusJobs,
    Mark,
    Refresh,
    RefreshCascade,
    CancelJob,
    Filter,
    Command,
    Help,
    Back,
    SortNext,
    SortReverse,
    Pause,
    Faster,
    Slower,
    Reload,
    CopyName,
    CopyDefinition,
    Quit,
}

/// (key, what it shows in help, action)
pub const BINDINGS: &[(&str, &str, Action)] = &[
    ("↑ k", "move up", Action::Up),
    ("↓ j", "move down", Action::Down),
    ("PgUp", "page up", Action::PageUp),
    ("PgDn", "page down", Action::PageDown),
    ("g", "first row", Action::Top),
    ("G", "last row", Action::Bottom),
    ("Tab", "next pane", Action::NextPane),
    ("1 2 3", "views / detail / jobs pane", Action::FocusViews),
    ("space", "mark / unmark the MV", Action::Mark),
    ("r", "refresh selected (or marked) MVs", Action::Refresh),
    (
        "R",
        "refresh with cascade (upstream first, downstream after)",
        Action::RefreshCascade,
    ),
    ("c", "cancel the selected MV's job", Action::CancelJob),
    ("/", "filter by name or schema", Action::Filter),
    (
        ":",
        "command (refresh NAME, filter TEXT, sort COL [desc], quit)",
        Action::Command,
    ),
    ("s", "sort by the next column", Action::SortNext),
    ("S", "reverse the sort", Action::SortReverse),
    ("p", "pause / resume polling", Action::Pause),
    ("+ -", "poll less / more often", Action::Slower),
    ("Ctrl-r", "poll now", Action::Reload),
    ("y", "copy the qualified name", Action::CopyName),
    ("Y", "copy the definition", Action::CopyDefinition),
    ("?", "this help", Action::Help),
    ("Esc", "back / close", Action::Back),
    ("q", "quit", Action::Quit),
];

/// The action of a key press, outside the text-input overlays.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Action::Quit,
        KeyCode::Char('r') if ctrl => Action::Reload,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Tab => Action::NextPane,
        KeyCode::Char('1') => Action::FocusViews,
        KeyCode::Char('2') => Action::FocusDetail,
        KeyCode::Char('3') => Action::FocusJobs,
        KeyCode::Char(' ') => Action::Mark,
        KeyCode::Char('r') => Action::Refresh,
        KeyCode::Char('R') => Action::RefreshCascade,
        KeyCode::Char('c') => Action::CancelJob,
        KeyCode::Char('/') => Action::Filter,
        KeyCode::Char(':') => Action::Command,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('s') => Action::SortNext,
        KeyCode::Char('S') => Action::SortReverse,
        KeyCode::Char('p') => Action::Pause,
        KeyCode::Char('+') => Action::Slower,
        KeyCode::Char('-') => Action::Faster,
        KeyCode::Char('y') => Action::CopyName,
        KeyCode::Char('Y') => Action::CopyDefinition,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}

/// Actions that change the database: hidden and refused in `--read-only`.
pub fn changes_database(action: Action) -> bool {
    matches!(
        action,
        Action::Refresh | Action::RefreshCascade | Action::CancelJob
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_help_line_names_a_key_that_maps_to_its_action() {
        for (keys, _, action) in BINDINGS {
            let first = keys.split(' ').next().unwrap();
            let code = match first {
                "↑" => KeyCode::Up,
                "↓" => KeyCode::Down,
                "PgUp" => KeyCode::PageUp,
                "PgDn" => KeyCode::PageDown,
                "Tab" => KeyCode::Tab,
                "Esc" => KeyCode::Esc,
                "space" => KeyCode::Char(' '),
                "Ctrl-r" => {
                    let k = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
                    assert_eq!(action_for(&k), Some(*action));
                    continue;
                }
                s => KeyCode::Char(s.chars().next().unwrap()),
            };
            let found = action_for(&KeyEvent::new(code, KeyModifiers::NONE));
            // "+ -" documents both directions under one line.
            if *action == Action::Slower {
                assert!(matches!(found, Some(Action::Slower | Action::Faster)));
            } else {
                assert_eq!(found, Some(*action), "{keys}");
            }
        }
    }
}
