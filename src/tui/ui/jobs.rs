//! The jobs pane: queued, waiting, running and finished refreshes, newest first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::Theme;
use crate::format;
use crate::refresh::{JobState, OutcomeKind};
use crate::tui::state::{JobView, Pane, State};

/// Width of the progress bar, in cells.
const BAR: usize = 12;
/// Width of the mode column (`concurrently`).
const MODE: u16 = 12;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" 3 jobs ")
        .border_style(theme.pane_border(state.pane == Pane::Jobs));
    let height = area.height.saturating_sub(2) as usize;
    if state.jobs.is_empty() {
        let hint = if state.read_only {
            "no refreshes (read-only)".to_string()
        } else if super::on_standby(state) {
            "no refreshes: the server is a standby (in recovery)".to_string()
        } else {
            format!(
                "no refreshes yet: {} refreshes the selected MV",
                state.keymap.key_of(crate::tui::keymap::Action::Refresh)
            )
        };
        let text = ratatui::widgets::Paragraph::new(Span::styled(hint, theme.dim())).block(block);
        frame.render_widget(text, area);
        return;
    }
    // The name and the state (the progress bar, when there is one, then the words) share
    // what the mode leaves, a third and two thirds; what does not fit ends in `…`.
    let fixed = MODE + 2;
    let rest = area.width.saturating_sub(2).saturating_sub(fixed);
    let name_width = (rest / 3).max(10);
    let text_width = rest.saturating_sub(name_width);
    let rows: Vec<Row> = state
        .jobs
        .values()
        .rev()
        .take(height)
        .map(|j| job_row(state, j, (name_width, text_width), theme))
        .collect();
    let widths = [
        Constraint::Length(name_width),
        Constraint::Length(MODE),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(rows, widths).block(block), area);
}

fn job_row<'a>(
    state: &State,
    job: &'a JobView,
    (name_width, text_width): (u16, u16),
    theme: &Theme,
) -> Row<'a> {
    let avg = state
        .views
        .iter()
        .find(|v| v.oid == job.spec.target.oid)
        .and_then(|v| v.avg_refresh_ms);
    let elapsed_ms = job
        .started_at
        .map(|s| (state.now - s).num_milliseconds().max(0) as f64)
        .unwrap_or(0.0);
    let (bar, text, style) = match &job.state {
        JobState::Queued => (String::new(), "queued".to_string(), theme.dim()),
        JobState::WaitingForLock { blocked_by } => (
            String::new(),
            format!(
                "waiting for lock behind {}",
                crate::tui::locks::blockers_phrase(state, blocked_by)
            ),
            theme.warn(),
        ),
        JobState::Retrying { attempt, after } => (
            String::new(),
            format!(
                "lock timeout, retry {} in {}",
                attempt + 1,
                format::duration_ms(after.as_millis() as f64)
            ),
            theme.warn(),
        ),
        JobState::Running { .. } => {
            let eta = match avg {
                Some(avg) if avg > elapsed_ms => {
                    format!(", ~{} left", format::duration_ms(avg - elapsed_ms))
                }
                Some(_) => ", longer than usual".into(),
                None => String::new(),
            };
            (
                progress(elapsed_ms, avg),
                format!("running {}{eta}", format::duration_ms(elapsed_ms)),
                theme.ok(),
            )
        }
        JobState::Finished(o) => {
            let style = match o.kind {
                OutcomeKind::Ok => theme.ok(),
                OutcomeKind::Cancelled => theme.dim(),
                _ => theme.alert(),
            };
            let took = o.duration_ms.map(format::duration_ms).unwrap_or_default();
            let text = match &o.error {
                Some(e) => format!("{} {took}: {e}", o.kind.as_str()),
                None => format!("{} {took}", o.kind.as_str()),
            };
            (String::new(), text, style)
        }
    };
    let bar = if bar.is_empty() { bar } else { bar + " " };
    let shown_bar = bar.chars().count() as u16;
    Row::new([
        Cell::from(format::ellipsize(
            &job.spec.target.qualified_name,
            name_width as usize,
        )),
        Cell::from(job.spec.mode.label()),
        Cell::from(Line::from(vec![
            Span::raw(bar),
            Span::styled(
                format::ellipsize(&text, text_width.saturating_sub(shown_bar) as usize)
                    .into_owned(),
                style,
            ),
        ])),
    ])
}

/// `[#####·······]` from elapsed time against the average: PostgreSQL has no progress view
/// for REFRESH, so this is an estimate.
fn progress(elapsed_ms: f64, avg_ms: Option<f64>) -> String {
    let Some(avg) = avg_ms.filter(|a| *a > 0.0) else {
        return String::new();
    };
    let filled = ((elapsed_ms / avg).min(1.0) * BAR as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), "·".repeat(BAR - filled))
}
