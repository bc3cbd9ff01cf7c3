//! Where each part of the screen goes at a given size: render draws into these areas and
//! `update` pages by the rows they show, so the two never disagree.

use ratatui::layout::{Constraint, Layout, Margin, Rect};

use super::state::{Health, Pane, State};

/// Narrower than this, the detail pane goes below the table instead of beside it.
const SIDE_BY_SIDE_FROM: u16 = 110;

/// The screen's rows, top to bottom.
pub struct Screen {
    pub header: Rect,
    pub banner: Rect,
    pub body: Rect,
    pub jobs: Rect,
    pub footer: Rect,
}

pub fn screen(area: Rect, state: &State) -> Screen {
    let job_rows = state.jobs.len().clamp(1, 5) as u16 + 2;
    let banner_rows = u16::from(matches!(state.health, Health::Lost { .. }));
    let [header, banner, body, jobs, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_rows),
        Constraint::Min(5),
        Constraint::Length(job_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    Screen {
        header,
        banner,
        body,
        jobs,
        footer,
    }
}

/// The detail pane beside the table is never narrower than this.
const DETAIL_MIN_WIDTH: u16 = 30;

/// The views table and the detail pane: side by side when wide, else one above the other.
/// Side by side, the table takes 68 % or, when its names need more (`table_wants`
/// columns), more, down to a detail pane of DETAIL_MIN_WIDTH: a name is cut only when the
/// detail pane cannot give more room.
pub fn split_body(body: Rect, table_wants: u16) -> (Rect, Rect) {
    let sizes = if body.width >= SIDE_BY_SIDE_FROM {
        let most = body.width.saturating_sub(DETAIL_MIN_WIDTH);
        let usual = Constraint::Percentage(68);
        let share = if table_wants > u32::from(body.width).saturating_mul(68).div_ceil(100) as u16 {
            Constraint::Length(table_wants.min(most))
        } else {
            usual
        };
        Layout::horizontal([share, Constraint::Fill(1)]).split(body)
    } else {
        Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).split(body)
    };
    (sizes[0], sizes[1])
}

/// Render draws nothing but a note below this size (and then nothing is clicked).
pub fn too_small(area: Rect) -> bool {
    area.width < 40 || area.height < 10
}

/// The first row a table `rows` high shows when row `selected` is selected: the selection
/// stays on screen, on the last row once it is past the first page. Every table draws its
/// window with this, and a click finds its row with it.
pub fn first_shown(selected: usize, rows: usize) -> usize {
    selected.saturating_sub(rows.saturating_sub(1))
}

/// Rows of a bordered table with a header row drawn in `area`.
pub fn bordered_table_rows(area: Rect) -> usize {
    area.height.saturating_sub(3) as usize
}

/// Inside a block with borders all round.
pub fn inside_borders(area: Rect) -> Rect {
    area.inner(Margin::new(1, 1))
}

/// The activity pane: the running sessions, the selected one whole (when expanded), and
/// the statements.
pub fn activity(body: Rect, expanded: bool) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Percentage(50),
        Constraint::Length(if expanded { 8 } else { 0 }),
        Constraint::Min(4),
    ])
    .areas(body)
}

/// The locks pane inside its borders: the poll's error, a line per MV with lock waits (4 at
/// most), the tree (its header row, then a row per session), the selected session whole.
pub fn locks(body: Rect, state: &State) -> [Rect; 4] {
    let s = &state.sessions;
    Layout::vertical([
        Constraint::Length(u16::from(s.error.is_some())),
        Constraint::Length(s.mv_summary_lines().min(4) as u16),
        Constraint::Min(3),
        Constraint::Length(if s.expanded { 8 } else { 0 }),
    ])
    .areas(inside_borders(body))
}

/// The schedules pane inside its borders: the note line, then the table.
pub fn schedules(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(inside_borders(body))
}

/// The rows PageUp and PageDown move on the focused pane: what it shows at once.
pub fn page_rows(state: &State) -> usize {
    let body = screen(state.screen, state).body;
    // Heights only: how wide the table is does not change them.
    let (table, detail) = split_body(body, 0);
    let rows = match state.pane {
        Pane::Views | Pane::Jobs => bordered_table_rows(table),
        Pane::Detail => inside_borders(detail).height as usize,
        Pane::Activity => bordered_table_rows(activity(body, state.sessions.expanded)[0]),
        // Less the table's header row.
        Pane::Schedules => schedules(body)[1].height.saturating_sub(1) as usize,
        Pane::Locks => locks(body, state)[2].height.saturating_sub(1) as usize,
    };
    rows.max(1)
}
