//! `config.toml` in the XDG config directory (`$XDG_CONFIG_HOME/mvtop`, else
//! `~/.config/mvtop`). Missing is fine; malformed (bad TOML, an unknown table or action, a
//! value of the wrong type, a key that does not parse or is bound twice) is a one-line error
//! naming the line and column.
//!
//! ```toml
//! mouse = false          # the terminal keeps the mouse (as `--no-mouse`); before any table
//!
//! [keys]
//! refresh = ["r", "F5"]
//! quit = "Q"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::tui::keymap::Keymap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Capture the mouse in the console (default true).
    #[serde(default)]
    pub mouse: Option<bool>,
    /// Action name -> keys, each with where it is in the file.
    #[serde(default)]
    pub keys: BTreeMap<String, Spanned<Keys>>,
    /// The file's text, to turn spans into line numbers.
    #[serde(skip)]
    source: String,
    /// Where it was read from, to name it in errors.
    #[serde(skip)]
    path: Option<PathBuf>,
}

/// One key or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Keys {
    One(String),
    Many(Vec<String>),
}

impl Config {
    pub fn path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("mvtop").join("config.toml"))
    }

    /// The config file, or the defaults when there is none.
    pub fn load() -> Result<Config, String> {
        let Some(path) = Config::path() else {
            return Ok(Config::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut config =
                    Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                config.path = Some(path);
                Ok(config)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        match toml::from_str::<Config>(text) {
            Ok(mut config) => {
                config.source = text.to_string();
                Ok(config)
            }
            Err(e) => {
                let message = e.message().trim().replace('\n', " ");
                // serde's words for an untagged enum say nothing to a user.
                let message = if message.contains("untagged enum Keys") {
                    "a binding is a key or a list of keys, e.g. refresh = [\"r\", \"F5\"]"
                        .to_string()
                } else {
                    message
                };
                Err(match e.span() {
                    Some(span) => format!("{}: {message}", at(text, span.start)),
                    None => message,
                })
            }
        }
    }

    /// Whether the console captures the mouse: yes unless the file says `mouse = false`.
    pub fn mouse(&self) -> bool {
        self.mouse.unwrap_or(true)
    }

    pub fn keymap(&self) -> Result<Keymap, String> {
        let overrides: BTreeMap<String, Vec<String>> = self
            .keys
            .iter()
            .map(|(action, keys)| (action.clone(), keys.get_ref().list()))
            .collect();
        // Each binding alone first, so an unknown action or key names its own line.
        for (action, keys) in &overrides {
            if action == "mouse" {
                let e = "mouse is not an action: `mouse = false` goes above [keys]";
                return Err(format!("{}: {e}", self.line_of(action)));
            }
            let one = BTreeMap::from([(action.clone(), keys.clone())]);
            Keymap::with_overrides(&one).map_err(|e| format!("{}: {e}", self.line_of(action)))?;
        }
        // Then all together: a key bound twice names the line of a binding it involves.
        Keymap::with_overrides(&overrides).map_err(|e| {
            match overrides.keys().find(|a| e.contains(&format!(" {a}"))) {
                Some(action) => format!("{}: {e}", self.line_of(action)),
                None => match &self.path {
                    Some(path) => format!("{}: {e}", path.display()),
                    None => e,
                },
            }
        })
    }

    /// `[file: ]line L, column C` of an action's binding.
    fn line_of(&self, action: &str) -> String {
        let start = self.keys.get(action).map_or(0, |k| k.span().start);
        match &self.path {
            Some(path) => format!("{}: {}", path.display(), at(&self.source, start)),
            None => at(&self.source, start),
        }
    }
}

impl Keys {
    fn list(&self) -> Vec<String> {
        match self {
            Keys::One(k) => vec![k.clone()],
            Keys::Many(ks) => ks.clone(),
        }
    }
}

/// `line L, column C` (both from 1) of byte `offset` in `text`.
fn at(text: &str, offset: usize) -> String {
    let end = (0..=offset.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn keys_come_from_the_config_file() {
        let config = Config::parse("[keys]\nrefresh = [\"F5\", \"x\"]\nquit = \"Q\"\n").unwrap();
        let map = config.keymap().unwrap();
        let press = |c| map.action(&KeyEvent::new(c, KeyModifiers::NONE));
        assert_eq!(
            press(KeyCode::F(5)),
            Some(crate::tui::keymap::Action::Refresh)
        );
        assert_eq!(
            press(KeyCode::Char('Q')),
            Some(crate::tui::keymap::Action::Quit)
        );
        assert_eq!(press(KeyCode::Char('q')), None);
    }

    #[test]
    fn the_mouse_is_on_unless_the_file_turns_it_off() {
        assert!(Config::default().mouse());
        assert!(Config::parse("[keys]\nquit = \"Q\"\n").unwrap().mouse());
        let off = Config::parse("mouse = false\n\n[keys]\nquit = \"Q\"\n").unwrap();
        assert!(!off.mouse());
        assert!(off.keymap().is_ok(), "a top-level key, not a binding");
        assert!(Config::parse("mouse = true").unwrap().mouse());
    }

    /// Each bad file, and the line the error must name.
    const BAD: &[(&str, &str, &str)] = &[
        ("[keys", "line 1", "TOML syntax"),
        ("# colours\n[colours]\nx = 1", "line 2", "unknown table"),
        ("[keys]\nquit = \"Q\"\nrefresh = 5", "line 3", "wrong type"),
        (
            "[keys]\nrefresh = [\"r\", 5]",
            "line 2",
            "wrong type in a list",
        ),
        ("[keys]\nrefresh = { key = \"r\" }", "line 2", "a table"),
        ("[keys]\n\nrefrsh = \"r\"", "line 3", "unknown action"),
        (
            "[keys]\nquit = \"Q\"\nrefresh = \"Ctrl-Alt-Nope\"",
            "line 3",
            "bad key",
        ),
        ("[keys]\nrefresh = \"\"", "line 2", "empty key"),
        (
            "[keys]\nhelp = \"?\"\nrefresh = \"q\"",
            "line 3",
            "conflict",
        ),
        ("keys = 3", "line 1", "keys not a table"),
        (
            "[keys]\nrefresh = \"r\"\nrefresh = \"x\"",
            "line 3",
            "duplicate",
        ),
        ("\u{feff}[keys]\nquit = \"é\u{0}\"", "line 2", "unicode"),
        ("mouse = \"no\"", "line 1", "mouse not a boolean"),
        (
            "[keys]\nquit = \"Q\"\nmouse = false",
            "line 3",
            "mouse under [keys]",
        ),
    ];

    #[test]
    fn bad_configs_are_one_line_errors_naming_the_line() {
        for (text, line, what) in BAD {
            let e = match Config::parse(text) {
                Err(e) => e,
                Ok(c) => c
                    .keymap()
                    .err()
                    .unwrap_or_else(|| panic!("{what}: accepted")),
            };
            assert!(!e.contains('\n'), "{what}: {e}");
            assert!(e.starts_with(line), "{what}: {e:?} should name {line}");
            eprintln!("{what}: {e}");
        }
    }

    #[test]
    fn malformed_configs_are_one_line_errors() {
        for bad in ["[keys", "[colours]\nx = 1", "[keys]\nrefresh = 5"] {
            let e = Config::parse(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
        let conflict = Config::parse("[keys]\nrefresh = \"q\"")
            .unwrap()
            .keymap()
            .unwrap_err();
        assert!(conflict.contains("bound to both"), "{conflict}");
    }
}
