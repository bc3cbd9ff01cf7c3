//! The prompts at the bottom line: the live filter (`/`) and the command line (`:`), and
//! the commands it runs.

use std::time::Duration;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::jobs::refresh;
use super::keymap::Action;
use super::msg::Effect;
use super::polling::{MAX_POLL, MIN_POLL};
use super::state::{Column, Overlay, State};
use super::views::act;

pub(super) fn filter_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => state.overlay = Overlay::None,
        KeyCode::Esc => {
            state.overlay = Overlay::None;
            state.filter.clear();
            state.recompute_visible();
        }
        _ => {
            state.input.handle_event(&Event::Key(key));
            state.filter = state.input.value().to_string();
            state.recompute_visible();
        }
    }
    Vec::new()
}

pub(super) fn command_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => {
            state.overlay = Overlay::None;
            let line = state.input.value().to_string();
            run_command(state, &line)
        }
        KeyCode::Esc => {
            state.overlay = Overlay::None;
            Vec::new()
        }
        _ => {
            state.input.handle_event(&Event::Key(key));
            Vec::new()
        }
    }
}

/// `:refresh NAME`, `:filter TEXT`, `:sort COLUMN [desc]`, `:interval SECONDS`, `:pause`,
/// `:quit`.
pub fn run_command(state: &mut State, line: &str) -> Vec<Effect> {
    let line = line.trim();
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    match verb {
        "q" | "quit" => act(state, Action::Quit),
        "refresh" | "r" if !rest.is_empty() => {
            match crate::catalog::names::find_in(&state.views, rest) {
                Ok(v) => {
                    let oid = v.oid;
                    refresh(state, vec![oid], None)
                }
                Err(e) => {
                    state.message = Some(e);
                    Vec::new()
                }
            }
        }
        "filter" | "f" => {
            state.filter = rest.to_string();
            state.input = tui_input::Input::new(state.filter.clone());
            state.recompute_visible();
            Vec::new()
        }
        "sort" => {
            let mut words = rest.split_whitespace();
            let column = words.next().and_then(Column::parse);
            match column {
                Some(column) => {
                    state.sort.column = column;
                    state.sort.descending = words.next().is_some_and(|w| w == "desc");
                    state.recompute_visible();
                }
                None => state.message = Some(format!("unknown column {rest:?}")),
            }
            Vec::new()
        }
        "interval" => {
            match rest.parse::<u64>() {
                Ok(s) => {
                    state.polling.every = Duration::from_secs(s).clamp(MIN_POLL, MAX_POLL);
                    state.message =
                        Some(format!("polling every {} s", state.polling.every.as_secs()));
                }
                Err(_) => state.message = Some(format!("not a number of seconds: {rest:?}")),
            }
            Vec::new()
        }
        "pause" => act(state, Action::Pause),
        "" => Vec::new(),
        _ => {
            state.message = Some(format!(
                "unknown command {verb:?} (refresh NAME, filter TEXT, sort COLUMN [desc], interval SECONDS, pause, quit)"
            ));
            Vec::new()
        }
    }
}
