//! Keys to actions: defaults, overridden from the config file; the help overlay is generated
//! from the same table.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A user intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    FocusViews,
    FocusDetail,
    FocusJobs,
    FocusLocks,
    FocusActivity,
    FocusSchedules,
    EditSchedule,
    ApplyAdvice,
    Mark,
    Refresh,
    RefreshCascade,
    CancelJob,
    Terminate,
    Expand,
    ToggleCumulative,
    RefreshOnly,
    Bench,
    BenchWithRefresh,
    Filter,
    Command,
    SortNext,
    SortReverse,
    Pause,
    Slower,
    Faster,
    Reload,
    CopyName,
    CopyDefinition,
    Help,
    Back,
    Quit,
}

/// (action, config name, help text, default keys), in help order.
const ACTIONS: &[(Action, &str, &str, &[&str])] = &[
    (Action::Up, "up", "move up", &["Up", "k"]),
    (Action::Down, "down", "move down", &["Down", "j"]),
    (Action::PageUp, "page_up", "page up", &["PgUp"]),
    (Action::PageDown, "page_down", "page down", &["PgDn"]),
    (Action::Top, "top", "first row", &["g", "Home"]),
    (Action::Bottom, "bottom", "last row", &["G", "End"]),
    (Action::NextPane, "next_pane", "next pane", &["Tab"]),
    (Action::FocusViews, "focus_views", "views pane", &["1"]),
    (Action::FocusDetail, "focus_detail", "detail pane", &["2"]),
    (Action::FocusJobs, "focus_jobs", "jobs pane", &["3"]),
    (Action::FocusLocks, "focus_locks", "locks pane", &["4"]),
    (
        Action::FocusActivity,
        "focus_activity",
        "activity pane",
        &["5"],
    ),
    (
        Action::FocusSchedules,
        "focus_schedules",
        "schedules pane",
        &["6"],
    ),
    (
        Action::EditSchedule,
        "schedule",
        "edit the MV's schedule: every 15m | cron EXPR [tz TZ] | on-change [quiet 2m] [window HH:MM-HH:MM] | off",
        &["s"],
    ),
    (
        Action::ApplyAdvice,
        "apply_advice",
        "apply the detail pane's advice (fills the schedule form; Enter saves)",
        &["a"],
    ),
    (Action::Mark, "mark", "mark / unmark the MV", &["Space"]),
    (
        Action::Refresh,
        "refresh",
        "refresh selected (or marked) MVs",
        &["r"],
    ),
    (
        Action::RefreshCascade,
        "refresh_cascade",
        "refresh with cascade (upstream first, downstream after)",
        &["R"],
    ),
    (
        Action::CancelJob,
        "cancel",
        "cancel the MV's job (4/5: the query)",
        &["c"],
    ),
    (
        Action::Terminate,
        "terminate",
        "terminate the session (4/5)",
        &["K"],
    ),
    (Action::Expand, "expand", "whole session (4/5)", &["Enter"]),
    (
        Action::ToggleCumulative,
        "statements_cumulative",
        "statements: interval/total",
        &["t"],
    ),
    (
        Action::RefreshOnly,
        "statements_refresh_only",
        "statements: REFRESH only",
        &["f"],
    ),
    (
        Action::Bench,
        "bench",
        "benchmark the selected MV against its view (Esc cancels)",
        &["b"],
    ),
    (
        Action::BenchWithRefresh,
        "bench_with_refresh",
        "benchmark with a refresh per round (refreshes it: a measured break-even)",
        &["B"],
    ),
    (
        Action::Filter,
        "filter",
        "filter: text, or a regex (^, $, |, ...)",
        &["/"],
    ),
    (
        Action::Command,
        "command",
        "command: refresh NAME, filter TEXT, sort COL [desc], interval N, quit",
        &[":"],
    ),
    (
        Action::SortNext,
        "sort_next",
        "sort by the next column",
        &["o"],
    ),
    (
        Action::SortReverse,
        "sort_reverse",
        "reverse the sort",
        &["O"],
    ),
    (Action::Pause, "pause", "pause / resume polling", &["p"]),
    (Action::Slower, "slower", "poll less often", &["+"]),
    (Action::Faster, "faster", "poll more often", &["-"]),
    (
        Action::Reload,
        "reload",
        "read everything again now",
        &["Ctrl-r"],
    ),
    (
        Action::CopyName,
        "copy_name",
        "copy the qualified name",
        &["y"],
    ),
    (
        Action::CopyDefinition,
        "copy_definition",
        "copy the definition",
        &["Y"],
    ),
    (Action::Help, "help", "this help", &["?"]),
    (
        Action::Back,
        "back",
        "back / clear filter / close",
        &["Esc"],
    ),
    (Action::Quit, "quit", "quit (Ctrl-c always quits)", &["q"]),
];

