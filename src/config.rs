//! `config.toml` in the XDG config directory (`$XDG_CONFIG_HOME/mvtop`, else
//! `~/.config/mvtop`). Missing is fine; malformed is a one-line error.
//!
//! ```toml
//! [keys]
//! refresh = ["r", "F5"]
//! quit = "Q"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::tui::keymap::Keymap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub keys: BTreeMap<String, Keys>,
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
            Ok(text) => Config::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.message().replace('\n', " "))
    }

    pub fn keymap(&self) -> Result<Keymap, String> {
        let overrides = self
            .keys
            .iter()
            .map(|(action, keys)| {
                let keys = match keys {
                    Keys::One(k) => vec![k.clone()],
                    Keys::Many(ks) => ks.clone(),
                };
                (action.clone(), keys)
            })
            .collect();
        Keymap::with_overrides(&overrides)
    }
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
