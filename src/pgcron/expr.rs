//! pg_cron's schedule syntax and the next run it gives, as pg_cron itself reads them.
//!
//! A port of `parse_cron_entry` (pg_cron's `src/entry.c`, Vixie cron's parser cut down to the
//! five time fields) and of `ShouldRunTask` (`src/pg_cron.c`), quirks included, so that what
//! mvtop shows is what pg_cron will do: trailing text after a field or after the fifth field
//! is ignored (as pg_cron ignores it), `1/5` is refused while `*/5` is accepted, `5-3` is
//! accepted and never fires. What differs between releases is taken from the [`Features`] of
//! the library the server loaded: `N seconds` (1.5+), `$` for the last day of the month (1.6+),
//! `@yearly` setting no month from 1.6.0 on (it never fires there), the time zone
//! (`cron.timezone` from 1.5, GMT before), day-of-month AND day-of-week
//! (`cron.match_dom_and_dow`, after 1.6.7). Not accepted, as by pg_cron: six fields of
//! Quartz, `L`, `W`, `#`, `?`, `@every`, per-job zones.

use chrono_tz::Tz;

use super::entry::{DAYS, EOF, MONTHS, Reader, get_list};
pub use super::next_run::NextRun;

/// What the pg_cron library the server runs can do (not the extension's SQL version: the
/// two may differ after an upgrade of the package without `ALTER EXTENSION ... UPDATE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// `'N seconds'` schedules (1.5+).
    pub seconds: bool,
    /// `$` as day of month (1.6+).
    pub last_day_of_month: bool,
    /// From 1.6.0 `@yearly`/`@annually` set no month bit and never fire.
    pub yearly_never_fires: bool,
    /// `cron.match_dom_and_dow = on` (newer than 1.6.7): day of month AND day of week.
    pub dom_and_dow: bool,
    /// The zone schedules are read in: `cron.timezone` (1.5+), else GMT.
    pub timezone: Tz,
}

impl Features {
    /// pg_cron 1.4 (Debian 12's 1.4.2): five fields and specials, always GMT.
    pub fn v1_4() -> Features {
        Features {
            seconds: false,
            last_day_of_month: false,
            yearly_never_fires: false,
            dom_and_dow: false,
            timezone: Tz::GMT,
        }
    }

    /// 1.6.x with `cron.timezone` = `tz`.
    pub fn v1_6(tz: Tz) -> Features {
        Features {
            seconds: true,
            last_day_of_month: true,
            yearly_never_fires: true,
            dom_and_dow: false,
            timezone: tz,
        }
    }
}

pub(super) const MIN_STAR: u8 = 0x08;
pub(super) const HR_STAR: u8 = 0x10;
pub(super) const DOM_STAR: u8 = 0x01;
pub(super) const DOW_STAR: u8 = 0x02;
pub(super) const DOM_LAST: u8 = 0x20;

/// The five fields as bit sets (bit i: minute i, hour i, day i+1, month i+1, weekday i with
/// 0 and 7 both Sunday), with the flags `ShouldRunTask` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    pub(super) minute: u64,
    pub(super) hour: u64,
    pub(super) dom: u64,
    pub(super) month: u64,
    pub(super) dow: u64,
    pub(super) flags: u8,
}

/// A schedule as pg_cron runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CronSchedule {
    Fields(Fields),
    /// `N seconds`: N seconds after the previous run started (at most one run queued).
    Seconds(u32),
    /// `@reboot` / `@restart`: when the scheduler starts.
    Reboot,
}

/// A schedule and the one line saying what pg_cron ignores of it, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub schedule: CronSchedule,
    pub note: Option<String>,
}

/// Longest schedule pg_cron takes (`MAX_FILE_BUFFER_LENGTH`).
const MAX_LENGTH: usize = 1000;

