//! The mouse's part of `update` (pure: where it points comes from `hit`, which reads the
//! same layout render draws with). The wheel scrolls the pane under the pointer; a left
//! click focuses the pane under it and selects the row it lands on. With `--no-mouse` (or
//! `mouse = false` in the config file) the runtime never captures the mouse and none of
//! this happens: the terminal keeps its own selection.

use super::hit::{Hit, hit};
use super::keymap::Action;
use super::msg::{Effect, Pointer};
use super::state::{Overlay, Pane, State};
use super::views::act;

/// Rows a notch of the wheel moves, as in most terminal programs (less, vim, htop).
pub const WHEEL_ROWS: usize = 3;

pub fn pointer(state: &mut State, kind: Pointer, column: u16, row: u16) -> Vec<Effect> {
    // A dialog, the form or a line being typed has the keyboard and ignores the mouse: a
    // click must not change what a question is about under it.
    if state.overlay != Overlay::None {
        return Vec::new();
    }
    let Some(hit) = hit(state, column, row) else {
        return Vec::new();
    };
    match kind {
        Pointer::WheelUp => wheel(state, hit.pane, Action::Up),
        Pointer::WheelDown => wheel(state, hit.pane, Action::Down),
        Pointer::Click => {
            click(state, hit);
            Vec::new()
        }
    }
}

/// WHEEL_ROWS steps of the pane's own Up or Down (so the wheel moves exactly what its keys
/// move), the focus left where it was. bottom scrolls the focused widget whatever the
/// pointer is over and takes the focus only on a click; the wheel here follows the pointer
/// (what the issue asks, and what a GUI does) but, like bottom, leaves the keyboard's focus
/// alone: a glance at the detail with the wheel must not send the next `r` elsewhere.
fn wheel(state: &mut State, pane: Pane, action: Action) -> Vec<Effect> {
    // The jobs pane shows the newest jobs and does not scroll (its Up and Down move the
    // views' selection, which a wheel over it must not).
    if pane == Pane::Jobs {
        return Vec::new();
    }
    let focus = state.pane;
    state.pane = pane;
    let mut effects = Vec::new();
    for _ in 0..WHEEL_ROWS {
        effects.extend(act(state, action));
    }
    state.pane = focus;
    effects
}

/// Focus the pane; select the row under the pointer, if any.
fn click(state: &mut State, hit: Hit) {
    state.pane = hit.pane;
    let Some(row) = hit.row else {
        return;
    };
    match hit.pane {
        Pane::Views => {
            let oid = state.views[state.visible[row]].oid;
            if state.selected != Some(oid) {
                state.selected = Some(oid);
                state.detail_scroll = 0;
            }
        }
        Pane::Locks => {
            let s = &mut state.sessions;
            s.locks_selected = Some((s.tree[row].pid, s.tree[row].parent));
        }
        Pane::Activity => {
            let pid = state.sessions.running()[row].pid;
            state.sessions.running_selected = Some(pid);
        }
        Pane::Schedules => state.schedules.selected = row,
        Pane::Detail | Pane::Jobs => {}
    }
}
