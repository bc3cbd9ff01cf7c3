//! The views table's columns at a given width, and how wide the table wants to be: the
//! drawing (`ui::views`) and the screen arithmetic (`layout`, which also hit-tests clicks)
//! share them, so the two never disagree.

use ratatui::layout::Constraint;

use super::state::{Column, State};

/// A column of the table as drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Mark,
    Name,
    Sorted(Column),
    /// The next run with the policy (`every 1h, in 40m`): on wide tables, sorted as the next run.
    Schedule,
    Concurrent,
}

impl Shown {
    pub fn width(self) -> Constraint {
        match self {
            Shown::Mark | Shown::Concurrent => Constraint::Length(1),
            Shown::Name => Constraint::Fill(1),
            Shown::Sorted(Column::Size) => Constraint::Length(7),
            Shown::Sorted(Column::Rows) => Constraint::Length(6),
            Shown::Sorted(Column::LastRefresh) => Constraint::Length(9),
            Shown::Sorted(Column::AvgRefresh) => Constraint::Length(8),
            Shown::Sorted(Column::Status) => Constraint::Length(10),
            Shown::Schedule => Constraint::Length(20),
            Shown::Sorted(_) => Constraint::Length(9),
        }
    }
}

/// The columns left to the name in a table `width` wide showing `shown`.
pub fn name_room(width: u16, shown: &[Shown]) -> u16 {
    let fixed: u16 = shown
        .iter()
        .map(|c| match c.width() {
            Constraint::Length(n) => n,
            _ => 0,
        })
        .sum();
    let spacing = shown.len().saturating_sub(1) as u16;
    width.saturating_sub(2 + fixed + spacing)
}

/// The longest name, in bytes, not columns: an upper bound that costs nothing per MV
/// (20,000 of them); a non-ASCII name may get a column or two extra. Computed when the
/// rows change (`recompute_visible`), not every frame.
pub fn longest_name(state: &State) -> u16 {
    state.name_widths.longest
}

/// How wide the table would be for its longest name to fit (the detail pane gives up room
/// for it, see `layout::split_body`).
pub fn wanted_width(state: &State) -> u16 {
    state.name_widths.table_wants
}

/// The longest name of `views` and the table width it wants, computed once per change of
/// the MVs: render and the hit test read them every frame and every click.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameWidths {
    pub longest: u16,
    pub table_wants: u16,
}

impl NameWidths {
    pub fn of(views: &[crate::catalog::MatView]) -> NameWidths {
        let longest = views.iter().map(|v| v.qualified_name.len()).max();
        let longest = longest.unwrap_or(0).min(usize::from(u16::MAX / 2)) as u16;
        let table_wants = (60..=400)
            .find(|&w| name_room(w, &columns_fitting(w, longest)) >= longest)
            .unwrap_or(400);
        NameWidths {
            longest,
            table_wants,
        }
    }
}

/// The columns for a table `width` wide, less the row estimates when a name `longest`
/// long does not fit: a whole name is worth more than an estimate.
pub fn columns_fitting(width: u16, longest: u16) -> Vec<Shown> {
    let mut shown = columns_for(width);
    if name_room(width, &shown) < longest {
        shown.retain(|c| *c != Shown::Sorted(Column::Rows));
    }
    shown
}

/// Narrow tables leave out rows, then the next run, then the average: the name keeps room.
fn columns_for(width: u16) -> Vec<Shown> {
    let mut shown = vec![Shown::Mark, Shown::Name, Shown::Sorted(Column::Size)];
    if width >= 90 {
        shown.push(Shown::Sorted(Column::Rows));
    }
    shown.push(Shown::Sorted(Column::LastRefresh));
    if width >= 60 {
        shown.push(Shown::Sorted(Column::AvgRefresh));
    }
    shown.push(Shown::Sorted(Column::Status));
    if width >= 110 {
        shown.push(Shown::Schedule);
    } else if width >= 75 {
        shown.push(Shown::Sorted(Column::NextRun));
    }
    shown.push(Shown::Concurrent);
    shown
}
