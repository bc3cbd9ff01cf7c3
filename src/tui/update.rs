//! `update(state, msg) -> effects`: every behaviour of the console, pure. No I/O, no async,
//! no clock reads (time comes in with `Msg::Tick`). This file dispatches; each pane's and
//! concern's state changes live in the file named after it: `polling.rs`, `jobs.rs`,
//! `views.rs`, `command_line.rs`, `locks.rs`, `activity.rs`, `schedules.rs`, `bench.rs`,
//! `mouse.rs`.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::command_line::{command_key, filter_key};
use super::jobs::{confirmed, job_changed};
use super::msg::{Effect, Msg};
use super::polling::{
    detail_arrived, detail_if_wanted, inventory_arrived, poll_if_due, pulse_arrived,
};
use super::schedules;
use super::state::{Overlay, State};
use super::views::act;
use super::{activity, locks};

/// Where the integration tests (and the snapshot tests) find it.
pub use super::command_line::run_command;

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            let mut effects = poll_if_due(state);
            effects.extend(detail_if_wanted(state));
            effects.extend(locks::tick(state));
            effects
        }
        Msg::Detail {
            oid,
            generation,
            result,
        } => detail_arrived(state, oid, generation, result),
        Msg::Resize { width, height } => {
            state.screen = ratatui::layout::Rect::new(0, 0, width, height);
            Vec::new()
        }
        Msg::Inventory { generation, result } => inventory_arrived(state, generation, result),
        Msg::Pulse { generation, result } => pulse_arrived(state, generation, result),
        Msg::Job(event) => job_changed(state, event),
        Msg::Bench(m) => super::bench::on_msg(state, m),
        Msg::Key(key) => key_pressed(state, key),
        Msg::Mouse { kind, column, row } => super::mouse::pointer(state, kind, column, row),
        Msg::Sessions { generation, result } => locks::sessions_arrived(state, generation, result),
        Msg::Statements { generation, result } => {
            activity::statements_arrived(state, generation, result)
        }
        Msg::StatementTexts { generation, result } => {
            activity::texts_arrived(state, generation, result);
            Vec::new()
        }
        Msg::Signalled(result) => locks::signalled(state, result),
        Msg::Schedules { generation, result } => schedules::arrived(state, generation, result),
        Msg::ScheduleSaved(result) => schedules::saved(state, result),
        Msg::Scheduler(event) => schedules::heard(state, &event),
        Msg::PgCron { generation, result } => {
            super::pg_cron::arrived(state, generation, result);
            Vec::new()
        }
    }
}

fn key_pressed(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    match state.overlay.clone() {
        Overlay::Help => {
            state.overlay = Overlay::None;
            Vec::new()
        }
        Overlay::Filter => filter_key(state, key),
        Overlay::Schedule { oid, .. } => schedules::form_key(state, oid, key),
        Overlay::Command => command_key(state, key),
        Overlay::Confirm { then, .. } => {
            state.overlay = Overlay::None;
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => confirmed(state, *then),
                _ => {
                    state.message = Some("cancelled".into());
                    Vec::new()
                }
            }
        }
        Overlay::None => match state.keymap.action(&key) {
            Some(action) => act(state, action),
            None => Vec::new(),
        },
    }
}

/// Keys as the terminal sends them: only presses count (Windows also sends releases).
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}
