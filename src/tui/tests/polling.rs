//! The inventory and pulse polls through `update`: stale answers dropped, pausing and
//! backoff, what the pulse changes, the detail read and the definitions' first read.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixture;
use super::press;
use crate::tui::msg::{Effect, Msg};
use crate::tui::state::Health;
use crate::tui::update::update;

/// A tick's poll effects (the history reads and the sessions polls it may also ask for are
/// tested on their own).
fn tick(s: &mut crate::tui::state::State, at: chrono::DateTime<chrono::Utc>) -> Vec<Effect> {
    update(s, Msg::Tick(at))
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                Effect::FetchDetail { .. }
                    | Effect::PollSessions { .. }
                    | Effect::PollStatements { .. }
            )
        })
        .collect()
}

#[test]
fn stale_poll_results_are_dropped_and_polls_never_overlap() {
    let mut s = fixture::state();
    let later = fixture::now() + chrono::Duration::seconds(3);
    let effects = tick(&mut s, later);
    assert_eq!(
        effects,
        [Effect::Pulse {
            generation: 2,
            tables: vec![],
            since: Default::default(),
        }],
        "the cheap poll between full reads"
    );
    assert!(
        tick(&mut s, later + chrono::Duration::seconds(5)).is_empty(),
        "one in flight"
    );
    let old = crate::catalog::Inventory {
        facts: fixture::facts(),
        views: vec![],
        hints: vec![],
    };
    update(
        &mut s,
        Msg::Inventory {
            generation: 1,
            result: Ok(Box::new(old)),
        },
    );
    assert_eq!(s.views.len(), 4, "generation 1 is stale");
    assert!(s.polling.reads.is_pending());
    update(
        &mut s,
        Msg::Inventory {
            generation: 2,
            result: Err("server closed the connection".into()),
        },
    );
    assert!(matches!(s.health, Health::Lost { .. }));
    assert_eq!(s.views.len(), 4, "the last good data stays");
}

#[test]
fn polling_pauses_and_backs_off_while_the_connection_is_lost() {
    let mut s = fixture::state();
    press(&mut s, KeyCode::Char('p'));
    assert!(tick(&mut s, fixture::now() + chrono::Duration::seconds(30)).is_empty());
    press(&mut s, KeyCode::Char('p'));
    s.health = Health::Lost {
        error: "gone".into(),
        since: fixture::now(),
    };
    s.polling.failures = 3;
    s.polling.reads.accept(s.polling.reads.generation());
    s.polling.answered_at = Some(s.now);
    let t = s.now;
    assert!(
        tick(&mut s, t + chrono::Duration::seconds(10)).is_empty(),
        "2 s x 8 = 16 s"
    );
    assert_eq!(tick(&mut s, t + chrono::Duration::seconds(17)).len(), 1);
}

fn pulse(count: i64, xmin_sum: &str, refreshing: &[(u32, i32)]) -> crate::catalog::pulse::Pulse {
    crate::catalog::pulse::Pulse {
        fingerprint: Some(crate::catalog::pulse::Fingerprint {
            mv_count: count,
            xmin_sum: xmin_sum.into(),
            definition_writes: Some(0),
        }),
        refreshing: refreshing
            .iter()
            .map(|&(oid, pid)| (oid, vec![pid]))
            .collect(),
        lock_holders: Default::default(),
        writes: Default::default(),
        baseline: Default::default(),
        in_recovery: false,
    }
}

#[test]
fn the_pulse_turns_fresh_to_stale_and_a_refresh_under_writes_to_refreshing_stale() {
    let mut s = fixture::state();
    for v in &mut s.views {
        if v.oid == 1 {
            v.base_tables = vec![100, 101];
        }
    }
    let t = fixture::now() + chrono::Duration::seconds(3);
    assert_eq!(
        tick(&mut s, t),
        [Effect::Pulse {
            generation: 2,
            tables: vec![100, 101],
            since: Default::default(),
        }]
    );
    let status = |s: &crate::tui::state::State| s.views.iter().find(|v| v.oid == 1).unwrap().status;
    let arrive = |s: &mut crate::tui::state::State, generation, p| {
        update(
            s,
            Msg::Pulse {
                generation,
                result: Ok(p),
            },
        );
    };
    // Its refresh saw 10 writes; now there are 13: stale.
    let mut p = pulse(4, "1000", &[]);
    p.writes = Some([(100, 4), (101, 9)].into());
    arrive(&mut s, 2, p);
    assert_eq!(status(&s), crate::catalog::MvStatus::Stale);
    // A refresh starts at 13 writes, one more arrives meanwhile.
    for (generation, writes) in [(3, 9), (4, 10)] {
        tick(&mut s, t + chrono::Duration::seconds(3 * (generation - 1)));
        let mut p = pulse(4, "1000", &[(1, 77)]);
        p.writes = Some([(100, 4), (101, writes)].into());
        arrive(&mut s, generation as u64, p);
    }
    assert_eq!(status(&s), crate::catalog::MvStatus::RefreshingStale);
}

