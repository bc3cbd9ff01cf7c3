//! The benchmark's part of the detail pane: a progress bar while it runs, then the medians
//! as bars with the speed-up, the break-even and the verdict.

use ratatui::text::{Line, Span};

use super::Theme;
use crate::bench::{BenchReport, RefreshSource, VerdictKind};
use crate::tui::bench::BenchStatus;
use crate::tui::state::State;

/// Cells of the longest bar and of the progress bar: with the label and the figure, a line
/// fits the side-by-side detail pane of a 120-column terminal.
const BAR: usize = 12;
const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// Nothing until the MV has been benchmarked in this session.
pub fn lines(state: &State, oid: u32, theme: &Theme) -> Vec<Line<'static>> {
    let Some(status) = state.benches.by_oid.get(&oid) else {
        return Vec::new();
    };
    let title = Span::styled("benchmark: ", theme.header());
    match status {
        BenchStatus::Running(p) => {
            let filled = if p.total == 0 {
                0
            } else {
                (p.done as usize * BAR / p.total as usize).min(BAR)
            };
            vec![Line::from(vec![
                title,
                Span::styled("█".repeat(filled), theme.ok()),
                Span::styled("░".repeat(BAR - filled), theme.dim()),
                Span::raw(format!(" {}/{} {}", p.done, p.total, p.step)),
                Span::styled(format!("  {} cancels", cancel_keys(state)), theme.dim()),
            ])]
        }
        BenchStatus::Cancelled => vec![Line::from(vec![title, Span::raw("cancelled")])],
        BenchStatus::Failed(e) => vec![Line::from(vec![
            title,
            Span::styled(e.clone(), theme.alert()),
        ])],
        BenchStatus::Done(r) => report_lines(state, r, title, theme),
    }
}

fn report_lines(
    state: &State,
    r: &BenchReport,
    title: Span<'static>,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let refresh = r.refresh_basis_ms.map(|ms| {
        let label = match r.refresh_basis {
            Some(RefreshSource::Measured) => "refresh",
            // The recorded average, not measured now.
            _ => "refresh*",
        };
        (label, ms)
    });
    let mut rows = vec![("view", r.view_ms.median), ("mv", r.mv_ms.median)];
    rows.extend(refresh);
    let longest = rows.iter().map(|(_, ms)| *ms).fold(0.0, f64::max);
    let mut lines = vec![Line::from(vec![
        title,
        Span::raw(format!(
            "median of {} runs, client time{}",
            r.runs,
            if refresh.is_some_and(|(l, _)| l == "refresh*") {
                " (* recorded average)"
            } else {
                ""
            }
        )),
    ])];
    for (label, ms) in rows {
        lines.push(Line::from(vec![
            Span::raw(format!("  {label:<8} ")),
            Span::styled(bar(ms, longest), theme.keyword()),
            Span::raw(format!(" {}", crate::format::precise_ms(ms))),
        ]));
    }
    let mut figures = format!("  speed-up {}×", crate::bench::verdict::times(r.speedup));
    if let Some(be) = r.break_even_reads_per_refresh {
        figures.push_str(&format!(
            ", break-even {} reads/refresh",
            crate::bench::verdict::times(be)
        ));
    }
    lines.push(Line::from(figures));
    let style = match r.verdict_kind {
        _ if r.uncertain => theme.warn(),
        VerdictKind::WorthIt => theme.ok(),
        VerdictKind::NotWorthIt | VerdictKind::RefreshedMoreThanRead | VerdictKind::NotFaster => {
            theme.alert()
        }
        VerdictKind::ReadRateUnknown | VerdictKind::RefreshTimeUnknown => theme.header(),
    };
    lines.push(Line::from(vec![
        Span::raw("  "),
        Span::styled(crate::tui::bench::verdict_line(state, r), style),
    ]));
    lines
}

/// `ms` as a bar of up to `BAR` cells, in eighths; anything above zero shows.
fn bar(ms: f64, longest: f64) -> String {
    if longest <= 0.0 {
        return " ".repeat(BAR);
    }
    let eighths = ((ms / longest) * (BAR * 8) as f64).round().max(1.0) as usize;
    let mut s = "█".repeat(eighths / 8);
    let rest = eighths % 8;
    if rest > 0 {
        s.push(EIGHTHS[rest - 1]);
    }
    let width = s.chars().count();
    s.push_str(&" ".repeat(BAR.saturating_sub(width)));
    s
}

/// `Esc or c`: the keys that cancel a benchmark.
pub fn cancel_keys(state: &State) -> String {
    use crate::tui::keymap::Action;
    format!(
        "{} or {}",
        state.keymap.key_of(Action::Back),
        state.keymap.key_of(Action::CancelJob)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_longest_in_eighths() {
        assert_eq!(bar(100.0, 100.0), "█".repeat(BAR));
        assert_eq!(bar(50.0, 100.0).trim_end(), "█".repeat(BAR / 2));
        // Tiny but not zero: one eighth shows.
        assert_eq!(bar(0.01, 100.0).trim_end(), "▏");
        assert_eq!(bar(1.0, 0.0), " ".repeat(BAR));
        assert_eq!(bar(33.0, 100.0).chars().count(), BAR);
    }
}
