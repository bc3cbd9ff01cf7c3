//! The activity pane: the statements running now (elapsed times tick between polls,
//! REFRESH linked to its MV) and where the time goes (pg_stat_statements).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::Theme;
use crate::catalog::sessions::{SessionRow, refresh_target};
use crate::format;
use crate::tui::layout;
use crate::tui::state::{Pane, State};

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let expanded = state.sessions.expanded;
    let [running_area, detail_area, statements_area] = layout::activity(area, expanded);
    running(frame, running_area, state, theme);
    if expanded
        && let Some(pid) = state.sessions.running_selected
        && let Some(row) = state.sessions.data.as_ref().and_then(|d| d.get(pid))
    {
        session_detail(frame, detail_area, state, row, theme);
    }
    statements(frame, statements_area, state, theme);
}

/// The MV a running session refreshes: from the pulse's lock holders, else its text.
fn refresh_of(state: &State, row: &SessionRow) -> Option<String> {
    state
        .views
        .iter()
        .find(|v| v.refreshing_pids.contains(&row.pid))
        .map(|v| v.qualified_name.clone())
        .or_else(|| {
            let named = refresh_target(&row.query)?;
            Some(
                crate::catalog::names::find_in(&state.views, &named)
                    .map(|v| v.qualified_name.clone())
                    .unwrap_or(named),
            )
        })
}

