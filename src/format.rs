//! Human-readable sizes, durations and ages, shared by the table output and the console.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_pg_size_pretty() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(8192), "8192 bytes");
        assert_eq!(size(10 * 1024), "10 kB");
        assert_eq!(size(16384 * 1024), "16 MB");
        assert_eq!(size(10 * 1024 * 1024 - 1), "10240 kB");
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
