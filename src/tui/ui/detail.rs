//! The detail pane: everything known about the selected MV.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Theme;
use crate::catalog::{MatView, StatsSource};
use crate::format;
use crate::tui::state::{Pane, State};

/// SQL words shown highlighted in the definition.
const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "ON", "GROUP", "BY",
    "ORDER", "HAVING", "UNION", "ALL", "AS", "AND", "OR", "NOT", "CASE", "WHEN", "THEN", "ELSE",
    "END", "WITH", "LIMIT", "DISTINCT", "FILTER", "COUNT", "SUM", "AVG", "MIN", "MAX",
];

pub fn render(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" 2 detail ")
        .border_style(theme.pane_border(state.pane == Pane::Detail));
    let lines = match state.selected_view() {
        Some(v) => detail_lines(state, v, theme),
        None if state.views.is_empty() => vec![Line::from("no materialized views (yet)")],
        None => vec![Line::from("nothing selected")],
    };
    let paragraph = Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((state.detail_scroll, 0));
    frame.render_widget(paragraph, area);
}

fn field<'a>(name: &'a str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name}: "), theme.header()),
        Span::raw(value),
    ])
}

fn detail_lines<'a>(state: &State, v: &'a MatView, theme: &Theme) -> Vec<Line<'a>> {
    let size = match (v.total_bytes, v.heap_bytes, v.index_bytes) {
        (Some(t), Some(h), Some(i)) => format!(
            "{} (table {}, indexes {})",
            format::size(t),
            format::size(h),
            format::size(i)
        ),
        _ if v.size_skipped_locked => "not read: an ACCESS EXCLUSIVE lock is held or queued".into(),
        _ => "unknown".into(),
    };
    let concurrent = match (&v.unique_index, v.populated) {
        (Some(ix), true) => format!("yes, through unique index {ix}"),
        (Some(ix), false) => format!("not while unpopulated (unique index {ix})"),
        (None, _) => "no: needs a unique btree index on plain columns, without WHERE".into(),
    };
    let list = |l: &[String]| {
        if l.is_empty() {
            "—".to_string()
        } else {
            l.join(", ")
        }
    };
    let mut lines = vec![
        Line::from(Span::styled(v.qualified_name.clone(), theme.header())),
        field("owner", v.owner.clone(), theme),
        field("status", v.status.label().to_string(), theme),
        field("size", size, theme),
        field(
            "rows (estimate)",
            v.rows_estimate
                .map(format::count)
                .unwrap_or_else(|| "—".into()),
            theme,
        ),
        field("concurrently", concurrent, theme),
        field("reads", list(&v.depends_on), theme),
        field("upstream MVs", list(&v.upstream_mvs), theme),
        field("downstream MVs", list(&v.downstream_mvs), theme),
        field(
            "refresh level",
            format!(
                "{}{}",
                v.refresh_level,
                if v.in_cycle { " (in a cycle)" } else { "" }
            ),
            theme,
        ),
        field(
            "sessions holding locks on it",
            v.lock_holders.to_string(),
            theme,
        ),
    ];
    // A benchmark of this session goes right under the name, where it is seen first.
    lines.splice(1..1, super::bench::lines(state, v.oid, theme));
    lines.extend(index_lines(state, v, theme));
    lines.push(field("refreshes", refresh_summary(state, v), theme));
    lines.extend(super::cost::lines(v, theme));
    lines.extend(recent_runs(state, v, theme));
    if let Some(e) = &v.last_refresh_error {
        lines.push(Line::from(vec![
            Span::styled("last error: ", theme.alert()),
            Span::raw(e.clone()),
        ]));
    }
    lines.extend(schedule_lines(state, v, theme));
    lines.push(Line::from(""));
    match &v.definition {
        Some(def) => lines.extend(def.lines().map(|l| highlight(l, theme))),
        None if v.definition_skipped_locked => {
            lines.push(Line::from("definition: not read (locked)"))
        }
        None => lines.push(Line::from(Span::styled(
            "(definition: press Y to copy once loaded)",
            theme.dim(),
        ))),
    }
    lines
}

/// Its schedule and next run, and what the seed's tiers advise for it.
fn schedule_lines<'a>(state: &State, v: &MatView, theme: &Theme) -> Vec<Line<'a>> {
    let book = &state.schedules;
    let schedule = match book.of(v) {
        Some(s) => {
            let mut text = s.policy.describe();
            if let Some(w) = s.window {
                text.push_str(&format!(", window {}", w.describe()));
            }
            if let Some(next) = book.next_run(v, state.now) {
                text.push_str(&format!(", next {}", next.short(state.now)));
            }
            text
        }
        None if book.pg_cron.of(v.oid).next().is_some() => "none by mvtop".into(),
        None => "none (s sets one)".into(),
    };
    let mut cron: Vec<Line<'a>> = crate::tui::pg_cron::detail(&book.pg_cron, v, state.now)
        .into_iter()
        .map(|l| field("pg_cron", l, theme))
        .collect();
    if book.of(v).is_some() && !cron.is_empty() {
        cron.push(field(
            "warning",
            "scheduled by both mvtop and pg_cron: it is refreshed by each".into(),
            theme,
        ));
    }
    let advice = crate::tui::schedules::advice_for(v, state.facts.as_ref(), state.now);
    // In the schedule form's words, and the key that fills the form with it.
    let mut advice_text = match advice.suggestion {
        Some(s) if state.read_only => format!("{}: {}", advice.tier, s.form_text()),
        Some(s) => format!(
            "{}: {} ({} to apply)",
            advice.tier,
            s.form_text(),
            state.keymap.key_of(crate::tui::keymap::Action::ApplyAdvice)
        ),
        None => advice.why.clone(),
    };
    if let Some(note) = advice.notes.first() {
        advice_text.push_str(&format!("; {note}"));
    }
    let mut lines = vec![field("schedule", schedule, theme)];
    lines.extend(cron);
    lines.push(field("advice", advice_text, theme));
    lines
}

