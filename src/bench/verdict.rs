//! What a benchmark means: the speed-up of reading the MV over running the view, the
//! break-even reads per refresh, and whether the MV pays off at the rate it is read.
//! Pure functions of the measured figures, so the reasoning is unit-tested.

use serde::Serialize;

use super::stats::Summary;

/// A verdict is uncertain when the noise of the runs could change it: the view's and the
/// MV's runs overlap (the speed-up itself is in doubt), the read rate lies within the
/// break-even's range, or, with no read rate to compare, that range is this wide (its
/// ends more than 1.5× apart). Noise that cannot change the conclusion (a 0.4 ms read
/// varying by half against a 150 ms view) leaves it certain.
pub const WIDE_BREAK_EVEN: f64 = 1.5;

/// What the verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub view: Summary,
    pub mv: Summary,
    /// The refresh's runs (measured, or from the ledger as a single figure).
    pub refresh: Option<Summary>,
    /// How often the MV is read between two refreshes, when known (see `reads_per_refresh`).
    pub reads_per_refresh: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Read often enough to pay for its refreshes.
    WorthIt,
    /// Read between refreshes, but fewer times than the break-even.
    NotWorthIt,
    /// Refreshed more often than read.
    RefreshedMoreThanRead,
    /// Reading the MV is no faster than running the view.
    NotFaster,
    /// Faster, but how often it is read is unknown.
    ReadRateUnknown,
    /// Faster, but the refresh time is unknown (no --with-refresh, no history).
    RefreshTimeUnknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: VerdictKind,
    /// Median view time / median MV read time.
    pub speedup: f64,
    /// Refresh time / (view time − MV read time); None when the MV is not faster or the
    /// refresh time is unknown.
    pub break_even_reads_per_refresh: Option<f64>,
    /// The spread of the runs is too wide for the conclusion to be firm.
    pub uncertain: bool,
    /// The conclusion in one sentence.
    pub sentence: String,
}

/// Speed-up of the MV read over the view (medians); infinite when the MV read took no time.
pub fn speedup(view_ms: f64, mv_ms: f64) -> f64 {
    if mv_ms <= 0.0 {
        return f64::INFINITY;
    }
    view_ms / mv_ms
}

/// How many reads of the MV pay for one refresh: each read saves `view − mv`.
/// None when a read of the MV saves nothing.
pub fn break_even(refresh_ms: f64, view_ms: f64, mv_ms: f64) -> Option<f64> {
    let saved = view_ms - mv_ms;
    (saved > 0.0).then(|| refresh_ms / saved)
}

/// How the MV has been used, from pg_stat_all_tables and the refresh history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Sequential plus index scans of the MV since the statistics window began.
    pub scans: i64,
    /// Length of that window (since the database's statistics were last reset), if known.
    pub window_secs: Option<f64>,
    /// Successful refreshes in the same window, when the history covers all of it.
    pub refreshes_in_window: Option<i64>,
    /// Typical time between two refreshes from the history, when the history is shorter
    /// than the window.
    pub refresh_interval_secs: Option<f64>,
}

/// Scans a refresh makes of the MV itself: a plain one rebuilds each index (a scan of
/// the new heap, counted as the MV's), a concurrent one reads the MV to diff it. At least
/// one for any MV with an index; only that much is discounted, so a rarely read MV is
/// never taken for a read one.
pub const SCANS_PER_REFRESH: f64 = 1.0;

/// Reads per refresh: counted over one window when the history covers it, else the read
/// rate times the refresh interval. None when neither is known.
pub fn reads_per_refresh(u: &Usage) -> Option<f64> {
    let scans_per_refresh = match (
        u.refreshes_in_window,
        u.window_secs,
        u.refresh_interval_secs,
    ) {
        (Some(n), _, _) if n > 0 => u.scans as f64 / n as f64,
        (_, Some(window), Some(interval)) if window > 0.0 && interval > 0.0 => {
            u.scans as f64 / window * interval
        }
        _ => return None,
    };
    Some((scans_per_refresh - SCANS_PER_REFRESH).max(0.0))
}

/// Some runs of one case were as fast as some of the other's.
fn overlap(a: &Summary, b: &Summary) -> bool {
    a.min <= b.max && b.min <= a.max
}

/// The break-even's plausible range from the quartiles: fastest refresh over the largest
/// saving, slowest refresh over the smallest one.
fn break_even_range(view: &Summary, mv: &Summary, refresh: &Summary) -> (f64, f64) {
    let low = break_even(refresh.q1, view.q3, mv.q1).unwrap_or(f64::INFINITY);
    let high = break_even(refresh.q3, view.q1, mv.q3).unwrap_or(f64::INFINITY);
    (low, high)
}

