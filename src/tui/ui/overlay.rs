//! What is drawn over the panes: help (from the keymap), confirmations.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::Theme;
use crate::tui::keymap::{BINDINGS, changes_database};
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
        Overlay::None | Overlay::Filter | Overlay::Command => {}
    }
}

fn help(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let lines: Vec<Line> = BINDINGS
        .iter()
        .filter(|(_, _, action)| !(state.read_only && changes_database(*action)))
        .map(|(keys, what, _)| {
            Line::from(vec![
                Span::styled(format!("{keys:>8}  "), theme.header()),
                Span::raw(*what),
            ])
        })
        .collect();
    let height = lines.len() as u16 + 2;
    let popup = centred(area, 72, height);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" keys (any key closes) ")
        .border_style(theme.focused_border());
    frame.render_widget(Paragraph::new(lines).block(block), popup);
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
