//! A schedule as one line of text, for the console's form: the words of `mvtop schedule set`
//! without the dashes. `every 15m window 01:00-05:00`, `cron */15 * * * * tz Europe/Paris`,
//! `on-change quiet 2m max-stale 1h concurrently always`, `off` to remove it; `engine pg_cron`
//! hands it to a pg_cron job (`cron 0 3 * * * engine pg_cron`).

use super::policy::{Policy, PolicyInput, Schedule, short};
use crate::pgcron::Engine;
use crate::refresh::Concurrently;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    Remove,
    Set {
        input: PolicyInput,
        concurrently: Concurrently,
        engine: Engine,
    },
}

const KEYWORDS: [&str; 9] = [
    "engine",
    "cron",
    "every",
    "on-change",
    "quiet",
    "max-stale",
    "window",
    "tz",
    "concurrently",
];

/// Parses the line; `PolicyInput::parse` then validates the values.
pub fn parse(text: &str) -> Result<Edit, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return Err("type a schedule: every 15m | cron EXPR | on-change [quiet 2m] | off".into());
    }
    if words.len() == 1 && matches!(words[0], "off" | "none" | "rm") {
        return Ok(Edit::Remove);
    }
    let mut input = PolicyInput::default();
    let mut concurrently = Concurrently::Auto;
    let mut engine = Engine::Mvtop;
    let mut i = 0;
    while i < words.len() {
        let key = words[i].to_lowercase().replace('_', "-");
        i += 1;
        // A value runs to the next keyword (cron expressions have spaces).
        let mut value = Vec::new();
        while i < words.len()
            && !KEYWORDS.contains(&words[i].to_lowercase().replace('_', "-").as_str())
        {
            value.push(words[i]);
            i += 1;
        }
        let value = value.join(" ");
        let need = |v: &str| {
            if v.is_empty() {
                Err(format!("{key} needs a value"))
            } else {
                Ok(v.to_string())
            }
        };
        match key.as_str() {
            "cron" => input.cron = Some(need(&value)?),
            "every" => input.every = Some(need(&value)?),
            "on-change" if value.is_empty() => input.on_change = true,
            "quiet" => input.quiet = Some(need(&value)?),
            "max-stale" => input.max_stale = Some(need(&value)?),
            "window" => input.window = Some(need(&value)?),
            "tz" => input.tz = Some(need(&value)?),
            "concurrently" => {
                concurrently = match value.as_str() {
                    "auto" => Concurrently::Auto,
                    "always" => Concurrently::Always,
                    "never" => Concurrently::Never,
                    other => {
                        return Err(format!("concurrently {other:?}: use auto, always or never"));
                    }
                }
            }
            "engine" => {
                engine = match value.to_lowercase().replace('-', "_").as_str() {
                    "mvtop" => Engine::Mvtop,
                    "pg_cron" => Engine::PgCron,
                    other => return Err(format!("engine {other:?}: use mvtop or pg_cron")),
                }
            }
            other => {
                return Err(format!(
                    "unknown word {other:?}: use every, cron, on-change, quiet, max-stale, \
                     window, tz, concurrently, engine, or off"
                ));
            }
        }
    }
    Ok(Edit::Set {
        input,
        concurrently,
        engine,
    })
}

/// The line that gives `s` back: what the form starts from.
pub fn to_text(s: &Schedule) -> String {
    let mut out = match &s.policy {
        Policy::Cron(c) => format!("cron {} tz {}", c.expr, c.tz),
        Policy::Every(d) => format!("every {}", short(*d)),
        Policy::OnChange { quiet, max_stale } => {
            format!(
                "on-change quiet {} max-stale {}",
                short(*quiet),
                short(*max_stale)
            )
        }
    };
    if let Some(w) = s.window {
        out.push_str(&format!(" window {}", w.describe()));
        if !matches!(s.policy, Policy::Cron(_)) {
            out.push_str(&format!(" tz {}", w.tz));
        }
    }
    match s.concurrently {
        Concurrently::Auto => {}
        Concurrently::Always => out.push_str(" concurrently always"),
        Concurrently::Never => out.push_str(" concurrently never"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> (PolicyInput, Concurrently) {
        match parse(text).unwrap() {
            Edit::Set {
                input,
                concurrently,
                ..
            } => (input, concurrently),
            Edit::Remove => panic!("remove"),
        }
    }

    #[test]
    fn words_of_the_command_line() {
        let (i, c) = set("cron */15 * * * * tz Europe/Paris window 01:00-05:00 concurrently never");
        assert_eq!(i.cron.as_deref(), Some("*/15 * * * *"));
        assert_eq!(i.tz.as_deref(), Some("Europe/Paris"));
        assert_eq!(i.window.as_deref(), Some("01:00-05:00"));
        assert_eq!(c, Concurrently::Never);
        let (i, _) = set("on-change quiet 30s max_stale 10m");
        assert!(i.on_change);
        assert_eq!(
            (i.quiet.as_deref(), i.max_stale.as_deref()),
            (Some("30s"), Some("10m"))
        );
        assert_eq!(parse("off"), Ok(Edit::Remove));
        assert!(matches!(
            parse("cron 0 3 * * * engine pg_cron"),
            Ok(Edit::Set { engine: Engine::PgCron, input, .. }) if input.cron.as_deref() == Some("0 3 * * *")
        ));
        assert!(
            parse("every 5m engine cronie")
                .unwrap_err()
                .contains("mvtop or pg_cron")
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse("").unwrap_err().contains("type a schedule"));
        assert!(parse("every").unwrap_err().contains("every needs a value"));
        assert!(parse("hourly").unwrap_err().contains("\"hourly\""));
        assert!(
            parse("every 5m concurrently maybe")
                .unwrap_err()
                .contains("maybe")
        );
    }

    #[test]
    fn a_schedule_round_trips() {
        for text in [
            "every 15m",
            "cron 0 3 * * * tz Europe/Paris window 01:00-05:00",
            "on-change quiet 2m max-stale 1h concurrently always",
            "every 1h window 22:00-04:00 tz UTC",
        ] {
            let (input, concurrently) = set(text);
            let (policy, window) = input.parse("UTC").unwrap();
            let s = Schedule {
                mv_schema: "s".into(),
                mv_name: "n".into(),
                policy,
                window,
                concurrently,
                from_naming: false,
                created_at: chrono::Utc::now(),
                last_due: None,
                base_writes: None,
            };
            assert_eq!(to_text(&s), text);
        }
    }
}
