//! `render(frame, state)`: pure and cheap; only the visible rows are built.

mod activity;
mod bench;
mod cost;
mod detail;
mod jobs;
mod locks;
mod overlay;
mod schedules;
#[cfg(test)]
mod tests;
mod theme;
mod views;

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::columns;
use super::keymap::Action;
use super::layout;
use super::state::{Health, Overlay, Pane, State};
use crate::format;
pub use theme::Theme;

pub fn render(frame: &mut Frame, state: &State, theme: &Theme) {
    let area = frame.area();
    if layout::too_small(area) {
        frame.render_widget(
            Paragraph::new("mvtop: the terminal is too small (40x10 at least)"),
            area,
        );
        return;
    }
    let layout::Screen {
        header,
        banner,
        body,
        jobs: jobs_area,
        footer,
    } = layout::screen(area, state);
    frame.render_widget(header_line(state, theme), header);
    if let Health::Lost { error, since } = &state.health {
        let text = format!(
            " CONNECTION LOST {}: {error} — reconnecting, showing the last data",
            format::age(*since, state.now)
        );
        frame.render_widget(Paragraph::new(Span::styled(text, theme.alert())), banner);
    }
    match state.pane {
        Pane::Locks => locks::render(frame, body, state, theme),
        Pane::Activity => activity::render(frame, body, state, theme),
        Pane::Schedules => schedules::render(frame, body, state, theme),
        Pane::Views | Pane::Detail | Pane::Jobs => {
            let (table_area, detail_area) = layout::split_body(body, columns::wanted_width(state));
            views::render(frame, table_area, state, theme);
            detail::render(frame, detail_area, state, theme);
        }
    }
    jobs::render(frame, jobs_area, state, theme);
    frame.render_widget(footer_line(state, theme), footer);
    overlay::render(frame, area, state, theme);
}

fn header_line<'a>(state: &'a State, theme: &Theme) -> Paragraph<'a> {
    // Most important first: a narrow terminal cuts the end.
    let mut spans = vec![Span::styled(" mvtop ", theme.title()), Span::raw(" ")];
    spans.push(Span::raw(state.target.clone()));
    // Lock waits matter more than the facts that follow: before them, never cut.
    let waiting = state.sessions.waiting_count();
    if waiting > 0 {
        spans.push(Span::styled(
            format!(
                "  {waiting} lock wait{} ({})",
                if waiting == 1 { "" } else { "s" },
                state.keymap.key_of(Action::FocusLocks)
            ),
            theme.alert(),
        ));
    }
    if let Some(f) = &state.facts {
        spans.push(Span::raw(format!(
            "  PG {}  {}  ledger: {}",
            f.version.split_whitespace().next().unwrap_or(&f.version),
            if f.in_recovery { "standby" } else { "primary" },
            if f.ledger_installed { "yes" } else { "no" }
        )));
    }
    let age = state
        .polling
        .answered_at
        .map(|at| format::age(at, state.now))
        .unwrap_or_else(|| "never".into());
    spans.push(Span::raw(format!(
        "  poll {}s ({age}){}",
        state.polling.every.as_secs(),
        if state.polling.paused { " PAUSED" } else { "" }
    )));
    if state.read_only {
        spans.push(Span::styled("  READ-ONLY", theme.warn()));
    }
    if state.health == Health::Connecting {
        spans.push(Span::styled("  connecting…", theme.dim()));
    }
    Paragraph::new(Line::from(spans))
}

/// The server is a standby: nothing can be refreshed, so nothing offers it.
pub(super) fn on_standby(state: &State) -> bool {
    state.facts.as_ref().is_some_and(|f| f.in_recovery)
}

fn footer_line<'a>(state: &'a State, theme: &Theme) -> Paragraph<'a> {
    let text = match (&state.overlay, &state.message) {
        (Overlay::Filter, _) => format!("/{}", state.input.value()),
        (Overlay::Command, _) => format!(":{}", state.input.value()),
        (_, Some(m)) => m.clone(),
        (_, None) if state.pane == Pane::Locks => locks::footer_hint(state),
        (_, None) if state.pane == Pane::Activity => activity::footer_hint(state),
        (_, None) => views_footer_hint(state),
    };
    Paragraph::new(Line::from(Span::styled(text, theme.dim())))
}

/// The footer's key hint on the views, detail and jobs panes.
fn views_footer_hint(state: &State) -> String {
    let keys = &state.keymap;
    let head = [
        (Action::Help, "help"),
        (Action::Filter, "filter"),
        (Action::Command, "command"),
    ];
    let tail = [(Action::SortNext, "sort"), (Action::Quit, "quit")];
    let middle: &[(Action, &str)] = if state.read_only {
        &[]
    } else if on_standby(state) {
        &[(Action::EditSchedule, "schedule")]
    } else {
        &[
            (Action::Refresh, "refresh"),
            (Action::RefreshCascade, "cascade"),
            (Action::Mark, "mark"),
            (Action::CancelJob, "cancel"),
            (Action::EditSchedule, "schedule"),
        ]
    };
    let all: Vec<(Action, &str)> = head
        .into_iter()
        .chain(middle.iter().copied())
        .chain(tail)
        .collect();
    let hint = keys.hints(&all);
    if on_standby(state) && !state.read_only {
        format!("{hint}  (a standby: no refresh)")
    } else {
        hint
    }
}
