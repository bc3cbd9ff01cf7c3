//! `--read-only` refuses every way to change the database: each action that changes it,
//! under its default key and rebound in the config, in every pane, and the `:` commands.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::keymap::{Action, Keymap, changes_database, every_action, name_of};
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::State;
use crate::tui::update::{run_command, update};

/// What a read-only console must never ask the runtime to do.
fn changes(effect: &Effect) -> bool {
    match effect {
        Effect::StartRefresh(_)
        | Effect::CancelJob(_)
        | Effect::Signal { .. }
        | Effect::SaveSchedule { .. } => true,
        Effect::FetchInventory { .. }
        | Effect::Pulse { .. }
        | Effect::FetchDetail { .. }
        | Effect::PollSessions { .. }
        | Effect::PollStatements { .. }
        | Effect::FetchStatementTexts { .. }
        | Effect::FetchSchedules { .. }
        | Effect::FetchPgCron { .. }
        | Effect::Bench(_)
        | Effect::Copy(_)
        | Effect::Quit => false,
    }
}

fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Every database-changing action rebound to F1, F2, ... as a config file would.
fn rebound() -> (Keymap, Vec<(Action, KeyCode)>) {
    let mut overrides = BTreeMap::new();
    let mut keys = Vec::new();
    for (n, action) in every_action().filter(|a| changes_database(*a)).enumerate() {
        let f = u8::try_from(n + 1).unwrap();
        overrides.insert(name_of(action).to_string(), vec![format!("F{f}")]);
        keys.push((action, KeyCode::F(f)));
    }
    (Keymap::with_overrides(&overrides).unwrap(), keys)
}

/// The panes, by their number key.
const PANES: [char; 6] = ['1', '2', '3', '4', '5', '6'];

fn consoles() -> Vec<State> {
    // With sessions, lock waits and statements loaded (so cancel/terminate have a target),
    // and with every MV marked (so refresh has several).
    let mut with_sessions = super::sessions::state();
    with_sessions.read_only = true;
    let mut marked = super::fixture::state();
    marked.read_only = true;
    for _ in 0..marked.views.len() {
        press(&mut marked, KeyCode::Char(' '));
    }
    vec![with_sessions, marked]
}

#[test]
fn every_database_changing_action_is_refused_in_every_pane() {
    let actions: Vec<Action> = every_action().filter(|a| changes_database(*a)).collect();
    assert!(actions.len() >= 5, "{actions:?}");
    let (rebound_map, rebound_keys) = rebound();
    for default_keys in [true, false] {
        for mut s in consoles() {
            if !default_keys {
                s.keymap = rebound_map.clone();
            }
            for pane in PANES {
                press(&mut s, KeyCode::Char(pane));
                let keys: Vec<(Action, KeyCode)> = if default_keys {
                    let help = Keymap::default().help();
                    actions
                        .iter()
                        .map(|a| {
                            let (keys, _, _) = help.iter().find(|(_, _, h)| h == a).unwrap();
                            let first = keys.split(' ').next().unwrap();
                            let key = crate::tui::keymap::parse_key(first).unwrap();
                            (*a, key.code)
                        })
                        .collect()
                } else {
                    rebound_keys.clone()
                };
                for (action, code) in keys {
                    let effects = press(&mut s, code);
                    // Whatever overlay the key opened (a confirm, the schedule form), a
                    // `y` and an Enter must not get through either.
                    let mut all = effects.clone();
                    all.extend(press(&mut s, KeyCode::Char('y')));
                    all.extend(press(&mut s, KeyCode::Enter));
                    assert!(
                        !all.iter().any(changes),
                        "{action:?} in pane {pane}: {all:?}"
                    );
                    press(&mut s, KeyCode::Esc);
                }
            }
        }
    }
}

#[test]
fn refresh_commands_are_refused_read_only_but_work_otherwise() {
    for mut s in consoles() {
        let names: Vec<String> = s.views.iter().map(|v| v.qualified_name.clone()).collect();
        for name in &names {
            for verb in ["refresh", "r"] {
                let line = format!("{verb} {name}");
                let effects = run_command(&mut s, &line);
                assert!(!effects.iter().any(changes), "{line}: {effects:?}");
                assert!(
                    s.message.as_deref().unwrap_or("").starts_with("read-only"),
                    "{line}: {:?}",
                    s.message
                );
                // Typed on the command line, then confirmed with y.
                press(&mut s, KeyCode::Char(':'));
                for c in line.chars() {
                    press(&mut s, KeyCode::Char(c));
                }
                let mut effects = press(&mut s, KeyCode::Enter);
                effects.extend(press(&mut s, KeyCode::Char('y')));
                assert!(!effects.iter().any(changes), "{line}: {effects:?}");
            }
        }
        // The same console, writable: the command starts a refresh (or asks first).
        s.read_only = false;
        s.message = None;
        let name = names[0].clone();
        let mut effects = run_command(&mut s, &format!("refresh {name}"));
        effects.extend(press(&mut s, KeyCode::Char('y')));
        assert!(
            effects.iter().any(|e| matches!(e, Effect::StartRefresh(_))),
            "{effects:?} {:?}",
            s.message
        );
    }
}
