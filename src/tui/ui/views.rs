//! The views table: one row per MV, only the rows that fit are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::Theme;
use crate::catalog::{MatView, MvStatus};
use crate::format;
use crate::refresh::JobState;
use crate::tui::layout;
use crate::tui::state::{Column, Pane, State};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let title = format!(
        " 1 views {}/{}{}{} ",
        state.visible.len(),
        state.views.len(),
        if state.filter.is_empty() {
            String::new()
        } else {
            format!("  /{}", state.filter)
        },
        if state.marked.is_empty() {
            String::new()
        } else {
            format!("  {} marked", state.marked.len())
        },
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.pane_border(state.pane == Pane::Views));
    let inner_height = layout::bordered_table_rows(area);
    let selected = state.selected_row().unwrap_or(0);
    let offset = selected.saturating_sub(inner_height.saturating_sub(1));
    let shown = columns_fitting(area.width, longest_name(state));
    let name_width = name_room(area.width, &shown) as usize;
    let rows: Vec<Row> = state
        .visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(inner_height)
        .map(|(row, &i)| {
            let view = &state.views[i];
            view_row(state, view, (row == selected, name_width), &shown, theme)
        })
        .collect();
    let header = Row::new(shown.iter().map(|c| match c {
        Shown::Mark => " ".to_string(),
        Shown::Name => "materialized view".to_string(),
        Shown::Sorted(column) => header_title(state, *column),
        Shown::Schedule => header_title(state, Column::NextRun).replacen("next", "schedule", 1),
        Shown::Concurrent => "C".to_string(),
    }))
    .style(theme.header());
    let widths: Vec<Constraint> = shown.iter().map(|c| c.width()).collect();
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// A column of the table as drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Mark,
    Name,
    Sorted(Column),
    /// The next run with the policy (`every 1h, in 40m`): on wide tables, sorted as the next run.
    Schedule,
    Concurrent,
}