fn running(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let s = &state.sessions;
    let rows_all = s.running();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(
            " 5 running: {}  (by {}) ",
            rows_all.len(),
            s.running_sort.title()
        ))
        .border_style(theme.pane_border(state.pane == Pane::Activity));
    if s.data.is_none() {
        let text = s
            .error
            .clone()
            .unwrap_or_else(|| "reading sessions…".into());
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let height = layout::bordered_table_rows(area);
    let selected = s.running_row().unwrap_or(0);
    let offset = layout::first_shown(selected, height);
    let since = s.since_poll_ms(state.now);
    let narrow = area.width < super::locks::NARROW;
    let rows: Vec<Row> = rows_all
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, r)| {
            let wait = match (&r.wait_event_type, &r.wait_event) {
                (Some(t), Some(e)) => format!("{t}:{e}"),
                _ => String::new(),
            };
            let wait_style = if r.wait.is_some() {
                theme.warn()
            } else {
                Style::default()
            };
            let state_style = if r.idle_in_transaction() {
                theme.alert()
            } else {
                Style::default()
            };
            let mv = refresh_of(state, r)
                .map(|m| format!("↻ {m}"))
                .unwrap_or_default();
            let row = Row::new(narrowed(
                narrow,
                &[1, 2],
                [
                    Cell::from(r.pid.to_string()),
                    Cell::from(r.user.clone().unwrap_or_default()),
                    Cell::from(r.application.clone()),
                    Cell::from(Span::styled(super::locks::state_label(r), state_style)),
                    Cell::from(Span::styled(wait, wait_style)),
                    Cell::from(
                        r.elapsed_ms
                            .map(|ms| format::duration_ms(ms + since))
                            .unwrap_or_default(),
                    ),
                    Cell::from(Span::styled(mv, theme.keyword())),
                    Cell::from(flat(&r.query)),
                ],
            ));
            if i == selected && state.pane == Pane::Activity {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(narrowed(
        narrow,
        &[1, 2],
        [
            "pid",
            "user",
            "application",
            "state",
            "wait",
            "elapsed",
            "refresh of",
            "query",
        ],
    ))
    .style(theme.header());
    let widths = narrowed(
        narrow,
        &[1, 2],
        [
            Constraint::Length(7),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(16),
            Constraint::Length(9),
            Constraint::Length(18),
            Constraint::Fill(1),
        ],
    );
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
}

fn statements(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let st = &state.sessions.statements;
    let over = match (st.cumulative, &st.window) {
        (true, _) => "since reset".to_string(),
        (false, Some((secs, _))) => format!("last {secs:.0} s"),
        (false, None) => "last interval".to_string(),
    };
    let title = format!(
        " statements by time, {over}{}  (t: interval/total, f: REFRESH only) ",
        if st.refresh_only {
            ", REFRESH only"
        } else {
            ""
        }
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.dim());
    let unavailable = match &st.access {
        None => Some(("waiting for the server facts…".to_string(), theme.dim())),
        Some(Err(why)) => Some((why.clone(), theme.warn())),
        Some(Ok(_)) if st.latest.is_none() => Some((
            st.error
                .clone()
                .unwrap_or_else(|| "reading pg_stat_statements…".into()),
            theme.dim(),
        )),
        Some(Ok(_)) if !st.cumulative && st.window.is_none() => Some((
            "the first interval is being measured (t: totals since reset)".into(),
            theme.dim(),
        )),
        Some(Ok(_)) => None,
    };
    if let Some((text, style)) = unavailable {
        let p = Paragraph::new(Span::styled(text, style))
            .wrap(Wrap { trim: true })
            .block(block);
        frame.render_widget(p, area);
        return;
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let notes: Vec<Line> = [&st.note, &st.error]
        .into_iter()
        .flatten()
        .map(|n| Line::from(Span::styled(n.clone(), theme.warn())))
        .collect();
    let [note_area, table_area] =
        Layout::vertical([Constraint::Length(notes.len() as u16), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(notes), note_area);
    let top = st.top();
    let narrow = area.width < super::locks::NARROW;
    let height = table_area.height.saturating_sub(1) as usize;
    let rows: Vec<Row> = top
        .iter()
        .take(height)
        .map(|s| {
            let text = if s.query.is_empty() {
                format!("(queryid {})", s.queryid)
            } else {
                flat(&s.query)
            };
            Row::new(narrowed(
                narrow,
                &[0, 5, 6],
                [
                    Cell::from(s.calls.to_string()),
                    Cell::from(s.calls_per_s.map(|c| format!("{c:.1}")).unwrap_or_default()),
                    Cell::from(format::duration_ms(s.total_ms)),
                    Cell::from(format::duration_ms(s.mean_ms)),
                    Cell::from(format!("{:.1}%", s.share * 100.0)),
                    Cell::from(s.rows.to_string()),
                    Cell::from(Span::styled(
                        s.refresh_of
                            .as_ref()
                            .map(|m| format!("↻ {m}"))
                            .unwrap_or_default(),
                        theme.keyword(),
                    )),
                    Cell::from(text),
                ],
            ))
        })
        .collect();
    if rows.is_empty() {
        let text = if st.refresh_only {
            "no REFRESH statement in this window"
        } else {
            "no statement ran in this window"
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), table_area);
        return;
    }
    let header = Row::new(narrowed(
        narrow,
        &[0, 5, 6],
        [
            "calls",
            "calls/s",
            "total",
            "mean",
            "share",
            "rows",
            "refresh of",
            "query",
        ],
    ))
    .style(theme.header());
    let widths = narrowed(
        narrow,
        &[0, 5, 6],
        [
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(18),
            Constraint::Fill(1),
        ],
    );
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        table_area,
    );
}

/// A session whole: who, where, since when, and the complete query.
pub fn session_detail(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    row: &SessionRow,
    theme: &Theme,
) {
    let since = state.sessions.since_poll_ms(state.now);
    let ms = |v: Option<f64>| {
        v.map(|v| format::duration_ms(v + since))
            .unwrap_or_default()
    };
    let mut lines = vec![Line::from(format!(
        "pid {}  user {}  application {}  client {}  database {}",
        row.pid,
        row.user.as_deref().unwrap_or("?"),
        row.application,
        row.client_addr.as_deref().unwrap_or("local"),
        row.database.as_deref().unwrap_or("?"),
    ))];
    lines.push(Line::from(format!(
        "state {}  query for {}  transaction for {}",
        row.state.as_deref().unwrap_or("?"),
        ms(row.elapsed_ms),
        ms(row.xact_age_ms)
    )));
    if let Some(w) = &row.wait {
        let behind: Vec<String> = w
            .blocked_by
            .iter()
            .map(|b| crate::catalog::locks::describe(state.sessions.data.as_ref(), b.pid))
            .collect();
        lines.push(Line::from(Span::styled(
            format!(
                "waits for {} on {} behind {}",
                w.mode,
                w.target(),
                behind.join("; ")
            ),
            theme.warn(),
        )));
    }
    lines.push(Line::from(row.query.clone()));
    let block = Block::default()
        .borders(Borders::TOP)
        .title(" session (Enter closes) ")
        .border_style(theme.dim());
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// The query on one line (the table cuts it at its width).
pub fn flat(query: &str) -> String {
    query.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The footer's key hint on this pane.
pub fn footer_hint(state: &State) -> String {
    use crate::tui::keymap::Action;
    let keys = &state.keymap;
    let rest: &[(Action, &str)] = if state.read_only {
        &[
            (Action::SortNext, "sort"),
            (Action::Expand, "whole query"),
            (Action::ToggleCumulative, "interval/total"),
            (Action::RefreshOnly, "REFRESH only"),
            (Action::FocusLocks, "locks"),
            (Action::Quit, "quit"),
        ]
    } else {
        &[
            (Action::SortNext, "sort"),
            (Action::Expand, "whole"),
            (Action::CancelJob, "cancel"),
            (Action::Terminate, "terminate"),
            (Action::ToggleCumulative, "interval/total"),
            (Action::RefreshOnly, "REFRESH only"),
            (Action::Quit, "quit"),
        ]
    };
    format!("{}  {}", keys.moves(), keys.hints(rest))
}

/// The columns of a table, without `dropped` ones when the terminal is narrow.
fn narrowed<T, const N: usize>(narrow: bool, dropped: &[usize], columns: [T; N]) -> Vec<T> {
    columns
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !(narrow && dropped.contains(i)))
        .map(|(_, c)| c)
        .collect()
}