/// Reads `text` as pg_cron with `features` would; an error is one line naming the problem.
pub fn parse(text: &str, features: &Features) -> Result<Parsed, String> {
    let invalid = |why: &str| Err(format!("invalid pg_cron schedule {text:?}: {why}"));
    if text.len() >= MAX_LENGTH {
        return invalid("longer than 999 bytes");
    }
    if let Some(n) = seconds_interval(text) {
        if !features.seconds {
            return invalid(
                "'N seconds' schedules need pg_cron 1.5 or later (this server's pg_cron reads 5 fields)",
            );
        }
        return match n {
            1..=59 => Ok(Parsed {
                schedule: CronSchedule::Seconds(n),
                note: None,
            }),
            _ => invalid("seconds must be 1 to 59"),
        };
    }
    let mut r = Reader::new(text);
    r.skip_comments();
    let mut ch = r.next();
    if ch == EOF {
        return invalid("empty");
    }
    let mut f = Fields {
        minute: 0,
        hour: 0,
        dom: 0,
        month: 0,
        dow: 0,
        flags: 0,
    };
    let all = |n: u32| (1u64 << n) - 1;
    if ch == b'@' as i32 {
        let mut word = String::new();
        loop {
            ch = r.next();
            if ch == EOF || ch == 0 || ch == b' ' as i32 || ch == b'\t' as i32 || ch == b'\n' as i32
            {
                break;
            }
            word.push(ch as u8 as char);
        }
        match word.as_str() {
            "reboot" | "restart" => {
                return Ok(Parsed {
                    schedule: CronSchedule::Reboot,
                    note: trailing(&r, ch),
                });
            }
            "yearly" | "annually" => {
                (f.minute, f.hour, f.dom, f.dow) = (1, 1, 1, all(8));
                f.month = if features.yearly_never_fires { 0 } else { 1 };
                f.flags = DOW_STAR;
            }
            "monthly" => {
                (f.minute, f.hour, f.dom, f.month, f.dow) = (1, 1, 1, all(12), all(8));
                f.flags = DOW_STAR;
            }
            "weekly" => {
                (f.minute, f.hour, f.dom, f.month, f.dow) = (1, 1, all(31), all(12), 1);
                f.flags = DOW_STAR;
            }
            "daily" | "midnight" => {
                (f.minute, f.hour, f.dom, f.month, f.dow) = (1, 1, all(31), all(12), all(8));
            }
            "hourly" => {
                (f.minute, f.hour, f.dom, f.month, f.dow) = (1, all(24), all(31), all(12), all(8));
                f.flags = HR_STAR;
            }
            _ => {
                return invalid(
                    "unknown @ word (pg_cron knows @reboot, @yearly, @annually, @monthly, \
                     @weekly, @daily, @midnight, @hourly, in lower case)",
                );
            }
        }
    } else {
        let field = |r: &mut Reader, ch: i32, bits: &mut u64, low, high, names, what: &str| {
            let ch = get_list(r, ch, bits, low, high, names);
            if ch == EOF {
                Err(format!(
                    "invalid pg_cron schedule {text:?}: bad {what} field (pg_cron reads 5 fields: \
                     minute hour day-of-month month day-of-week, with lists, ranges and */steps)"
                ))
            } else {
                Ok(ch)
            }
        };
        if ch == b'*' as i32 {
            f.flags |= MIN_STAR;
        }
        ch = field(&mut r, ch, &mut f.minute, 0, 59, None, "minute")?;
        if ch == b'*' as i32 {
            f.flags |= HR_STAR;
        }
        ch = field(&mut r, ch, &mut f.hour, 0, 23, None, "hour")?;
        if ch == b'$' as i32 && features.last_day_of_month {
            ch = r.next();
            if ch != b' ' as i32 && ch != b'\t' as i32 {
                return invalid("$ must be the whole day-of-month field");
            }
            ch = r.skip_blanks(ch);
            f.flags |= DOM_LAST;
        } else {
            if ch == b'$' as i32 {
                return invalid("$ (last day of month) needs pg_cron 1.6 or later");
            }
            if ch == b'*' as i32 {
                f.flags |= DOM_STAR;
            }
            ch = field(&mut r, ch, &mut f.dom, 1, 31, None, "day-of-month")?;
        }
        ch = field(&mut r, ch, &mut f.month, 1, 12, Some(&MONTHS), "month")?;
        if ch == b'*' as i32 {
            f.flags |= DOW_STAR;
        }
        ch = field(&mut r, ch, &mut f.dow, 0, 7, Some(&DAYS), "day-of-week")?;
    }
    if f.dow & 0b1000_0001 != 0 {
        f.dow |= 0b1000_0001;
    }
    let note = trailing(&r, ch);
    Ok(Parsed {
        schedule: CronSchedule::Fields(f),
        note,
    })
}