impl Shown {
    fn width(self) -> Constraint {
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
fn name_room(width: u16, shown: &[Shown]) -> u16 {
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
/// (20,000 of them, every frame); a non-ASCII name may get a column or two extra.
fn longest_name(state: &State) -> u16 {
    let longest = state.views.iter().map(|v| v.qualified_name.len()).max();
    longest.unwrap_or(0).min(usize::from(u16::MAX / 2)) as u16
}

/// How wide the table would be for its longest name to fit (the detail pane gives up room
/// for it, see `layout::split_body`).
pub fn wanted_width(state: &State) -> u16 {
    let longest = longest_name(state);
    (60..=400)
        .find(|&w| name_room(w, &columns_fitting(w, longest)) >= longest)
        .unwrap_or(400)
}

/// The columns for a table `width` wide, less the row estimates when a name `longest`
/// long does not fit: a whole name is worth more than an estimate.
fn columns_fitting(width: u16, longest: u16) -> Vec<Shown> {
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

fn header_title(state: &State, column: Column) -> String {
    let title = match column {
        Column::LastRefresh => "refreshed",
        Column::AvgRefresh => "avg",
        Column::NextRun => "next",
        c => c.title(),
    };
    if state.sort.column == column {
        format!("{title}{}", if state.sort.descending { "↓" } else { "↑" })
    } else {
        title.to_string()
    }
}

fn view_row<'a>(
    state: &State,
    v: &'a MatView,
    (selected, name_width): (bool, usize),
    shown: &[Shown],
    theme: &Theme,
) -> Row<'a> {
    let status_style = match v.status {
        MvStatus::Failed => theme.alert(),
        MvStatus::Refreshing | MvStatus::RefreshingStale | MvStatus::Stale => theme.warn(),
        MvStatus::NeverPopulated | MvStatus::Populated | MvStatus::UnknownOnStandby => theme.dim(),
        MvStatus::Fresh => theme.ok(),
    };
    // The console's own job knows its state before the next inventory read does: the row
    // says what the jobs pane says.
    let job = state.active_job_for(v.oid).map(|(_, j)| &j.state);
    let status = match (job, v.status) {
        (Some(JobState::Queued), _) => "queued",
        (Some(JobState::WaitingForLock { .. }), _) => "lock wait",
        (Some(JobState::Retrying { .. }), _) => "retrying",
        (Some(JobState::Running { .. }), s) if s != MvStatus::RefreshingStale => "refreshing",
        (_, MvStatus::NeverPopulated) => "no data",
        // Ten columns: the detail pane spells it out.
        (_, MvStatus::RefreshingStale) => "refr+stale",
        (_, MvStatus::UnknownOnStandby) => "unknown",
        (_, s) => s.label(),
    };
    let size = match v.total_bytes {
        Some(b) => format::size_short(b),
        None if v.size_skipped_locked => "locked".into(),
        None => String::new(),
    };
    let cells = shown.iter().map(|c| match c {
        Shown::Mark if state.marked.contains(&v.oid) => Cell::from("*"),
        Shown::Mark => lock_mark(state, v.oid, theme),
        Shown::Name => Cell::from(format::ellipsize(&v.qualified_name, name_width)),
        Shown::Sorted(Column::Size) => Cell::from(size.clone()),
        Shown::Sorted(Column::Rows) => {
            Cell::from(v.rows_estimate.map(format::count).unwrap_or_default())
        }
        Shown::Sorted(Column::LastRefresh) => Cell::from(
            v.last_refresh
                .map(|t| format::age(t, state.now))
                .unwrap_or_default(),
        ),
        Shown::Sorted(Column::AvgRefresh) => Cell::from(
            v.avg_refresh_ms
                .map(format::duration_ms)
                .unwrap_or_default(),
        ),
        Shown::Sorted(Column::Status) => match lock_status(state, v.oid) {
            Some(text) => Cell::from(Span::styled(text, theme.alert())),
            None => Cell::from(Span::styled(status, status_style)),
        },
        Shown::Sorted(Column::NextRun) => Cell::from(
            state
                .schedules
                .next_run(v, state.now)
                .map(|n| n.short(state.now))
                .unwrap_or_default(),
        ),
        Shown::Schedule => Cell::from(schedule_cell(state, v)),
        Shown::Sorted(_) => Cell::from(""),
        Shown::Concurrent => Cell::from(if v.concurrent_ready { "◆" } else { " " }),
    });
    let row = Row::new(cells);
    if selected {
        row.style(theme.selected())
    } else {
        row
    }
}

/// `every 1h, in 40m`, `cron, in 13h`, `on change`.
fn schedule_cell(state: &State, v: &MatView) -> String {
    use crate::schedule::Policy;
    use crate::tui::schedules::NextRun;
    let cron = crate::tui::pg_cron::cell(&state.schedules.pg_cron, v, state.now);
    let (Some(s), Some(next)) = (
        state.schedules.of(v),
        state.schedules.next_run(v, state.now),
    ) else {
        return cron.unwrap_or_default();
    };
    if cron.is_some() {
        // Scheduled by mvtop and by pg_cron: both refresh it.
        return format!("BOTH mvtop+pg_cron, {}", next.short(state.now));
    }
    let policy = match &s.policy {
        Policy::Every(d) => format!("every {}", crate::schedule::policy::short(*d)),
        Policy::Cron(_) => "cron".into(),
        Policy::OnChange { .. } => "on change".into(),
    };
    match next {
        NextRun::OnChange => policy,
        other => format!("{policy}, {}", other.short(state.now)),
    }
}

/// In place of the status while a lock wait involves the MV: `lock wait` (its refresh
/// waits), `N waiting` (sessions wait for a lock on it).
fn lock_status(state: &State, oid: u32) -> Option<String> {
    let m = state.sessions.mv_locks.get(&oid)?;
    if !m.refresh_waits_behind.is_empty() {
        Some("lock wait".into())
    } else if m.waiters > 0 {
        Some(format!("{} waiting", m.waiters))
    } else {
        None
    }
}

/// `L` when a lock wait involves the MV: sessions wait on it, or its refresh waits.
fn lock_mark<'a>(state: &State, oid: u32, theme: &Theme) -> Cell<'a> {
    match state.sessions.mv_locks.get(&oid) {
        Some(m) if m.waiters > 0 || !m.refresh_waits_behind.is_empty() => {
            Cell::from(Span::styled("L", theme.alert()))
        }
        _ => Cell::from(" "),
    }
}
