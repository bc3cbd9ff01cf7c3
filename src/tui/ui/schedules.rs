//! The schedules pane: every schedule with its next run, and what the scheduler last said.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use super::Theme;
use crate::format;
use crate::tui::layout;
use crate::tui::schedules::NextRun;
use crate::tui::state::{Pane, State};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let book = &state.schedules;
    let scheduler = if book.scheduler_on {
        "scheduler on"
    } else {
        "scheduler off in this console"
    };
    let title = format!(" 6 schedules: {}  ({scheduler}) ", book.len());
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.pane_border(state.pane == Pane::Schedules));
    frame.render_widget(block, area);
    let [notes, table_area] = layout::schedules(area);
    let note = match (&book.problem, &book.last_event) {
        (Some(p), _) => Span::styled(format!("schedules: {p}"), theme.alert()),
        (None, _) if book.pg_cron.problem.is_some() => Span::styled(
            book.pg_cron.problem.clone().unwrap_or_default(),
            theme.alert(),
        ),
        (None, Some(e)) => Span::styled(e.clone(), theme.dim()),
        (None, None) if book.is_empty() => Span::styled(
            "no schedules: `s` on an MV sets one (every 15m, cron 0 3 * * *, on-change ...)",
            theme.dim(),
        ),
        (None, None) => Span::styled("s edits the selected schedule", theme.dim()),
    };
    frame.render_widget(Paragraph::new(note), notes);
    let visible_rows = table_area.height.saturating_sub(1) as usize;
    let offset = layout::first_shown(book.selected, visible_rows);
    let cron_rows = book.pg_cron.schedules.iter().map(|c| {
        let view = state.views.iter().find(|v| v.oid == c.mv_oid);
        let next = match c.next_run {
            Some(t) => format!(
                "{} ({})",
                t.format("%H:%M:%S"),
                NextRun::At(t).short(state.now)
            ),
            None => c.next_run_text.clone(),
        };
        let both = view.is_some_and(|v| book.of(v).is_some());
        let mut policy = format!("pg_cron '{}' (job {})", c.schedule, c.jobid);
        if !c.active {
            policy.push_str(" inactive");
        }
        if matches!(c.how, crate::pgcron::jobs::How::MayRefresh) {
            policy.push_str(" (may refresh)");
        }
        if both {
            policy.push_str(" BOTH");
        }
        vec![
            view.map(|v| v.qualified_name.clone()).unwrap_or_default(),
            policy,
            String::new(),
            c.last_start
                .map(|d| format::age(d, state.now))
                .unwrap_or_default(),
            next,
            c.last_status.clone().unwrap_or_default(),
        ]
    });
    let own_rows = book.rows.iter().map(|s| {
        let view = state
            .views
            .iter()
            .find(|v| v.schema == s.mv_schema && v.name == s.mv_name);
        let next = match view {
            Some(v) => book
                .own_next_run(v, state.now)
                .map(|n| match n {
                    NextRun::At(t) => {
                        format!("{} ({})", t.format("%H:%M:%S"), n.short(state.now))
                    }
                    other => other.short(state.now),
                })
                .unwrap_or_default(),
            None => "MV missing".into(),
        };
        let status = view.map(|v| v.status.label()).unwrap_or("");
        let name = view
            .map(|v| v.qualified_name.clone())
            .unwrap_or_else(|| crate::catalog::ident::display_qualified(&s.mv_schema, &s.mv_name));
        let origin = if s.from_naming { " (naming)" } else { "" };
        let both = view.is_some_and(|v| book.pg_cron.of(v.oid).next().is_some());
        vec![
            name,
            format!(
                "{}{origin}{}",
                s.policy.describe(),
                if both { " BOTH" } else { "" }
            ),
            s.window.map(|w| w.describe()).unwrap_or_default(),
            s.last_due
                .map(|d| format::age(d, state.now))
                .unwrap_or_default(),
            next,
            status.to_string(),
        ]
    });
    let rows: Vec<Row> = own_rows
        .chain(cron_rows)
        .enumerate()
        .skip(offset)
        .take(visible_rows)
        .map(|(i, cells)| {
            let row = Row::new(cells);
            if i == book.selected && state.pane == Pane::Schedules {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new([
        "materialized view",
        "policy",
        "window",
        "last run",
        "next run",
        "status",
    ])
    .style(theme.header());
    let widths = [
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(11),
        Constraint::Length(9),
        Constraint::Length(18),
        Constraint::Length(16),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        table_area,
    );
}