pub fn judge(e: &Evidence) -> Verdict {
    let speedup = speedup(e.view.median, e.mv.median);
    let mut uncertain = overlap(&e.view, &e.mv);
    let break_even = e
        .refresh
        .and_then(|r| break_even(r.median, e.view.median, e.mv.median));
    let faster = format!("MV read {}× faster", times(speedup));
    let (kind, sentence) = match (break_even, e.refresh, e.reads_per_refresh) {
        _ if e.view.median <= e.mv.median => (
            VerdictKind::NotFaster,
            format!(
                "reading the MV is not faster than the view ({}×): it brings nothing for these reads; consider a plain view",
                times(speedup)
            ),
        ),
        (_, None, _) => (
            VerdictKind::RefreshTimeUnknown,
            format!("{faster}; break-even unknown without a refresh time (--with-refresh)"),
        ),
        (Some(be), Some(r), None) => {
            let (low, high) = break_even_range(&e.view, &e.mv, &r);
            if high > low * WIDE_BREAK_EVEN {
                uncertain = true;
            }
            (
                VerdictKind::ReadRateUnknown,
                format!(
                    "{faster}; worth it when read at least {}× per refresh (read rate unknown)",
                    times(be)
                ),
            )
        }
        (Some(be), Some(r), Some(reads)) => {
            let (low, high) = break_even_range(&e.view, &e.mv, &r);
            // Near the break-even, noise decides which side it falls on.
            if reads >= low && reads <= high && low < high {
                uncertain = true;
            }
            if reads >= be {
                (
                    VerdictKind::WorthIt,
                    format!(
                        "reads {}×/refresh, break-even {}×: worth it",
                        times(reads),
                        times(be)
                    ),
                )
            } else if reads < 1.0 {
                (
                    VerdictKind::RefreshedMoreThanRead,
                    format!(
                        "refreshes more often than it is read ({} reads/refresh, break-even {}×): \
                         consider a plain view or change-driven refresh",
                        times(reads),
                        times(be)
                    ),
                )
            } else {
                (
                    VerdictKind::NotWorthIt,
                    format!(
                        "reads {}×/refresh, break-even {}×: not worth it at this rate; \
                         refresh less often or use a plain view",
                        times(reads),
                        times(be)
                    ),
                )
            }
        }
        (None, Some(_), _) => unreachable!("a faster MV always has a break-even"),
    };
    let sentence = if uncertain {
        format!("uncertain (runs vary widely): {sentence}")
    } else {
        sentence
    };
    Verdict {
        kind,
        speedup,
        break_even_reads_per_refresh: break_even,
        uncertain,
        sentence,
    }
}

