//! When pg_cron next starts a job: `ShouldRunTask` (`src/pg_cron.c`) for each minute, read
//! in `cron.timezone`, searched forward from now.

use super::expr::{CronSchedule, DOM_LAST, DOM_STAR, DOW_STAR, Features, Fields};
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

/// When pg_cron would next start the job, strictly after `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextRun {
    At(DateTime<Utc>),
    /// `N seconds` with no run seen yet: it starts within N seconds of the scheduler seeing it.
    Within(Duration),
    /// `@reboot`: only when the scheduler starts.
    AtSchedulerStart,
    /// The fields match no minute (`5-3 * * * *`, `0 0 31 2 *`, 1.6's `@yearly`).
    Never,
}

impl CronSchedule {
    /// The next start after `now`; `last_start` is the latest run's start (for `N seconds`).
    pub fn next_run(
        &self,
        now: DateTime<Utc>,
        last_start: Option<DateTime<Utc>>,
        features: &Features,
    ) -> NextRun {
        match self {
            CronSchedule::Reboot => NextRun::AtSchedulerStart,
            CronSchedule::Seconds(n) => {
                let every = Duration::seconds(i64::from(*n));
                match last_start {
                    Some(s) if s + every > now => NextRun::At(s + every),
                    _ => NextRun::Within(every),
                }
            }
            CronSchedule::Fields(f) => f.next_after(now, features),
        }
    }
}

impl Fields {
    /// `ShouldRunTask` for the minute starting at `t`, read in `cron.timezone`.
    pub fn matches(&self, t: DateTime<Utc>, features: &Features) -> bool {
        let local = t.with_timezone(&features.timezone);
        self.minute & (1 << local.minute()) != 0
            && self.hour & (1 << local.hour()) != 0
            && self.day_matches(t, features)
    }

    /// The month, day-of-month and day-of-week part of `ShouldRunTask`.
    fn day_matches(&self, t: DateTime<Utc>, features: &Features) -> bool {
        let local = t.with_timezone(&features.timezone);
        let tomorrow = (t + Duration::days(1)).with_timezone(&features.timezone);
        let dom_bit = self.dom & (1 << (local.day() - 1)) != 0;
        let this_dom = dom_bit || (tomorrow.day() == 1 && self.flags & DOM_LAST != 0);
        let this_dow = self.dow & (1 << local.weekday().num_days_from_sunday()) != 0;
        let day = if features.dom_and_dow || self.flags & (DOM_STAR | DOW_STAR) != 0 {
            this_dom && this_dow
        } else {
            this_dom || this_dow
        };
        self.month & (1 << local.month0()) != 0 && day
    }

