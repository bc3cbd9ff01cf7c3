//! The views table: one row per MV, only the rows that fit are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::Theme;
use crate::catalog::{MatView, MvStatus};
use crate::format;
use crate::refresh::JobState;
use crate::tui::columns::{Shown, columns_fitting, longest_name, name_room};
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
    let offset = layout::first_shown(selected, inner_height);
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