#[test]
fn the_pulse_shows_activity_and_a_moved_fingerprint_reads_everything_again() {
    let mut s = fixture::state();
    let t = fixture::now() + chrono::Duration::seconds(3);
    assert_eq!(
        tick(&mut s, t),
        [Effect::Pulse {
            generation: 2,
            tables: vec![],
            since: Default::default(),
        }]
    );
    let same = pulse(4, "1000", &[(2, 4242)]);
    assert!(
        update(
            &mut s,
            Msg::Pulse {
                generation: 2,
                result: Ok(same)
            }
        )
        .is_empty()
    );
    let big = s.views.iter().find(|v| v.oid == 2).unwrap();
    assert_eq!(
        (big.status, big.refreshing_pids.clone()),
        (crate::catalog::MvStatus::Refreshing, vec![4242])
    );
    let t = t + chrono::Duration::seconds(3);
    assert_eq!(
        tick(&mut s, t),
        [Effect::Pulse {
            generation: 3,
            tables: vec![],
            since: Default::default(),
        }]
    );
    let moved = pulse(4, "1007", &[]);
    let effects = update(
        &mut s,
        Msg::Pulse {
            generation: 3,
            result: Ok(moved),
        },
    );
    assert_eq!(
        effects,
        [Effect::FetchInventory {
            generation: 4,
            again: crate::catalog::Reread::Changed,
            definitions: true
        }]
    );
}

#[test]
fn another_clients_refresh_ending_reads_the_inventory_again() {
    let mut s = fixture::state();
    let mut t = fixture::now();
    for (generation, refreshing) in [(2, vec![(2, 4242)]), (3, vec![])] {
        t += chrono::Duration::seconds(3);
        tick(&mut s, t);
        let effects = update(
            &mut s,
            Msg::Pulse {
                generation,
                result: Ok(pulse(4, "1000", &refreshing)),
            },
        );
        if generation == 2 {
            assert!(effects.is_empty(), "{effects:?}");
        } else {
            assert_eq!(
                effects,
                [Effect::FetchInventory {
                    generation: 4,
                    again: crate::catalog::Reread::Changed,
                    definitions: true
                }]
            );
        }
    }
}

#[test]
fn the_selected_mvs_detail_is_read_once_it_rests() {
    let mut s = fixture::state();
    let t = fixture::now() + chrono::Duration::seconds(1);
    let effects = update(&mut s, Msg::Tick(t));
    assert!(
        effects.contains(&Effect::FetchDetail {
            oid: 3,
            generation: 1,
            ledger: true,
            runs: 30,
        }),
        "{effects:?}"
    );
    let again = update(&mut s, Msg::Tick(t + chrono::Duration::milliseconds(500)));
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, Effect::FetchDetail { .. })),
        "one in flight"
    );
    let detail = crate::tui::msg::DetailData::default();
    update(
        &mut s,
        Msg::Detail {
            oid: 3,
            generation: 0,
            result: Ok(detail.clone()),
        },
    );
    assert_eq!(s.detail, None, "an answer of another generation is dropped");
    update(
        &mut s,
        Msg::Detail {
            oid: 3,
            generation: 1,
            result: Ok(detail.clone()),
        },
    );
    assert_eq!(s.detail, Some((3, detail)));
}

#[test]
fn the_first_read_leaves_definitions_out_then_reads_them_and_later_reads_only_changes() {
    use crate::catalog::Reread;
    let read = |effects: &[Effect]| {
        effects.iter().find_map(|e| match e {
            Effect::FetchInventory {
                again, definitions, ..
            } => Some((*again, *definitions)),
            _ => None,
        })
    };
    let every = std::time::Duration::from_secs(2);
    let mut s = crate::tui::state::State::new("t".into(), false, every, fixture::now());
    let first = tick(&mut s, fixture::now());
    assert_eq!(
        read(&first),
        Some((Reread::Everything, false)),
        "sooner without definitions"
    );
    let arrive = |s: &mut crate::tui::state::State| {
        let generation = s.polling.reads.generation();
        update(
            s,
            Msg::Inventory {
                generation,
                result: Ok(Box::new(crate::catalog::Inventory {
                    facts: fixture::facts(),
                    views: fixture::views(),
                    hints: vec![],
                })),
            },
        )
    };
    assert_eq!(
        read(&arrive(&mut s)),
        Some((Reread::Changed, true)),
        "the definitions at once, of what changed (all of them, as none is known)"
    );
    arrive(&mut s);
    // A refresh ended: only what changed.
    s.polling.full_wanted = true;
    let t = fixture::now() + chrono::Duration::seconds(10);
    assert_eq!(read(&tick(&mut s, t)), Some((Reread::Changed, true)));
    arrive(&mut s);
    // Minutes later every size again; every third time everything.
    let mut seen = Vec::new();
    for minutes in [6, 12, 18] {
        s.polling.full_wanted = true;
        let effects = tick(&mut s, fixture::now() + chrono::Duration::minutes(minutes));
        seen.push(read(&effects).unwrap().0);
        arrive(&mut s);
    }
    assert_eq!(seen, [Reread::Sizes, Reread::Sizes, Reread::Everything]);
    // Ctrl-r: everything.
    let effects = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    assert_eq!(read(&effects), Some((Reread::Everything, true)));
}
