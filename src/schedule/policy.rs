//! What a schedule says: when an MV should be refreshed, and within which hours.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::cron::{CronSpec, parse_tz};
use crate::format::{duration_ms, parse_duration};
use crate::refresh::Concurrently;

/// The quiet period of a change-driven schedule when none is given (the seed's Z).
pub const DEFAULT_QUIET: Duration = Duration::from_secs(120);
/// The longest an MV stays stale under a change-driven schedule when none is given.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    Cron(Box<CronSpec>),
    Every(Duration),
    /// Refresh once writes to the base tables have been quiet for `quiet`, and at the latest
    /// `max_stale` after they first changed.
    OnChange {
        quiet: Duration,
        max_stale: Duration,
    },
}

impl Policy {
    /// `cron 0 * * * * (UTC)`, `every 15m`, `on change, quiet 2m, max stale 1h`.
    pub fn describe(&self) -> String {
        match self {
            Policy::Cron(c) => format!("cron {} ({})", c.expr, c.tz),
            Policy::Every(d) => format!("every {}", short(*d)),
            Policy::OnChange { quiet, max_stale } => format!(
                "on change, quiet {}, max stale {}",
                short(*quiet),
                short(*max_stale)
            ),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Policy::Cron(_) => "cron",
            Policy::Every(_) => "every",
            Policy::OnChange { .. } => "on_change",
        }
    }
}

/// `90s` -> `1m30s`, `7200s` -> `2h`: the form `--every` accepts.
pub fn short(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut s = ms / 1000;
    if s == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

/// Allowed hours, in a time zone: `01:00-05:00`; may wrap midnight (`22:00-04:00`). The end
/// is excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub tz: Tz,
}

impl Window {
    pub fn parse(text: &str, tz: Tz) -> Result<Window, String> {
        let bad = |why: &str| {
            format!("invalid window {text:?}: {why}; use HH:MM-HH:MM, e.g. 01:00-05:00")
        };
        let (a, b) = text.split_once('-').ok_or_else(|| bad("no '-'"))?;
        let time = |t: &str, which: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| bad(&format!("the {which} {:?} is not HH:MM", t.trim())))
        };
        let (start, end) = (time(a, "start")?, time(b, "end")?);
        if start == end {
            return Err(bad("start and end are equal"));
        }
        Ok(Window { start, end, tz })
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.tz).time();
        if self.start < self.end {
            local >= self.start && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    /// `t` when it is inside, else the next opening (to the minute; DST gaps are walked).
    pub fn next_open(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.contains(t) {
            return t;
        }
        // Minute steps up to two days: exact across DST changes and cheap (≤ 2,880 checks).
        let mut probe = t
            .with_second(0)
            .and_then(|p| p.with_nanosecond(0))
            .unwrap_or(t);
        for _ in 0..2880 {
            probe += chrono::Duration::minutes(1);
            if self.contains(probe) {
                return probe;
            }
        }
        probe
    }

    pub fn describe(&self) -> String {
        format!(
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// One MV's schedule, as stored in the ledger's schedule table.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub mv_schema: String,
    pub mv_name: String,
    pub policy: Policy,
    pub window: Option<Window>,
    pub concurrently: Concurrently,
    /// Set by the naming convention (`*_hourly` ...) rather than by a user.
    pub from_naming: bool,
    pub created_at: DateTime<Utc>,
    /// The due instant of the last run claimed (by any process).
    pub last_due: Option<DateTime<Utc>>,
    /// The base tables' write counters when that run was claimed (change-driven only).
    pub base_writes: Option<i64>,
}

/// The parts of `mvtop schedule set` (and the console's form), as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyInput {
    pub cron: Option<String>,
    pub tz: Option<String>,
    pub every: Option<String>,
    pub on_change: bool,
    pub quiet: Option<String>,
    pub max_stale: Option<String>,
    pub window: Option<String>,
}

impl PolicyInput {
    /// Validates the text; `default_tz` is used when no zone is given (the server's).
    pub fn parse(&self, default_tz: &str) -> Result<(Policy, Option<Window>), String> {
        let tz_text = self.tz.as_deref().unwrap_or(default_tz);
        let tz = parse_tz(tz_text)?;
        let chosen = [self.cron.is_some(), self.every.is_some(), self.on_change]
            .iter()
            .filter(|b| **b)
            .count();
        if chosen != 1 {
            return Err("give exactly one of --cron, --every or --on-change".into());
        }
        if !self.on_change && (self.quiet.is_some() || self.max_stale.is_some()) {
            return Err("--quiet and --max-stale go with --on-change".into());
        }
        if self.tz.is_some() && self.cron.is_none() && self.window.is_none() {
            return Err("--tz goes with --cron or --window".into());
        }
        let policy = if let Some(expr) = &self.cron {
            Policy::Cron(Box::new(CronSpec::parse(expr, tz_text)?))
        } else if let Some(every) = &self.every {
            let d = parse_duration(every).map_err(|e| format!("--every: {e}"))?;
            if d < Duration::from_secs(1) {
                return Err(format!(
                    "--every: {every:?} is below the 1 s the scheduler ticks at"
                ));
            }
            Policy::Every(d)
        } else {
            let quiet = optional_duration("--quiet", &self.quiet, DEFAULT_QUIET)?;
            let max_stale = optional_duration("--max-stale", &self.max_stale, DEFAULT_MAX_STALE)?;
            if max_stale < quiet {
                return Err(format!(
                    "--max-stale ({}) is shorter than --quiet ({}): the quiet period could never matter",
                    duration_ms(max_stale.as_millis() as f64),
                    duration_ms(quiet.as_millis() as f64)
                ));
            }
            Policy::OnChange { quiet, max_stale }
        };
        let window = self
            .window
            .as_deref()
            .map(|w| Window::parse(w, tz))
            .transpose()?;
        Ok((policy, window))
    }
}

fn optional_duration(
    flag: &str,
    text: &Option<String>,
    default: Duration,
) -> Result<Duration, String> {
    match text {
        None => Ok(default),
        Some(t) => parse_duration(t).map_err(|e| format!("{flag}: {e}")),
    }
}

/// The naming convention: `*_hourly`, `*_daily`, `*_weekly` (opt-in).
pub fn convention_for(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    [
        ("_hourly", "0 * * * *"),
        ("_daily", "0 0 * * *"),
        ("_weekly", "0 0 * * 0"),
    ]
    .into_iter()
    .find(|(suffix, _)| lower.ends_with(suffix))
    .map(|(_, cron)| cron)
}

/// The JSON form of a policy for `schedule list`.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyJson {
    pub kind: &'static str,
    pub cron: Option<String>,
    pub tz: Option<String>,
    pub every_ms: Option<u64>,
    pub quiet_ms: Option<u64>,
    pub max_stale_ms: Option<u64>,
}