/// What pg_cron leaves unread (a sixth field, `#2` after a weekday): said, not hidden.
fn trailing(r: &Reader, ch: i32) -> Option<String> {
    let rest = r
        .rest_from(ch)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let mut notes: Vec<String> = r
        .ignored
        .iter()
        .map(|s| format!("pg_cron ignores {s:?} in a field"))
        .collect();
    if !rest.is_empty() {
        notes.push(format!(
            "pg_cron ignores {rest:?} after the schedule's fields"
        ));
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

/// `TryParseInterval`: `sscanf(lower, " %u secon%c%c %c")` — "N second" or "N seconds".
fn seconds_interval(text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    let s = lower.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let n: u64 = s[..digits].parse().unwrap_or(u64::MAX);
    let rest = s[digits..].trim_start();
    let rest = rest.strip_prefix("secon")?;
    let mut chars = rest.chars();
    if chars.next() != Some('d') {
        return None;
    }
    // " %u secon%c%c %c": after the 'd' either nothing, or one character that must be 's'
    // and then nothing but blanks ("1 second " is refused, "1 seconds " is not).
    let after = chars.as_str();
    let ok = match after.chars().next() {
        None => true,
        Some(c) => c == 's' && after[c.len_utf8()..].trim_start().is_empty(),
    };
    // %u wraps like C: anything out of 1..=59 is refused by pg_cron all the same.
    ok.then_some(n.min(u64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, TimeZone, Utc};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn fields(text: &str, f: &Features) -> CronSchedule {
        parse(text, f).unwrap_or_else(|e| panic!("{e}")).schedule
    }

    fn next(text: &str, now: DateTime<Utc>, f: &Features) -> NextRun {
        fields(text, f).next_run(now, None, f)
    }

    #[test]
    fn what_pg_cron_accepts_and_refuses() {
        let v14 = Features::v1_4();
        for ok in [
            "* * * * *",
            "*/5 * * * *",
            "1-10/2 0,12 * Jan-Mar Mon-Fri",
            "0 3 * * 7",
            "@hourly",
            "@daily",
            "@reboot",
            "  0 3 * * *",
            "# a comment line\n0 3 * * *",
            "5-3 * * * *",
            "*x * * * *",
        ] {
            assert!(parse(ok, &v14).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "1/5 * * * *",
            "*/0 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 L * *",
            "0 0 ? * *",
            "@every 5m",
            "@Hourly",
            "0 0 * January *",
            "30 seconds",
            "0 12 $ * *",
        ] {
            let e = parse(bad, &v14).unwrap_err();
            assert!(e.starts_with("invalid pg_cron schedule"), "{bad}: {e}");
        }
        let e = parse("30 seconds", &v14).unwrap_err();
        assert!(e.contains("1.5"), "{e}");
        let e = parse("0 12 $ * *", &v14).unwrap_err();
        assert!(e.contains("1.6"), "{e}");
    }

    #[test]
    fn a_sixth_field_is_ignored_and_said() {
        let p = parse("0,10,20 * * * * *", &Features::v1_4()).unwrap();
        assert_eq!(
            p.note.as_deref(),
            Some("pg_cron ignores \"*\" after the schedule's fields")
        );
        assert_eq!(
            p.schedule
                .next_run(utc(2026, 1, 1, 0, 5), None, &Features::v1_4()),
            NextRun::At(utc(2026, 1, 1, 0, 10))
        );
    }

    #[test]
    fn text_pg_cron_skips_inside_a_field_is_said() {
        let p = parse("0 0 * * 1#2", &Features::v1_4()).unwrap();
        assert_eq!(p.note.as_deref(), Some("pg_cron ignores \"#2\" in a field"));
        let p = parse("*/5x * * * *", &Features::v1_4());
        assert!(p.is_err(), "alphanumerics are read as a number: {p:?}");
    }

    #[test]
    fn seconds_and_last_day_from_1_5_and_1_6() {
        let v16 = Features::v1_6(Tz::GMT);
        assert_eq!(fields("30 seconds", &v16), CronSchedule::Seconds(30));
        assert_eq!(fields(" 1 SECOND", &v16), CronSchedule::Seconds(1));
        assert_eq!(fields("5seconds  ", &v16), CronSchedule::Seconds(5));
        assert!(
            parse("1 second ", &v16).is_err(),
            "sscanf reads the blank as the plural"
        );
        assert!(parse("60 seconds", &v16).is_err());
        assert!(parse("0 seconds", &v16).is_err());
        assert!(parse("5 seconds 1 minute", &v16).is_err());
        let s = fields("10 seconds", &v16);
        let now = utc(2026, 1, 1, 0, 0);
        assert_eq!(
            s.next_run(now, Some(now - Duration::seconds(4)), &v16),
            NextRun::At(now + Duration::seconds(6))
        );
        assert_eq!(
            s.next_run(now, None, &v16),
            NextRun::Within(Duration::seconds(10))
        );
        // $: the last day of the month, leap years included.
        assert_eq!(
            next("0 12 $ * *", utc(2028, 2, 1, 0, 0), &v16),
            NextRun::At(utc(2028, 2, 29, 12, 0))
        );
        assert!(parse("0 12 $x * *", &v16).is_err());
        assert!(parse("0 12 1,$ * *", &v16).is_err());
    }
}