    /// The first minute after `now` that matches, searched minute by minute but skipping
    /// whole hours and days that cannot match while the zone's offset stays the same (so
    /// local time advances exactly as real time does over the skip). Up to 8 years ahead:
    /// `0 0 29 2 *` fires once in 4, and some leap days are 8 years apart.
    fn next_after(&self, now: DateTime<Utc>, features: &Features) -> NextRun {
        let tz = features.timezone;
        let offset = |t: DateTime<Utc>| {
            use chrono::Offset;
            tz.offset_from_utc_datetime(&t.naive_utc()).fix()
        };
        let mut t = match Utc.timestamp_opt(now.timestamp() - now.timestamp().rem_euclid(60), 0) {
            chrono::LocalResult::Single(t) => t + Duration::minutes(1),
            _ => return NextRun::Never,
        };
        let limit = now + Duration::days(366 * 8 + 2);
        while t <= limit {
            if self.matches(t, features) {
                return NextRun::At(t);
            }
            let local = t.with_timezone(&tz);
            let jump = if !self.day_matches(t, features) {
                24 * 60 - i64::from(local.hour() * 60 + local.minute())
            } else if self.hour & (1 << local.hour()) == 0 {
                60 - i64::from(local.minute())
            } else {
                1
            };
            let target = t + Duration::minutes(jump);
            t = if offset(target) == offset(t) {
                target
            } else {
                t + Duration::minutes(1)
            };
        }
        NextRun::Never
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgcron::expr::{Parsed, parse};
    use chrono_tz::Tz;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn next(text: &str, now: DateTime<Utc>, f: &Features) -> NextRun {
        parse(text, f)
            .unwrap_or_else(|e| panic!("{e}"))
            .schedule
            .next_run(now, None, f)
    }

    #[test]
    fn next_runs_in_gmt_and_in_the_cron_zone() {
        let v14 = Features::v1_4();
        assert_eq!(
            next("*/15 * * * *", utc(2026, 3, 1, 10, 7), &v14),
            NextRun::At(utc(2026, 3, 1, 10, 15))
        );
        assert_eq!(
            next("* * * * *", utc(2026, 3, 1, 10, 7), &v14),
            NextRun::At(utc(2026, 3, 1, 10, 8))
        );
        // 1.4 reads every schedule in GMT, whatever the server's TimeZone.
        assert_eq!(
            next("0 3 * * *", utc(2026, 7, 1, 4, 0), &v14),
            NextRun::At(utc(2026, 7, 2, 3, 0))
        );
        let paris = Features::v1_6("Europe/Paris".parse().unwrap());
        // 03:00 in Paris is 01:00Z in summer.
        assert_eq!(
            next("0 3 * * *", utc(2026, 7, 1, 4, 0), &paris),
            NextRun::At(utc(2026, 7, 2, 1, 0))
        );
        // Spring forward: 02:30 does not exist on 2026-03-29 in Paris, no minute matches.
        assert_eq!(
            next("30 2 * * *", utc(2026, 3, 28, 12, 0), &paris),
            NextRun::At(utc(2026, 3, 30, 0, 30))
        );
        // Fall back: 02:30 happens twice on 2026-10-25; pg_cron matches both minutes.
        let first = utc(2026, 10, 25, 0, 30);
        assert_eq!(
            next("30 2 * * *", utc(2026, 10, 24, 12, 0), &paris),
            NextRun::At(first)
        );
        assert_eq!(
            next("30 2 * * *", first, &paris),
            NextRun::At(utc(2026, 10, 25, 1, 30))
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_as_vixie() {
        let v14 = Features::v1_4();
        // 2026-03-02 is a Monday: both fields restricted means either one.
        assert_eq!(
            next("0 0 15 * 1", utc(2026, 3, 1, 0, 0), &v14),
            NextRun::At(utc(2026, 3, 2, 0, 0))
        );
        // A star in one of them means both (the star matches every day).
        assert_eq!(
            next("0 0 */2 * 1", utc(2026, 3, 1, 0, 0), &v14),
            NextRun::At(utc(2026, 3, 9, 0, 0))
        );
        let and = Features {
            dom_and_dow: true,
            ..Features::v1_4()
        };
        // 2026-06-15 is a Monday.
        assert_eq!(
            next("0 0 15 * 1", utc(2026, 3, 1, 0, 0), &and),
            NextRun::At(utc(2026, 6, 15, 0, 0))
        );
        assert_eq!(
            next("0 0 * * Sun", utc(2026, 3, 2, 0, 0), &v14),
            next("0 0 * * 7", utc(2026, 3, 2, 0, 0), &v14)
        );
    }

    #[test]
    fn specials_and_schedules_that_never_fire() {
        let v14 = Features::v1_4();
        assert_eq!(
            next("@weekly", utc(2026, 3, 3, 0, 0), &v14),
            NextRun::At(utc(2026, 3, 8, 0, 0))
        );
        assert_eq!(
            next("@monthly", utc(2026, 3, 3, 0, 0), &v14),
            NextRun::At(utc(2026, 4, 1, 0, 0))
        );
        assert_eq!(
            next("@yearly", utc(2026, 3, 3, 0, 0), &v14),
            NextRun::At(utc(2027, 1, 1, 0, 0))
        );
        assert_eq!(
            next("@yearly", utc(2026, 3, 3, 0, 0), &Features::v1_6(Tz::GMT)),
            NextRun::Never
        );
        assert_eq!(
            next("5-3 * * * *", utc(2026, 3, 3, 0, 0), &v14),
            NextRun::Never
        );
        assert_eq!(
            next("0 0 31 2 *", utc(2026, 3, 3, 0, 0), &v14),
            NextRun::Never
        );
        assert_eq!(
            next("0 0 29 2 *", utc(2026, 3, 3, 0, 0), &v14),
            NextRun::At(utc(2028, 2, 29, 0, 0))
        );
        assert_eq!(
            next("@reboot", utc(2026, 3, 3, 0, 0), &v14),
            NextRun::AtSchedulerStart
        );
    }

    #[test]
    fn next_run_agrees_with_a_minute_by_minute_search() {
        let zones = [
            Tz::GMT,
            "Europe/Paris".parse().unwrap(),
            "Australia/Lord_Howe".parse().unwrap(),
        ];
        let exprs = [
            "17 */3 * * *",
            "0 2 * * 0",
            "30 1-3 * Mar,Oct *",
            "0 0 1,15 * 5",
            "45 23 $ * *",
        ];
        for tz in zones {
            let f = Features::v1_6(tz);
            for e in exprs {
                let Ok(Parsed {
                    schedule: CronSchedule::Fields(fields),
                    ..
                }) = parse(e, &f)
                else {
                    panic!("{e}");
                };
                let mut now = utc(2026, 3, 20, 0, 0);
                for _ in 0..6 {
                    let got = fields.next_after(now, &f);
                    let mut t = now + Duration::minutes(1);
                    while !fields.matches(t, &f) {
                        t += Duration::minutes(1);
                    }
                    assert_eq!(got, NextRun::At(t), "{e} in {tz} after {now}");
                    now = t;
                }
            }
        }
    }
}