impl From<&Policy> for PolicyJson {
    fn from(p: &Policy) -> PolicyJson {
        let mut j = PolicyJson {
            kind: p.kind(),
            cron: None,
            tz: None,
            every_ms: None,
            quiet_ms: None,
            max_stale_ms: None,
        };
        match p {
            Policy::Cron(c) => {
                j.cron = Some(c.expr.clone());
                j.tz = Some(c.tz.to_string());
            }
            Policy::Every(d) => j.every_ms = Some(d.as_millis() as u64),
            Policy::OnChange { quiet, max_stale } => {
                j.quiet_ms = Some(quiet.as_millis() as u64);
                j.max_stale_ms = Some(max_stale.as_millis() as u64);
            }
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn input() -> PolicyInput {
        PolicyInput::default()
    }

    #[test]
    fn exactly_one_policy() {
        assert!(input().parse("UTC").unwrap_err().contains("exactly one"));
        let both = PolicyInput {
            cron: Some("* * * * *".into()),
            every: Some("5m".into()),
            ..input()
        };
        assert!(both.parse("UTC").unwrap_err().contains("exactly one"));
    }

    #[test]
    fn bad_parts_are_named() {
        let every = PolicyInput {
            every: Some("5 parsecs".into()),
            ..input()
        };
        assert!(every.parse("UTC").unwrap_err().starts_with("--every"));
        let quiet = PolicyInput {
            on_change: true,
            quiet: Some("soon".into()),
            ..input()
        };
        assert!(quiet.parse("UTC").unwrap_err().starts_with("--quiet"));
        let window = PolicyInput {
            every: Some("1h".into()),
            window: Some("25:00-05:00".into()),
            ..input()
        };
        let e = window.parse("UTC").unwrap_err();
        assert!(e.contains("start \"25:00\""), "{e}");
        let stale = PolicyInput {
            on_change: true,
            quiet: Some("10m".into()),
            max_stale: Some("5m".into()),
            ..input()
        };
        assert!(stale.parse("UTC").unwrap_err().contains("shorter"));
    }

    #[test]
    fn on_change_defaults() {
        let p = PolicyInput {
            on_change: true,
            ..input()
        };
        let (policy, window) = p.parse("UTC").unwrap();
        assert_eq!(
            policy,
            Policy::OnChange {
                quiet: DEFAULT_QUIET,
                max_stale: DEFAULT_MAX_STALE
            }
        );
        assert_eq!(window, None);
        assert_eq!(policy.describe(), "on change, quiet 2m, max stale 1h");
    }

    #[test]
    fn windows_may_wrap_midnight_and_find_their_opening() {
        let w = Window::parse("22:00-04:00", Tz::UTC).unwrap();
        assert!(w.contains(Utc.with_ymd_and_hms(2026, 1, 1, 23, 0, 0).unwrap()));
        assert!(w.contains(Utc.with_ymd_and_hms(2026, 1, 1, 3, 59, 0).unwrap()));
        assert!(!w.contains(Utc.with_ymd_and_hms(2026, 1, 1, 4, 0, 0).unwrap()));
        let noon = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        assert_eq!(
            w.next_open(noon),
            Utc.with_ymd_and_hms(2026, 1, 1, 22, 0, 0).unwrap()
        );
        let paris = Window::parse("01:00-05:00", chrono_tz::Europe::Paris).unwrap();
        // 01:00 in Paris in winter is 00:00Z.
        assert_eq!(
            paris.next_open(noon),
            Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn naming_convention() {
        assert_eq!(
            convention_for("rolling_roi_all_clients_daily"),
            Some("0 0 * * *")
        );
        assert_eq!(convention_for("Sales_HOURLY"), Some("0 * * * *"));
        assert_eq!(convention_for("x_weekly"), Some("0 0 * * 0"));
        assert_eq!(convention_for("daily_sales"), None);
    }

    #[test]
    fn short_durations() {
        assert_eq!(short(Duration::from_secs(90)), "1m30s");
        assert_eq!(short(Duration::from_secs(7200)), "2h");
        assert_eq!(short(Duration::from_millis(1500)), "1500ms");
    }
}
