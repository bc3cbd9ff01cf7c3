//! The locks pane: who blocks whom, as a tree rooted at the sessions that block others
//! without waiting; what involves an MV on top; the selected session whole on Enter.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::Theme;
use crate::catalog::locks::TreeLine;
use crate::catalog::sessions::{SessionRow, Sessions};
use crate::format;
use crate::tui::locks::MvLine;
use crate::tui::state::{Pane, State};

/// Narrower than this, the tables leave out user and application.
pub const NARROW: u16 = 100;

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let s = &state.sessions;
    let waiting = s.waiting_count();
    let title = format!(" 4 locks: {waiting} waiting ");
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.pane_border(state.pane == Pane::Locks));
    let Some(data) = &s.data else {
        let text = s
            .error
            .clone()
            .unwrap_or_else(|| "reading sessions…".into());
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    frame.render_widget(block, area);
    let mv_lines = mv_summary(state, data, theme);
    let [errors, summary, table_area, detail] = crate::tui::layout::locks(area, state);
    if let Some(e) = &s.error {
        frame.render_widget(
            Paragraph::new(Span::styled(e.as_str(), theme.alert())),
            errors,
        );
    }
    frame.render_widget(Paragraph::new(mv_lines), summary);
    if s.tree.is_empty() {
        let text = Span::styled("no session waits for a lock", theme.dim());
        frame.render_widget(Paragraph::new(text), table_area);
    } else {
        tree_table(frame, table_area, state, data, theme);
    }
    if s.expanded
        && let Some(row) = s.locks_row().and_then(|i| data.get(s.tree[i].pid))
    {
        super::activity::session_detail(frame, detail, state, row, theme);
    }
}

/// One line per MV with a lock wait on it: a refresh blocking readers, a refresh waiting.
/// Which lines there are is `SessionsView::mv_summary`'s, so the layout counts the same.
fn mv_summary<'a>(state: &State, data: &Sessions, theme: &Theme) -> Vec<Line<'a>> {
    let s = &state.sessions;
    let name_of = |oid: u32| {
        state
            .views
            .iter()
            .find(|v| v.oid == oid)
            .map(|v| v.qualified_name.clone())
            .or_else(|| {
                data.waiting()
                    .filter_map(|w| w.wait.as_ref())
                    .find(|w| w.oid == Some(oid))
                    .and_then(|w| w.relation.clone())
            })
            .unwrap_or_else(|| format!("oid {oid}"))
    };
    s.mv_summary()
        .into_iter()
        .map(|(oid, m, line)| {
            let what = match line {
                MvLine::Waiters => {
                    let (n, s_) = (m.waiters, if m.waiters == 1 { "" } else { "s" });
                    let what = if m.blocked_by_refresh {
                        format!("a refresh blocks {n} session{s_}")
                    } else {
                        format!("{n} session{s_} wait for a lock on it")
                    };
                    format!(
                        "{what}, longest wait {}",
                        format::duration_ms(m.longest_wait_ms + s.since_poll_ms(state.now))
                    )
                }
                MvLine::RefreshWaits => format!(
                    "its refresh waits behind {}",
                    crate::tui::locks::blockers_phrase(state, &m.refresh_waits_behind)
                ),
            };
            Line::from(vec![
                Span::styled(format!("MV {}: ", name_of(oid)), theme.keyword()),
                Span::raw(what),
            ])
        })
        .collect()
}

