//! Human-readable sizes, durations, ages and rounded figures, shared by the table output and
//! the console (which imports no `cli` code).

use chrono::{DateTime, Utc};

/// pg_size_pretty's style: `8192 bytes`, `16 kB`, `1234 MB` (a unit changes at 10× its size).
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    if value.abs() < 10.0 * 1024.0 {
        return format!("{bytes} bytes");
    }
    for (i, unit) in UNITS.iter().enumerate() {
        value /= 1024.0;
        if value.abs() < 10.0 * 1024.0 || i == UNITS.len() - 1 {
            return format!("{} {unit}", value.round() as i64);
        }
    }
    unreachable!("the loop returns at the last unit")
}

/// As `size`, in at most 7 columns (the views table's): `8 kB` for `8192 bytes`, `10 MB` for
/// `10239 kB`: the next unit up where pg_size_pretty's text is longer.
pub fn size_short(bytes: i64) -> String {
    const WIDTH: usize = 7;
    let pretty = size(bytes);
    if pretty.len() <= WIDTH {
        return pretty;
    }
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    for unit in UNITS {
        value /= 1024.0;
        let text = format!("{} {unit}", value.round() as i64);
        if text.len() <= WIDTH {
            return text;
        }
    }
    pretty
}

/// `text` in at most `width` terminal columns: cut ones end in `…`, so a cut name never
/// passes for a whole one.
pub fn ellipsize(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    std::borrow::Cow::Owned(out)
}

/// `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub fn duration_ms(ms: f64) -> String {
    if ms < 1000.0 {
        return format!("{} ms", ms.round() as i64);
    }
    let secs = ms / 1000.0;
    if secs < 60.0 {
        return format!("{secs:.1} s");
    }
    let total = secs.round() as i64;
    if total < 3600 {
        return format!("{} min {:02} s", total / 60, total % 60);
    }
    format!("{} h {:02} min", total / 3600, (total % 3600) / 60)
}

/// Milliseconds to one decimal: what the inventory keeps of a refresh's duration.
pub fn round1(ms: f64) -> f64 {
    (ms * 10.0).round() / 10.0
}

/// `0.42 ms`, `12.3 ms`, `2.6 s`: benchmark figures need more precision than ages.
pub fn precise_ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2} ms")
    } else if value < 1000.0 {
        format!("{value:.1} ms")
    } else {
        duration_ms(value)
    }
}

/// `just now`, `42s ago`, `3m ago`, `5h ago`, `12d ago`.
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 1 => "just now".into(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

/// `1234567` -> `1234567` below a million, then `1.2M`, `3.4G`: estimates need no more digits.
pub fn count(n: i64) -> String {
    match n {
        n if n.abs() < 1_000_000 => n.to_string(),
        n if n.abs() < 1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n => format!("{:.1}G", n as f64 / 1e9),
    }
}

/// `500ms`, `30s`, `15m`, `2h`, `7d`, and sums like `1h30m`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("invalid duration {text:?}: use e.g. 500ms, 30s, 15m, 2h, 7d or 1h30m");
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total_ms: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let number: u128 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit_ms: u128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" | "sec" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total_ms = number
            .checked_mul(unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(bad)?;
    }
    u64::try_from(total_ms)
        .map(std::time::Duration::from_millis)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_the_cli_documents() {
        use std::time::Duration;
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["", "m", "5x", "-1s", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_follow_pg_size_pretty() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(8192), "8192 bytes");
        assert_eq!(size(10 * 1024), "10 kB");
        assert_eq!(size(16384 * 1024), "16 MB");
        assert_eq!(size(10 * 1024 * 1024 - 1), "10240 kB");
    }

    #[test]
    fn short_sizes_fit_seven_columns() {
        assert_eq!(size_short(0), "0 bytes");
        assert_eq!(size_short(8192), "8 kB");
        assert_eq!(size_short(10 * 1024), "10 kB");
        assert_eq!(size_short(10 * 1024 * 1024 - 1), "10 MB");
        assert_eq!(size_short(54 * 1024 * 1024), "54 MB");
        for b in [1, 999, 1000, 9999, 10_485_759, 5 << 40, i64::MAX] {
            assert!(size_short(b).len() <= 7, "{b}: {}", size_short(b));
        }
    }

    #[test]
    fn cut_text_ends_in_an_ellipsis_within_its_width() {
        assert_eq!(ellipsize("reporting.x", 20), "reporting.x");
        assert_eq!(
            ellipsize("\"Reporting\".\"Sales by Region\"", 20),
            "\"Reporting\".\"Sales …"
        );
        // Wide characters count two columns.
        assert_eq!(ellipsize("売上レポート", 7), "売上レ…");
        assert_eq!(ellipsize("abc", 0), "");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration_ms(850.4), "850 ms");
        assert_eq!(duration_ms(12_345.0), "12.3 s");
        assert_eq!(duration_ms(245_000.0), "4 min 05 s");
        assert_eq!(duration_ms(7_380_000.0), "2 h 03 min");
    }

    #[test]
    fn ages_are_short() {
        let now = Utc::now();
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(now - chrono::Duration::seconds(190), now), "3m ago");
        assert_eq!(age(now - chrono::Duration::hours(50), now), "2d ago");
    }

    #[test]
    fn counts_abbreviate_large_numbers() {
        assert_eq!(count(999_999), "999999");
        assert_eq!(count(1_250_000), "1.2M");
    }
}