/// Every action, in help order.
pub fn every_action() -> impl Iterator<Item = Action> {
    ACTIONS.iter().map(|(a, ..)| *a)
}

/// Actions that change the database: hidden and refused in `--read-only`.
pub fn changes_database(action: Action) -> bool {
    matches!(
        action,
        Action::Refresh
            | Action::RefreshCascade
            | Action::CancelJob
            | Action::Terminate
            | Action::EditSchedule
            | Action::ApplyAdvice
            | Action::BenchWithRefresh
    )
}

/// One key as the keymap knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

/// `k`, `K`, `Up`, `PgDn`, `Space`, `Esc`, `F5`, `Ctrl-r`, ...
pub fn parse_key(text: &str) -> Result<Key, String> {
    let (ctrl, rest) = match text
        .strip_prefix("Ctrl-")
        .or_else(|| text.strip_prefix("C-"))
    {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let code = match rest {
        "Up" => KeyCode::Up,
        "Down" => KeyCode::Down,
        "Left" => KeyCode::Left,
        "Right" => KeyCode::Right,
        "PgUp" | "PageUp" => KeyCode::PageUp,
        "PgDn" | "PageDown" => KeyCode::PageDown,
        "Home" => KeyCode::Home,
        "End" => KeyCode::End,
        "Tab" => KeyCode::Tab,
        "Esc" => KeyCode::Esc,
        "Enter" => KeyCode::Enter,
        "Space" => KeyCode::Char(' '),
        f if f.len() > 1 && f.starts_with('F') => KeyCode::F(
            f[1..]
                .parse()
                .map_err(|_| format!("unknown key {text:?}"))?,
        ),
        c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().unwrap_or(' ')),
        _ => return Err(format!("unknown key {text:?}")),
    };
    Ok(Key { code, ctrl })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<String>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = ACTIONS
            .iter()
            .map(|(a, _, _, keys)| (*a, keys.iter().map(|k| k.to_string()).collect()))
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with `overrides` (config name -> keys) in place; unknown actions, unknown
    /// keys and a key bound twice are one-line errors.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let Some((action, ..)) = ACTIONS.iter().find(|(_, n, _, _)| n == name) else {
                let known: Vec<&str> = ACTIONS.iter().map(|a| a.1).collect();
                return Err(format!(
                    "unknown action {name:?} in [keys] (known: {})",
                    known.join(", ")
                ));
            };
            for k in keys {
                parse_key(k)?;
            }
            map.bindings.insert(*action, keys.clone());
        }
        let mut seen: BTreeMap<String, Action> = BTreeMap::new();
        for (action, keys) in &map.bindings {
            for k in keys {
                if let Some(other) = seen.insert(k.clone(), *action) {
                    return Err(format!(
                        "key {k:?} is bound to both {} and {}",
                        name_of(other),
                        name_of(*action)
                    ));
                }
            }
        }
        Ok(map)
    }

    /// The action of a key press, outside the text-input overlays.
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        self.bindings.iter().find_map(|(action, keys)| {
            keys.iter()
                .filter_map(|k| parse_key(k).ok())
                .any(|k| k.code == key.code && k.ctrl == ctrl)
                .then_some(*action)
        })
    }

    /// The key a hint names for `action`: a one-character binding when there is one
    /// (`k` rather than `Up`), else the first; `space` for the space bar.
    pub fn key_of(&self, action: Action) -> String {
        let keys = self.bindings.get(&action).map(Vec::as_slice).unwrap_or(&[]);
        let key = keys
            .iter()
            .find(|k| k.chars().count() == 1)
            .or_else(|| keys.first())
            .map_or("?", String::as_str);
        if key == "Space" {
            "space".into()
        } else {
            key.into()
        }
    }

    /// `? help  / filter  q quit`: each action's key and what it does, as footers show them.
    pub fn hints(&self, items: &[(Action, &str)]) -> String {
        items
            .iter()
            .map(|(action, what)| format!("{} {what}", self.key_of(*action)))
            .collect::<Vec<_>>()
            .join("  ")
    }

    /// `j/k move`: the two moving keys in one hint.
    pub fn moves(&self) -> String {
        format!(
            "{}/{} move",
            self.key_of(Action::Down),
            self.key_of(Action::Up)
        )
    }

    /// (keys, help text, action) in help order.
    pub fn help(&self) -> Vec<(String, &'static str, Action)> {
        ACTIONS
            .iter()
            .map(|(a, _, text, _)| (self.bindings[a].join(" "), *text, *a))
            .collect()
    }
}