fn tree_table(frame: &mut Frame, area: Rect, state: &State, data: &Sessions, theme: &Theme) {
    let s = &state.sessions;
    let height = area.height.saturating_sub(1) as usize;
    let selected = s.locks_row().unwrap_or(0);
    let offset = crate::tui::layout::first_shown(selected, height);
    let since = s.since_poll_ms(state.now);
    // Narrow: who it is matters less than what it waits for, user and application go.
    let keep = |column: usize| area.width >= NARROW || !(1..3).contains(&column);
    let rows: Vec<Row> = s
        .tree
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, line)| {
            let cells = tree_cells(line, data, since, theme);
            let row = Row::new(
                cells
                    .into_iter()
                    .enumerate()
                    .filter(|(c, _)| keep(*c))
                    .map(|(_, cell)| cell),
            );
            if i == selected && state.pane == Pane::Locks {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let titles = [
        "pid",
        "user",
        "application",
        "state",
        "time",
        "lock",
        "query",
    ];
    let widths = [
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Fill(3),
        Constraint::Fill(1),
    ];
    let header = Row::new(
        titles
            .into_iter()
            .enumerate()
            .filter(|(c, _)| keep(*c))
            .map(|(_, t)| t),
    )
    .style(theme.header());
    let widths: Vec<Constraint> = widths
        .into_iter()
        .enumerate()
        .filter(|(c, _)| keep(*c))
        .map(|(_, w)| w)
        .collect();
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        area,
    );
}

fn tree_cells<'a>(line: &TreeLine, data: &Sessions, since: f64, theme: &Theme) -> Vec<Cell<'a>> {
    let indent = if line.depth == 0 {
        String::new()
    } else {
        format!("{}└", " ".repeat(line.depth - 1))
    };
    let pid = format!("{indent}{}", line.pid);
    let Some(s) = data.get(line.pid) else {
        let mut cells = vec![Cell::from(pid)];
        cells.extend((0..6).map(|_| Cell::from("(gone)")));
        return cells;
    };
    let state_style = if s.idle_in_transaction() {
        theme.alert()
    } else {
        Style::default()
    };
    let (time, lock) = match &s.wait {
        Some(w) => {
            let mv = if w.on_mv() { " [MV]" } else { "" };
            let behind = match line.parent {
                // The parent is the line above, one level up.
                Some(_) if line.parent_holds.is_empty() => {
                    "; above: queued ahead, holds nothing yet".to_string()
                }
                Some(_) => format!("; above holds {}", line.parent_holds.join(",")),
                None => String::new(),
            };
            (
                format!(
                    "{}{}",
                    if w.waiting_estimated { "~" } else { "" },
                    format::duration_ms(w.waiting_ms + since)
                ),
                format!("wants {} on {}{mv}{behind}", w.mode, w.target()),
            )
        }
        None => (
            s.xact_age_ms
                .map(|ms| format::duration_ms(ms + since))
                .unwrap_or_default(),
            "blocks those below (time: xact age)".to_string(),
        ),
    };
    vec![
        Cell::from(pid),
        Cell::from(s.user.clone().unwrap_or_default()),
        Cell::from(s.application.clone()),
        Cell::from(Span::styled(state_label(s), state_style)),
        Cell::from(time),
        Cell::from(lock),
        Cell::from(super::activity::flat(&s.query)),
    ]
}

pub fn state_label(s: &SessionRow) -> String {
    match s.state.as_deref() {
        Some("idle in transaction") => "idle in xact".into(),
        Some("idle in transaction (aborted)") => "idle in xact (ab)".into(),
        Some(other) => other.into(),
        None => s.backend_type.clone().unwrap_or_default(),
    }
}

/// The footer's key hint on this pane.
pub fn footer_hint(state: &State) -> String {
    use crate::tui::keymap::Action;
    let keys = &state.keymap;
    let rest: &[(Action, &str)] = if state.read_only {
        &[
            (Action::Expand, "whole session"),
            (Action::FocusViews, "views"),
            (Action::FocusActivity, "activity"),
            (Action::Help, "help"),
            (Action::Quit, "quit"),
        ]
    } else {
        &[
            (Action::Expand, "whole session"),
            (Action::CancelJob, "cancel query"),
            (Action::Terminate, "terminate"),
            (Action::FocusActivity, "activity"),
            (Action::Help, "help"),
            (Action::Quit, "quit"),
        ]
    };
    format!("{}  {}", keys.moves(), keys.hints(rest))
}
