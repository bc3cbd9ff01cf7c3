//! Cron expressions in a named time zone (croner + chrono-tz): 5 fields, or 6 with seconds.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed cron expression and the zone its fields are read in.
#[derive(Clone)]
pub struct CronSpec {
    pub expr: String,
    pub tz: Tz,
    cron: Cron,
}

impl fmt::Debug for CronSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSpec({:?} in {})", self.expr, self.tz)
    }
}

impl PartialEq for CronSpec {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.tz == other.tz
    }
}

impl CronSpec {
    /// A bad expression or zone is an error that names the offending part.
    pub fn parse(expr: &str, tz: &str) -> Result<CronSpec, String> {
        let tz = parse_tz(tz)?;
        let fields = expr.split_whitespace().count();
        let nickname = expr.trim_start().starts_with('@');
        if !(nickname || fields == 5 || fields == 6) {
            return Err(format!(
                "invalid cron expression {expr:?}: it has {fields} fields; use 5 (minute hour \
                 day-of-month month day-of-week) or 6 (with seconds first)"
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(expr)
            .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))?;
        Ok(CronSpec {
            expr: expr.trim().to_string(),
            tz,
            cron,
        })
    }

    /// The first fire strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The last fire at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }
}

pub fn parse_tz(tz: &str) -> Result<Tz, String> {
    let name = tz.trim();
    // PostgreSQL reports its own zone as e.g. "Etc/UTC", "UTC" or "localtime".
    if name.eq_ignore_ascii_case("utc") || name.eq_ignore_ascii_case("z") {
        return Ok(Tz::UTC);
    }
    name.parse::<Tz>().map_err(|_| {
        format!("unknown time zone {tz:?}: use an IANA name such as Europe/Paris or UTC")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn five_and_six_fields_parse_others_name_the_problem() {
        assert!(CronSpec::parse("*/15 * * * *", "UTC").is_ok());
        assert!(CronSpec::parse("*/2 * * * * *", "UTC").is_ok());
        assert!(CronSpec::parse("@hourly", "UTC").is_ok());
        let four = CronSpec::parse("* * * *", "UTC").unwrap_err();
        assert!(four.contains("4 fields"), "{four}");
        let seven = CronSpec::parse("0 0 0 1 1 * 2030", "UTC").unwrap_err();
        assert!(seven.contains("7 fields"), "{seven}");
        let range = CronSpec::parse("61 * * * *", "UTC").unwrap_err();
        assert!(range.contains("\"61 * * * *\""), "{range}");
        let zone = CronSpec::parse("0 * * * *", "Mars/Olympus").unwrap_err();
        assert!(zone.contains("Mars/Olympus"), "{zone}");
    }

    #[test]
    fn month_ends_are_followed() {
        let c = CronSpec::parse("0 12 31 * *", "UTC").unwrap();
        // April has no 31st: the next 31st after March 31 is May 31.
        assert_eq!(
            c.next_after(utc(2026, 3, 31, 12, 0, 0)),
            Some(utc(2026, 5, 31, 12, 0, 0))
        );
        let last = CronSpec::parse("0 0 L * *", "UTC").unwrap();
        assert_eq!(
            last.next_after(utc(2028, 2, 1, 0, 0, 0)),
            Some(utc(2028, 2, 29, 0, 0, 0)),
            "leap year"
        );
    }

    #[test]
    fn spring_forward_skips_the_missing_hour_and_fall_back_fires_once() {
        // Europe/Paris: 2026-03-29 02:00 -> 03:00; 2026-10-25 03:00 -> 02:00.
        let c = CronSpec::parse("30 2 * * *", "Europe/Paris").unwrap();
        let before = utc(2026, 3, 28, 12, 0, 0);
        let next = c.next_after(before).unwrap();
        // 02:30 does not exist on the 29th: croner fires in the gap's stead (03:30 CEST = 01:30Z)
        // or skips to the 30th; either way never twice and never before the 29th.
        assert!(next > utc(2026, 3, 28, 23, 0, 0), "{next}");
        let after_next = c.next_after(next).unwrap();
        assert!(
            after_next - next >= chrono::Duration::hours(23),
            "{after_next}"
        );
        // Fall back: 02:30 happens twice in local time; one fire that day.
        let day = utc(2026, 10, 24, 12, 0, 0);
        let first = c.next_after(day).unwrap();
        let second = c.next_after(first).unwrap();
        assert_eq!(
            first.date_naive(),
            chrono::NaiveDate::from_ymd_opt(2026, 10, 25).unwrap()
        );
        assert!(
            second - first >= chrono::Duration::hours(23),
            "{first} then {second}"
        );
    }

    #[test]
    fn hours_are_read_in_the_zone() {
        let c = CronSpec::parse("0 9 * * *", "America/New_York").unwrap();
        // 09:00 EST is 14:00Z in winter, 13:00Z in summer.
        assert_eq!(
            c.next_after(utc(2026, 1, 10, 0, 0, 0)),
            Some(utc(2026, 1, 10, 14, 0, 0))
        );
        assert_eq!(
            c.next_after(utc(2026, 7, 10, 0, 0, 0)),
            Some(utc(2026, 7, 10, 13, 0, 0))
        );
    }

    #[test]
    fn latest_fire_is_inclusive() {
        let c = CronSpec::parse("0 * * * *", "UTC").unwrap();
        assert_eq!(
            c.latest_at_or_before(utc(2026, 1, 1, 5, 0, 0)),
            Some(utc(2026, 1, 1, 5, 0, 0))
        );
        assert_eq!(
            c.latest_at_or_before(utc(2026, 1, 1, 5, 59, 59)),
            Some(utc(2026, 1, 1, 5, 0, 0))
        );
    }
}