pub fn name_of(action: Action) -> &'static str {
    ACTIONS
        .iter()
        .find(|(a, ..)| *a == action)
        .map_or("?", |(_, n, _, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_default_key_parses_and_maps_to_its_action() {
        let map = Keymap::default();
        for (action, _, _, keys) in ACTIONS {
            for k in *keys {
                let key = parse_key(k).unwrap();
                let mods = if key.ctrl {
                    KeyModifiers::CONTROL
                } else {
                    KeyModifiers::NONE
                };
                assert_eq!(
                    map.action(&KeyEvent::new(key.code, mods)),
                    Some(*action),
                    "{k}"
                );
            }
        }
        assert_eq!(Keymap::with_overrides(&BTreeMap::new()), Ok(map));
    }

    #[test]
    fn overrides_replace_a_binding_and_conflicts_are_refused() {
        let mut o = BTreeMap::new();
        o.insert(
            "refresh".to_string(),
            vec!["F5".to_string(), "x".to_string()],
        );
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(map.action(&press(KeyCode::F(5))), Some(Action::Refresh));
        assert_eq!(map.action(&press(KeyCode::Char('r'))), None);
        o.insert("quit".to_string(), vec!["x".to_string()]);
        let e = Keymap::with_overrides(&o).unwrap_err();
        assert!(e.contains("\"x\" is bound to both"), "{e}");
        let mut bad = BTreeMap::new();
        bad.insert("fly".to_string(), vec!["f".to_string()]);
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .starts_with("unknown action")
        );
        let mut bad_key = BTreeMap::new();
        bad_key.insert("quit".to_string(), vec!["Hyper-q".to_string()]);
        assert!(Keymap::with_overrides(&bad_key).is_err());
    }

    #[test]
    fn hints_name_the_bound_keys() {
        let map = Keymap::default();
        assert_eq!(map.moves(), "j/k move");
        assert_eq!(
            map.hints(&[(Action::Mark, "mark"), (Action::Reload, "reload")]),
            "space mark  Ctrl-r reload"
        );
        let mut o = BTreeMap::new();
        o.insert("refresh".to_string(), vec!["F5".to_string()]);
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(map.hints(&[(Action::Refresh, "refresh")]), "F5 refresh");
    }

    #[test]
    fn ctrl_c_always_quits() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["Q".to_string()]);
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(
            map.action(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }
}
