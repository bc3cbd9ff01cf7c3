//! Strategy advice per MV, after the seed's tiers (mv-refresh-strategies): from the measured
//! average refresh time and the base tables' write rate.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::MatView;

/// Under this, refresh on change (T1).
const QUICK_MS: f64 = 8_000.0;
/// Under this, every few minutes (T2); above, change-driven with a quiet period or off-peak.
const MEDIUM_MS: f64 = 30_000.0;
/// Row writes per hour under which base tables count as rarely written.
const RARE_WRITES_PER_HOUR: f64 = 100.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// `t1`, `t2`, `t3`, or `unmeasured`.
    pub tier: &'static str,
    /// The suggested schedule, as `mvtop schedule set` flags.
    pub suggest: Option<String>,
    /// The same schedule, for the console to say in its form's words and to fill the form.
    #[serde(skip)]
    pub suggestion: Option<Suggestion>,
    pub why: String,
    /// Further advice: the unique index for CONCURRENTLY, ...
    pub notes: Vec<String>,
}

/// A suggested schedule: one value, said as `mvtop schedule set` flags on the command line
/// and in the `s` form's words in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suggestion {
    OnChange {
        quiet: &'static str,
        max_stale: Option<&'static str>,
    },
    Every(&'static str),
    Cron(&'static str),
}

impl Suggestion {
    /// As `mvtop schedule set NAME` takes it.
    pub fn flags(self) -> String {
        match self {
            Suggestion::OnChange { quiet, max_stale } => {
                let stale = max_stale.map(|m| format!(" --max-stale {m}"));
                format!("--on-change --quiet {quiet}{}", stale.unwrap_or_default())
            }
            Suggestion::Every(every) => format!("--every {every}"),
            Suggestion::Cron(cron) => format!("--cron '{cron}'"),
        }
    }

    /// As the console's schedule form takes it.
    pub fn form_text(self) -> String {
        match self {
            Suggestion::OnChange { quiet, max_stale } => {
                let stale = max_stale.map(|m| format!(" max-stale {m}"));
                format!("on-change quiet {quiet}{}", stale.unwrap_or_default())
            }
            Suggestion::Every(every) => format!("every {every}"),
            Suggestion::Cron(cron) => format!("cron {cron}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdviceInput {
    pub avg_refresh_ms: Option<f64>,
    /// Inserted, updated and deleted rows of its base tables per hour (since stats reset).
    pub writes_per_hour: Option<f64>,
    pub concurrent_ready: bool,
    pub populated: bool,
}

impl AdviceInput {
    /// What is known of `v` for advice, the same for the console and `mvtop schedule
    /// advise`: its write counters count from `stats_since` (the server facts' statistics
    /// reset or start); readiness counts an unpopulated MV with a unique index as ready
    /// (it needs one plain refresh first, which the notes say).
    pub fn of(v: &MatView, stats_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> AdviceInput {
        // At least a minute: a rate over seconds says nothing.
        let hours = stats_since
            .map(|t| ((now - t).num_milliseconds() as f64 / 3_600_000.0).max(1.0 / 60.0));
        AdviceInput {
            avg_refresh_ms: v.avg_refresh_ms,
            writes_per_hour: v.base_writes.zip(hours).map(|(w, h)| w as f64 / h),
            concurrent_ready: v.concurrent_ready || !v.populated && v.unique_index.is_some(),
            populated: v.populated,
        }
    }
}

/// The advice for `v`: what the detail pane and `mvtop schedule advise` both show.
pub fn advise_mv(v: &MatView, stats_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Advice {
    let input = AdviceInput::of(v, stats_since, now);
    let mut advice = advise(&input);
    // What its refreshes cost comes first (the console shows the first note): the index
    // that would stop them blocking readers says more than the general note on indexes,
    // which it replaces; the mode that writes less WAL.
    let cost = super::advise_cost::cost_notes(v, input.writes_per_hour);
    if cost.index.is_some() && !input.concurrent_ready && !advice.notes.is_empty() {
        advice.notes.remove(0);
    }
    let first: Vec<String> = cost.index.into_iter().chain(cost.wal).collect();
    advice.notes.splice(0..0, first);
    advice
}

pub fn advise(a: &AdviceInput) -> Advice {
    let mut notes = Vec::new();
    if !a.concurrent_ready {
        notes.push(
            "add a unique index on plain columns (no WHERE, no expressions) to refresh \
             CONCURRENTLY: readers are then never blocked"
                .to_string(),
        );
    } else if !a.populated {
        notes.push("populate it once without CONCURRENTLY (it has never been refreshed)".into());
    }
    let rare = a.writes_per_hour.is_some_and(|w| w < RARE_WRITES_PER_HOUR);
    let never = a.writes_per_hour.is_some_and(|w| w == 0.0);
    let Some(avg) = a.avg_refresh_ms else {
        return Advice {
            tier: "unmeasured",
            suggest: None,
            suggestion: None,
            why: "no refresh measured yet: refresh it once (mvtop refresh NAME) to get advice"
                .into(),
            notes,
        };
    };
    let secs = avg / 1000.0;
    let (tier, suggest, why) = if never {
        (
            tier_of(avg),
            Suggestion::OnChange {
                quiet: "2m",
                max_stale: None,
            },
            format!(
                "its base tables have not been written since statistics were reset; a \
                 refresh of {secs:.1} s only when they change"
            ),
        )
    } else if avg < QUICK_MS {
        (
            "t1",
            Suggestion::OnChange {
                quiet: "30s",
                max_stale: Some("15m"),
            },
            format!("refreshes in {secs:.1} s (under 8 s): refresh soon after every change"),
        )
    } else if avg < MEDIUM_MS {
        if rare {
            (
                "t2",
                Suggestion::OnChange {
                    quiet: "2m",
                    max_stale: Some("30m"),
                },
                format!(
                    "refreshes in {secs:.1} s (8–30 s) and its tables are rarely written: \
                     refresh after writes go quiet"
                ),
            )
        } else {
            (
                "t2",
                Suggestion::Every("5m"),
                format!("refreshes in {secs:.1} s (8–30 s): every few minutes"),
            )
        }
    } else if rare {
        (
            "t3",
            Suggestion::OnChange {
                quiet: "5m",
                max_stale: Some("1d"),
            },
            format!(
                "refreshes in {secs:.0} s (over 30 s) and its tables are rarely written: \
                 refresh after writes go quiet, at least daily"
            ),
        )
    } else {
        (
            "t3",
            Suggestion::Cron("0 3 * * *"),
            format!(
                "refreshes in {secs:.0} s (over 30 s) under frequent writes: off-peak, e.g. \
                 nightly, or on change with a long quiet period if it must be fresher"
            ),
        )
    };
    Advice {
        tier,
        suggest: Some(suggest.flags()),
        suggestion: Some(suggest),
        why,
        notes,
    }
}

fn tier_of(avg_ms: f64) -> &'static str {
    if avg_ms < QUICK_MS {
        "t1"
    } else if avg_ms < MEDIUM_MS {
        "t2"
    } else {
        "t3"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(avg: Option<f64>, writes: Option<f64>) -> AdviceInput {
        AdviceInput {
            avg_refresh_ms: avg,
            writes_per_hour: writes,
            concurrent_ready: true,
            populated: true,
        }
    }

    #[test]
    fn the_seed_tiers() {
        let quick = advise(&input(Some(2_000.0), Some(5_000.0)));
        assert_eq!(quick.tier, "t1");
        assert!(quick.suggest.unwrap().starts_with("--on-change"));
        let medium = advise(&input(Some(15_000.0), Some(5_000.0)));
        assert_eq!(
            (medium.tier, medium.suggest.as_deref()),
            ("t2", Some("--every 5m"))
        );
        let slow_busy = advise(&input(Some(120_000.0), Some(50_000.0)));
        assert_eq!(slow_busy.tier, "t3");
        assert!(slow_busy.suggest.unwrap().starts_with("--cron"));
        let slow_rare = advise(&input(Some(120_000.0), Some(10.0)));
        assert!(slow_rare.suggest.unwrap().starts_with("--on-change"));
    }

    #[test]
    fn unmeasured_and_unindexed() {
        let mut i = input(None, None);
        i.concurrent_ready = false;
        let a = advise(&i);
        assert_eq!((a.tier, a.suggest), ("unmeasured", None));
        assert!(a.notes[0].contains("unique index"));
    }

    #[test]
    fn never_written_tables_refresh_on_change() {
        let a = advise(&input(Some(60_000.0), Some(0.0)));
        assert_eq!(a.tier, "t3");
        assert_eq!(a.suggest.as_deref(), Some("--on-change --quiet 2m"));
    }

    /// What the console fills its form with is a line the form accepts, with the same
    /// policy the CLI's flags give.
    #[test]
    fn suggestions_read_the_same_in_the_form_and_as_flags() {
        use crate::schedule::text::{Edit, parse};
        let cases = [
            (Some(2_000.0), Some(5_000.0)),
            (Some(15_000.0), Some(5_000.0)),
            (Some(15_000.0), Some(10.0)),
            (Some(120_000.0), Some(50_000.0)),
            (Some(120_000.0), Some(10.0)),
            (Some(60_000.0), Some(0.0)),
        ];
        for (avg, writes) in cases {
            let a = advise(&input(avg, writes));
            let s = a.suggestion.expect("a suggestion");
            assert_eq!(a.suggest, Some(s.flags()));
            let Ok(Edit::Set { input, .. }) = parse(&s.form_text()) else {
                panic!("{}", s.form_text())
            };
            input.parse("UTC").unwrap();
            let flags = s.flags();
            for (flag, value) in [
                ("--every", &input.every),
                ("--cron", &input.cron),
                ("--quiet", &input.quiet),
                ("--max-stale", &input.max_stale),
            ] {
                match value {
                    Some(v) => assert!(
                        flags.contains(&format!("{flag} {v}"))
                            || flags.contains(&format!("{flag} '{v}'")),
                        "{flags} / {v}"
                    ),
                    None => assert!(!flags.contains(flag), "{flags}"),
                }
            }
            assert_eq!(input.on_change, flags.contains("--on-change"));
        }
    }
}
