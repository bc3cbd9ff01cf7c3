//! The detail pane's lines on what the MV's refreshes cost: the last successful run's WAL,
//! spill and I/O, the average of the last runs, and the sessions the last plain refresh
//! blocked, each with where it comes from (or why it is unknown).

use ratatui::text::{Line, Span};

use super::Theme;
use crate::catalog::MatView;
use crate::catalog::cost::{CostSummary, RunCost, wait_secs};
use crate::format;

fn field<'a>(name: &'a str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name}: "), theme.header()),
        Span::raw(value),
    ])
}

/// `WAL 11 MB, spill 0 bytes, read 8192 bytes, hit 23 MB, 100,000 rows`: the figures there are.
fn figures(c: &RunCost) -> Vec<String> {
    let mut parts = Vec::new();
    let sized = |label: &str, b: Option<i64>| b.map(|b| format!("{label} {}", format::size(b)));
    parts.extend(sized("WAL", c.wal_bytes));
    parts.extend(sized("spill", c.temp_bytes));
    parts.extend(sized("read", c.shared_read_bytes));
    parts.extend(sized("hit", c.shared_hit_bytes));
    parts.extend(
        c.rows_processed
            .map(|n| format!("{} rows", format::count(n))),
    );
    parts
}

fn averages(s: &CostSummary) -> Vec<String> {
    let sized = |label: &str, b: Option<f64>| {
        b.map(|b| format!("{label} {}", format::size(b.round() as i64)))
    };
    let mut parts = Vec::new();
    parts.extend(sized("WAL", s.avg_wal_bytes));
    parts.extend(sized("spill", s.avg_temp_bytes));
    parts.extend(sized("read", s.avg_shared_read_bytes));
    parts.extend(
        s.avg_blocked_total_ms
            .map(|ms| format!("blocked {}", wait_secs(ms))),
    );
    parts
}

pub(super) fn lines<'a>(v: &MatView, theme: &Theme) -> Vec<Line<'a>> {
    let Some(s) = &v.refresh_cost else {
        return Vec::new();
    };
    let source = s.source.label();
    let mut lines = Vec::new();
    if let Some(last) = &s.last {
        let mode = if s.last_concurrently == Some(true) {
            "concurrently"
        } else {
            "plain"
        };
        let parts = figures(last);
        let text = match (&last.cost_source, &last.cost_note) {
            (Some(from), note) if !parts.is_empty() => format!(
                "{} ({mode}; {source}, {from}){}",
                parts.join(", "),
                note.as_ref().map(|n| format!("; {n}")).unwrap_or_default()
            ),
            (_, Some(note)) => format!("unknown ({mode}): {note}"),
            _ => format!("unknown ({mode})"),
        };
        lines.push(field("last refresh cost", text, theme));
        let waited = match (last.blocked(), &last.blocked_note) {
            (Some(b), _) => {
                let whom = if s.last_concurrently == Some(true) {
                    "writers"
                } else {
                    "readers"
                };
                let who = last
                    .blocked_who
                    .iter()
                    .flatten()
                    .take(3)
                    .map(|w| format!("{}/{}", w.user, w.application))
                    .collect::<Vec<_>>();
                let who = if who.is_empty() {
                    String::new()
                } else {
                    format!(": {}", who.join(", "))
                };
                Some(format!("{} ({whom}){who}", b.describe()))
            }
            (None, Some(note)) => Some(format!("unknown: {note}")),
            (None, None) => None,
        };
        if let Some(w) = waited {
            lines.push(field("  blocked", w, theme));
        }
    }
    let avg = averages(s);
    if s.runs_considered > 1 && !avg.is_empty() {
        lines.push(field(
            "avg cost",
            format!("{} (last {} runs)", avg.join(", "), s.runs_considered),
            theme,
        ));
    }
    if s.last_concurrently == Some(true)
        && let Some(b) = s.last_plain_blocked
    {
        lines.push(field("last plain refresh", b.describe(), theme));
    }
    lines
}
