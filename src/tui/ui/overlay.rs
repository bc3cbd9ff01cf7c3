//! What is drawn over the panes: help (from the keymap), confirmations.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::Theme;
use crate::tui::keymap::changes_database;
use crate::tui::state::{Overlay, State};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    match &state.overlay {
        Overlay::Help => help(frame, area, state, theme),
        Overlay::Confirm { question, .. } => {
            let popup = centred(area, 70, 7);
            frame.render_widget(Clear, popup);
            let block = Block::default()
                .borders(Borders::ALL)
                .title(" confirm ")
                .border_style(theme.warn());
            frame.render_widget(
                Paragraph::new(question.as_str())
                    .wrap(Wrap { trim: true })
                    .block(block),
                popup,
            );
        }
        Overlay::Schedule { oid, error } => schedule_form(frame, area, state, *oid, error, theme),
        Overlay::None | Overlay::Filter | Overlay::Command => {}
    }
}

fn help(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let lines: Vec<Line> = state
        .keymap
        .help()
        .into_iter()
        .filter(|(_, _, action)| !(state.read_only && changes_database(*action)))
        .map(|(keys, what, _)| {
            Line::from(vec![
                Span::styled(format!("{keys:>9}  "), theme.header()),
                Span::raw(what),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" keys (any key closes) ")
        .border_style(theme.focused_border());
    // Too short for one column: two, side by side.
    let columns = if lines.len() as u16 + 2 > area.height {
        2
    } else {
        1
    };
    let rows = lines.len().div_ceil(columns) as u16;
    let popup = centred(area, 80 * columns as u16, rows + 2);
    frame.render_widget(Clear, popup);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let halves =
        Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(inner);
    let mut lines = lines.into_iter();
    for half in halves.iter() {
        let part: Vec<Line> = lines.by_ref().take(rows as usize).collect();
        frame.render_widget(Paragraph::new(part), *half);
    }
}

/// The `s` form: the line being typed, and what is wrong with it (or what it means).
fn schedule_form(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    oid: u32,
    error: &Option<String>,
    theme: &Theme,
) {
    let name = state
        .views
        .iter()
        .find(|v| v.oid == oid)
        .map(|v| v.qualified_name.as_str())
        .unwrap_or("?");
    let popup = centred(area, 90, 8);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" schedule of {name} (Enter saves, Esc closes) "))
        .border_style(theme.focused_border());
    let status = match error {
        Some(e) => Span::styled(e.clone(), theme.alert()),
        None => Span::styled("ok", theme.ok()),
    };
    let lines = vec![
        Line::from(vec![
            Span::styled("> ", theme.header()),
            Span::raw(state.input.value()),
        ]),
        Line::from(status),
        Line::from(Span::styled(
            "every 15m | cron 0 3 * * * [tz Europe/Paris] | on-change [quiet 2m] [max-stale 1h]",
            theme.dim(),
        )),
        Line::from(Span::styled(
            "[window 01:00-05:00] [concurrently auto|always|never] | off (remove)",
            theme.dim(),
        )),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        popup,
    );
}

fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    popup
}