/// The refresh figures, each group followed by where it comes from: the last refresh's time
/// can come from a commit timestamp while durations come from pg_stat_statements.
pub(in crate::tui::ui) fn refresh_summary(state: &State, v: &MatView) -> String {
    let label = |s: Option<StatsSource>| s.map(StatsSource::label).unwrap_or("unknown source");
    let mut parts = Vec::new();
    if let Some(ms) = v.last_refresh_ms {
        parts.push(format!("took {}", format::duration_ms(ms)));
    }
    if let Some(ms) = v.avg_refresh_ms {
        parts.push(format!("avg {}", format::duration_ms(ms)));
    }
    if let Some(ms) = v.p95_refresh_ms {
        parts.push(format!("p95 {}", format::duration_ms(ms)));
    }
    if let Some(n) = v.refresh_count {
        parts.push(format!("{n} runs"));
    }
    if let Some(n) = v.refresh_failures.filter(|n| *n > 0) {
        parts.push(format!("{n} failed"));
    }
    let last = v
        .last_refresh
        .map(|at| format!("last {}", format::age(at, state.now)));
    match last {
        Some(last) if parts.is_empty() => format!("{last} ({})", label(v.last_refresh_source)),
        Some(last) if v.last_refresh_source == v.refresh_stats_source => format!(
            "{last}, {} ({})",
            parts.join(", "),
            label(v.refresh_stats_source)
        ),
        Some(last) => format!(
            "{last} ({}); {} ({})",
            label(v.last_refresh_source),
            parts.join(", "),
            label(v.refresh_stats_source)
        ),
        None if parts.is_empty() => {
            "none in the ledger, pg_stat_statements or commit timestamps".into()
        }
        None => format!("{} ({})", parts.join(", "), label(v.refresh_stats_source)),
    }
}

fn highlight<'a>(line: &'a str, theme: &Theme) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        if KEYWORDS.contains(&bare.to_uppercase().as_str())
            && bare.chars().all(|c| c.is_ascii_alphabetic())
        {
            spans.push(Span::styled(word, theme.keyword()));
        } else {
            spans.push(Span::raw(word));
        }
    }
    Line::from(spans)
}

/// One past run as the detail pane lists it.
struct PastRun<'a> {
    at: chrono::DateTime<chrono::Utc>,
    ms: Option<f64>,
    outcome: &'a str,
    error: Option<&'a str>,
}

/// A sparkline of the durations (oldest to newest) and the last runs, from the ledger, or
/// from this process's own runs without one.
fn recent_runs<'a>(state: &State, v: &MatView, theme: &Theme) -> Vec<Line<'a>> {
    let runs: Vec<PastRun> = match &state.detail {
        Some((oid, detail)) if *oid == v.oid && !detail.runs.is_empty() => detail
            .runs
            .iter()
            .map(|r| PastRun {
                at: r.finished_at.unwrap_or(r.started_at),
                ms: r.duration_ms,
                outcome: &r.outcome,
                error: r.error.as_deref(),
            })
            .collect(),
        _ => state
            .memory_log
            .runs()
            .iter()
            .rev()
            .filter(|r| r.mv_oid == v.oid)
            .map(|r| PastRun {
                at: r.finished_at,
                ms: r.duration_ms,
                outcome: &r.outcome,
                error: r.error.as_deref(),
            })
            .collect(),
    };
    if runs.is_empty() {
        return Vec::new();
    }
    let durations: Vec<f64> = runs.iter().rev().filter_map(|r| r.ms).collect();
    let mut lines = vec![Line::from(vec![
        Span::styled("durations: ", theme.header()),
        Span::styled(sparkline(&durations), theme.ok()),
    ])];
    for run in runs.iter().take(5) {
        let style = if run.outcome == "ok" {
            theme.dim()
        } else {
            theme.alert()
        };
        let text = format!(
            "  {} {:>9} {}{}",
            format::age(run.at, state.now),
            run.ms.map(format::duration_ms).unwrap_or_default(),
            run.outcome,
            run.error.map(|e| format!(": {e}")).unwrap_or_default()
        );
        lines.push(Line::from(Span::styled(text, style)));
    }
    lines
}

/// `▁▃▅█`: each value against the largest.
fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    values
        .iter()
        .map(|v| {
            if max <= 0.0 {
                BARS[0]
            } else {
                BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// The MV's indexes: the one that makes CONCURRENTLY possible, and why the others do not.
fn index_lines<'a>(state: &State, v: &MatView, theme: &Theme) -> Vec<Line<'a>> {
    let Some((_, detail)) = state.detail.as_ref().filter(|(oid, _)| *oid == v.oid) else {
        return Vec::new();
    };
    if detail.indexes.is_empty() {
        return vec![field("indexes", "none".into(), theme)];
    }
    let mut lines = vec![Line::from(Span::styled("indexes:", theme.header()))];
    for ix in &detail.indexes {
        let (mark, why, style) = match &ix.not_concurrent_because {
            None => ("◆", "makes CONCURRENTLY possible".to_string(), theme.ok()),
            Some(why) if ix.unique => ("·", format!("unique, but {why}"), theme.warn()),
            Some(_) => ("·", String::new(), theme.dim()),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {mark} {}", ix.name), style),
            Span::styled(
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                },
                style,
            ),
        ]));
    }
    lines
}
