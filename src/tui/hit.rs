//! Where a click lands: the pane and the list row under a cell of the screen. Computed from
//! the areas `layout` gives render (`screen`, `split_body` with the table's wanted width,
//! `locks`, `activity`, `schedules`) and the window every table draws
//! (`layout::first_shown`), so a click selects the row that is drawn where it lands.

use ratatui::layout::{Position, Rect};

use super::columns::wanted_width;
use super::layout;
use super::state::{Pane, State};

/// What is under a cell: a pane, inside its borders, and perhaps a row of its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub pane: Pane,
    /// The index, in what the pane lists, of the row drawn there: into `visible` (views),
    /// the wait tree (locks), the running sessions (activity), the schedules. None on a
    /// table's header row, below its last row, and in panes without rows.
    pub row: Option<usize>,
}

impl Hit {
    fn pane(pane: Pane) -> Hit {
        Hit { pane, row: None }
    }
}

/// The pane under the cell (`column`, `row`; 0-based) at `state.screen`'s size; None on the
/// header, the banner, the footer, a border, or when the screen is too small to draw.
pub fn hit(state: &State, column: u16, row: u16) -> Option<Hit> {
    let area = state.screen;
    if layout::too_small(area) {
        return None;
    }
    let at = Position::new(column, row);
    let screen = layout::screen(area, state);
    if inside(screen.jobs, at) {
        return Some(Hit::pane(Pane::Jobs));
    }
    let body = screen.body;
    match state.pane {
        Pane::Views | Pane::Detail | Pane::Jobs => {
            let (table, detail) = layout::split_body(body, wanted_width(state));
            if inside(detail, at) {
                return Some(Hit::pane(Pane::Detail));
            }
            inside(table, at).then(|| {
                let rows = layout::bordered_table_rows(table);
                let first = layout::first_shown(state.selected_row().unwrap_or(0), rows);
                let len = state.visible.len();
                Hit {
                    pane: Pane::Views,
                    row: list_row(bordered_table_top(table), rows, first, len, row),
                }
            })
        }
        Pane::Locks => inside(body, at).then(|| {
            let s = &state.sessions;
            let table = layout::locks(body, state)[2];
            let rows = table.height.saturating_sub(1) as usize;
            let first = layout::first_shown(s.locks_row().unwrap_or(0), rows);
            // Before the first poll (or after a failed one) the pane is a line of text.
            let len = if s.data.is_some() { s.tree.len() } else { 0 };
            let in_table = table.contains(at);
            Hit {
                pane: Pane::Locks,
                row: in_table
                    .then(|| list_row(table.y + 1, rows, first, len, row))
                    .flatten(),
            }
        }),
        Pane::Activity => {
            let s = &state.sessions;
            let [running, detail, statements] = layout::activity(body, s.expanded);
            if inside(running, at) {
                let rows = layout::bordered_table_rows(running);
                let first = layout::first_shown(s.running_row().unwrap_or(0), rows);
                let len = if s.data.is_some() {
                    s.running().len()
                } else {
                    0
                };
                return Some(Hit {
                    pane: Pane::Activity,
                    row: list_row(bordered_table_top(running), rows, first, len, row),
                });
            }
            (inside(detail, at) || inside(statements, at)).then_some(Hit::pane(Pane::Activity))
        }
        Pane::Schedules => inside(body, at).then(|| {
            let book = &state.schedules;
            let table = layout::schedules(body)[1];
            let rows = table.height.saturating_sub(1) as usize;
            let first = layout::first_shown(book.selected, rows);
            Hit {
                pane: Pane::Schedules,
                row: table
                    .contains(at)
                    .then(|| list_row(table.y + 1, rows, first, book.len(), row))
                    .flatten(),
            }
        }),
    }
}

/// Inside `area`'s borders: a click on a border is on no pane.
fn inside(area: Rect, at: Position) -> bool {
    layout::inside_borders(area).contains(at)
}

/// The screen row of the first row of a bordered table with a header row.
fn bordered_table_top(table: Rect) -> u16 {
    table.y + 2
}

/// The list index drawn on screen row `y` by a table whose first list row is drawn at
/// `top` and which shows `rows` rows from index `first`, of a list `len` long.
fn list_row(top: u16, rows: usize, first: usize, len: usize, y: u16) -> Option<usize> {
    let shown = usize::from(y.checked_sub(top)?);
    (shown < rows).then_some(first + shown).filter(|&i| i < len)
}
