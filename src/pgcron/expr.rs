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

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

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

const MIN_STAR: u8 = 0x08;
const HR_STAR: u8 = 0x10;
const DOM_STAR: u8 = 0x01;
const DOW_STAR: u8 = 0x02;
const DOM_LAST: u8 = 0x20;

/// The five fields as bit sets (bit i: minute i, hour i, day i+1, month i+1, weekday i with
/// 0 and 7 both Sunday), with the flags `ShouldRunTask` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    flags: u8,
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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const EOF: i32 = -1;

/// pg_cron's in-memory `FILE`: one NUL after the text, then EOF.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    unget: Option<i32>,
    /// Text inside a field that pg_cron skips without a word (`1#2` reads as `1`).
    ignored: Vec<String>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Reader<'a> {
        Reader {
            data: text.as_bytes(),
            pos: 0,
            unget: None,
            ignored: Vec::new(),
        }
    }

    fn next(&mut self) -> i32 {
        if let Some(c) = self.unget.take() {
            return c;
        }
        let c = match self.pos.cmp(&self.data.len()) {
            std::cmp::Ordering::Less => i32::from(self.data[self.pos]),
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => return EOF,
        };
        self.pos += 1;
        c
    }

    /// The text from the character `ch` just read (if any) on.
    fn rest_from(&self, ch: i32) -> &str {
        let from = if ch > 0 { self.pos - 1 } else { self.pos };
        let from = from.min(self.data.len());
        std::str::from_utf8(&self.data[from..]).unwrap_or("")
    }

    /// Blank lines and `#` lines before the schedule are skipped, as in a crontab.
    fn skip_comments(&mut self) {
        let mut ch;
        loop {
            ch = self.next();
            if ch == EOF {
                break;
            }
            while ch == b' ' as i32 || ch == b'\t' as i32 {
                ch = self.next();
            }
            if ch == EOF {
                break;
            }
            if ch != b'\n' as i32 && ch != b'#' as i32 {
                break;
            }
            while ch != b'\n' as i32 && ch != EOF {
                ch = self.next();
            }
        }
        if ch != EOF {
            self.unget = Some(ch);
        }
    }

    fn skip_blanks(&mut self, mut ch: i32) -> i32 {
        while ch == b' ' as i32 || ch == b'\t' as i32 {
            ch = self.next();
        }
        ch
    }

    fn skip_nonblanks(&mut self, mut ch: i32) -> i32 {
        while ch != b'\t' as i32 && ch != b' ' as i32 && ch != b'\n' as i32 && ch != EOF && ch != 0
        {
            ch = self.next();
        }
        ch
    }
}

fn get_list(
    r: &mut Reader,
    mut ch: i32,
    bits: &mut u64,
    low: i64,
    high: i64,
    names: Option<&[&str]>,
) -> i32 {
    *bits = 0;
    loop {
        ch = get_range(r, ch, bits, low, high, names);
        if ch == b',' as i32 {
            ch = r.next();
        } else {
            break;
        }
    }
    if ch == EOF {
        return EOF;
    }
    let from = if ch > 0 { r.pos - 1 } else { r.pos };
    let ch = r.skip_nonblanks(ch);
    let to = if ch > 0 { r.pos - 1 } else { r.pos };
    if to > from {
        let skipped = String::from_utf8_lossy(&r.data[from..to.min(r.data.len())]).into_owned();
        r.ignored.push(skipped);
    }
    r.skip_blanks(ch)
}

fn get_range(
    r: &mut Reader,
    mut ch: i32,
    bits: &mut u64,
    low: i64,
    high: i64,
    names: Option<&[&str]>,
) -> i32 {
    let (num1, num2);
    if ch == b'*' as i32 {
        (num1, num2) = (low, high);
        ch = r.next();
        if ch == EOF {
            return EOF;
        }
    } else {
        let Some((n, c)) = get_number(r, ch, low, names) else {
            return EOF;
        };
        num1 = n;
        ch = c;
        if ch != b'-' as i32 {
            if ch == b'/' as i32 || n < low || n > high {
                return EOF;
            }
            *bits |= 1 << (n - low);
            return ch;
        }
        ch = r.next();
        if ch == EOF {
            return EOF;
        }
        let Some((n, c)) = get_number(r, ch, low, names) else {
            return EOF;
        };
        num2 = n;
        ch = c;
    }
    let step = if ch == b'/' as i32 {
        ch = r.next();
        if ch == EOF {
            return EOF;
        }
        match get_number(r, ch, 0, None) {
            Some((n, c)) if n > 0 => {
                ch = c;
                n
            }
            _ => return EOF,
        }
    } else {
        1
    };
    if num1 < low || num1 > high || num2 < low || num2 > high {
        return EOF;
    }
    let mut i = num1;
    while i <= num2 {
        *bits |= 1 << (i - low);
        i = i.saturating_add(step);
    }
    ch
}

/// Alphanumerics as a name (case-insensitive) or digits; None where pg_cron returns EOF.
fn get_number(r: &mut Reader, mut ch: i32, low: i64, names: Option<&[&str]>) -> Option<(i64, i32)> {
    let mut word = String::new();
    while ch > 0 && (ch as u8).is_ascii_alphanumeric() {
        if word.len() + 1 >= 1000 {
            return None;
        }
        word.push(ch as u8 as char);
        ch = r.next();
    }
    if word.is_empty() {
        return None;
    }
    if let Some(names) = names
        && let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(&word))
    {
        return Some((i as i64 + low, ch));
    }
    if word.bytes().all(|b| b.is_ascii_digit()) {
        // atoi: out-of-range values fail the range check that follows.
        return Some((word.parse().unwrap_or(i64::MAX), ch));
    }
    None
}

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