/// `3.2`, `40`, `0.4`: one decimal below 10, none above.
pub fn times(x: f64) -> String {
    if !x.is_finite() {
        "∞".into()
    } else if x.abs() >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five runs spread ±2% around `ms`.
    fn runs(ms: f64) -> Summary {
        Summary::of(&[ms * 0.98, ms * 0.99, ms, ms * 1.01, ms * 1.02]).unwrap()
    }

    fn seed(reads_per_refresh: Option<f64>) -> Evidence {
        // seeds/postgres-views-research.md: refresh 5.5 s, MV read 0.9 s, view read 2.6 s.
        Evidence {
            view: runs(2600.0),
            mv: runs(900.0),
            refresh: Some(runs(5500.0)),
            reads_per_refresh,
        }
    }

    #[test]
    fn the_seeds_figures_break_even_at_about_3_2_reads() {
        let be = break_even(5500.0, 2600.0, 900.0).unwrap();
        assert!((be - 3.235).abs() < 0.01, "{be}");
        assert!((speedup(2600.0, 900.0) - 2.889).abs() < 0.01);
        let v = judge(&seed(None));
        assert_eq!(v.kind, VerdictKind::ReadRateUnknown);
        assert!(!v.uncertain);
        assert_eq!(
            v.sentence,
            "MV read 2.9× faster; worth it when read at least 3.2× per refresh (read rate unknown)"
        );
    }

    #[test]
    fn read_often_it_is_worth_it() {
        let v = judge(&seed(Some(40.0)));
        assert_eq!(v.kind, VerdictKind::WorthIt);
        assert_eq!(v.sentence, "reads 40×/refresh, break-even 3.2×: worth it");
    }

    #[test]
    fn the_seeds_conclusion_data_changing_too_often() {
        let v = judge(&seed(Some(0.4)));
        assert_eq!(v.kind, VerdictKind::RefreshedMoreThanRead);
        assert!(
            v.sentence
                .starts_with("refreshes more often than it is read")
        );
        assert!(
            v.sentence
                .contains("consider a plain view or change-driven refresh")
        );
        let v = judge(&seed(Some(2.0)));
        assert_eq!(v.kind, VerdictKind::NotWorthIt);
        assert!(
            v.sentence
                .starts_with("reads 2.0×/refresh, break-even 3.2×: not worth it")
        );
    }

    #[test]
    fn an_mv_no_faster_than_its_view_brings_nothing() {
        let v = judge(&Evidence {
            view: runs(100.0),
            mv: runs(120.0),
            refresh: Some(runs(500.0)),
            reads_per_refresh: Some(100.0),
        });
        assert_eq!(v.kind, VerdictKind::NotFaster);
        assert_eq!(v.break_even_reads_per_refresh, None);
        assert!(v.speedup < 1.0);
    }

    #[test]
    fn without_a_refresh_time_there_is_no_break_even() {
        let v = judge(&Evidence {
            refresh: None,
            ..seed(Some(10.0))
        });
        assert_eq!(v.kind, VerdictKind::RefreshTimeUnknown);
        assert_eq!(v.break_even_reads_per_refresh, None);
        assert!(v.sentence.contains("--with-refresh"));
    }

    #[test]
    fn overlapping_or_spread_runs_make_the_verdict_uncertain() {
        let wide = Summary::of(&[500.0, 1500.0, 2600.0, 3000.0, 4000.0]).unwrap();
        let v = judge(&Evidence {
            view: wide,
            ..seed(Some(40.0))
        });
        assert!(v.uncertain);
        assert!(
            v.sentence.starts_with("uncertain (runs vary widely): "),
            "{}",
            v.sentence
        );
        // Tight but overlapping: 100 vs 103 ms with ±2% each.
        let v = judge(&Evidence {
            view: runs(103.0),
            mv: runs(100.0),
            refresh: None,
            reads_per_refresh: None,
        });
        assert!(v.uncertain);
    }

    #[test]
    fn noise_that_cannot_change_the_conclusion_leaves_it_certain() {
        // reporting.chroot_stats on the demo: a 150 ms view, a 0.3-0.6 ms MV read.
        let mv = Summary::of(&[0.38, 0.29, 0.58, 0.61, 0.35]).unwrap();
        assert!(mv.relative_iqr() > 0.5, "{}", mv.relative_iqr());
        let v = judge(&Evidence {
            view: Summary::of(&[147.8, 143.8, 172.9, 177.2, 150.0]).unwrap(),
            mv,
            refresh: Some(runs(160.0)),
            reads_per_refresh: Some(50.0),
        });
        assert!(!v.uncertain, "{}", v.sentence);
        assert_eq!(v.kind, VerdictKind::WorthIt);
        // A refresh time known only roughly makes the break-even itself uncertain.
        let v = judge(&Evidence {
            refresh: Summary::of(&[1000.0, 2000.0, 3000.0, 5000.0, 9000.0]),
            reads_per_refresh: None,
            ..seed(None)
        });
        assert!(v.uncertain, "{}", v.sentence);
    }

    #[test]
    fn a_read_rate_close_to_the_break_even_is_uncertain() {
        // Break-even 3.2 with ±2% runs spans about 3.1..3.4.
        assert!(judge(&seed(Some(3.3))).uncertain);
        assert!(!judge(&seed(Some(6.0))).uncertain);
    }

    #[test]
    fn reads_per_refresh_from_one_window_or_from_rate_times_interval() {
        // 400 scans, 10 of them by the refreshes themselves.
        let counted = Usage {
            scans: 410,
            window_secs: Some(3600.0),
            refreshes_in_window: Some(10),
            refresh_interval_secs: None,
        };
        assert_eq!(reads_per_refresh(&counted), Some(40.0));
        // The history is younger than the statistics: 404 scans/h, refreshed every 15 min.
        let rate = Usage {
            refreshes_in_window: None,
            refresh_interval_secs: Some(900.0),
            ..counted
        };
        let rate = Usage { scans: 404, ..rate };
        assert_eq!(reads_per_refresh(&rate), Some(100.0));
        // Scanned only by its refreshes: never read.
        let unread = Usage {
            scans: 3,
            refreshes_in_window: Some(3),
            ..counted
        };
        assert_eq!(reads_per_refresh(&unread), Some(0.0));
        assert_eq!(reads_per_refresh(&Usage::default()), None);
        let no_window = Usage {
            window_secs: None,
            ..rate
        };
        assert_eq!(reads_per_refresh(&no_window), None);
    }

    #[test]
    fn multipliers_read_naturally() {
        assert_eq!(times(3.235), "3.2");
        assert_eq!(times(40.2), "40");
        assert_eq!(times(f64::INFINITY), "∞");
    }
}
