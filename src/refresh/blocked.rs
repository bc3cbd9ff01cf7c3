//! The sessions one refresh job blocked, tallied from samples: the executor's lock watcher
//! adds one every `WATCH_EVERY` while the job's REFRESH is on the server (catching waiters
//! that give up early), the job adds a last one on its own session just before COMMIT
//! (catching every waiter still there with its wait until then). A wait is one statement
//! of one session; its length is the longest seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::catalog::cost::{BlockedWho, RunCost};
use crate::catalog::sessions::blocked::Blockee;

/// At most this many (user, application) pairs are kept per run.
const WHO_KEPT: usize = 10;

/// The tally of one job, shared between the job and the lock watcher.
#[derive(Debug, Clone, Default)]
pub struct BlockedWatch(Arc<Mutex<Tally>>);

#[derive(Debug, Default)]
struct Tally {
    samples: u32,
    waits: HashMap<(i32, Option<DateTime<Utc>>), Wait>,
}

#[derive(Debug, Clone)]
struct Wait {
    user: String,
    application: String,
    waited_ms: f64,
}

impl BlockedWatch {
    pub fn new() -> BlockedWatch {
        BlockedWatch::default()
    }

    /// One look at the server: the waiters behind `pid` (the job's backend) among `seen`.
    pub fn add(&self, pid: i32, seen: &[Blockee]) {
        let Ok(mut t) = self.0.lock() else { return };
        t.samples += 1;
        for b in seen.iter().filter(|b| b.blocker == pid) {
            let wait = t
                .waits
                .entry((b.pid, b.query_start))
                .or_insert_with(|| Wait {
                    user: b.user.clone(),
                    application: b.application.clone(),
                    waited_ms: 0.0,
                });
            wait.waited_ms = wait.waited_ms.max(b.waited_ms);
        }
    }

    /// The blocked figures of `cost` from the samples so far; `why_none` says why there are
    /// none when nothing was sampled.
    pub fn fill(&self, cost: &mut RunCost, why_none: &str) {
        let Ok(t) = self.0.lock() else { return };
        if t.samples == 0 {
            cost.blocked_note = Some(why_none.to_string());
            return;
        }
        let waits: Vec<&Wait> = t.waits.values().collect();
        let mut sessions: Vec<i32> = t.waits.keys().map(|k| k.0).collect();
        sessions.sort_unstable();
        sessions.dedup();
        cost.blocked_sessions = Some(sessions.len() as i32);
        cost.blocked_total_ms = Some(waits.iter().map(|w| w.waited_ms).sum());
        cost.blocked_longest_ms = Some(waits.iter().map(|w| w.waited_ms).fold(0.0, f64::max));
        cost.blocked_who = Some(who(&t.waits));
        cost.blocked_note = None;
    }
}

/// The waits grouped by user and application, most waited first.
fn who(waits: &HashMap<(i32, Option<DateTime<Utc>>), Wait>) -> Vec<BlockedWho> {
    let mut by: HashMap<(&str, &str), (Vec<i32>, f64, f64)> = HashMap::new();
    for ((pid, _), w) in waits {
        let e = by
            .entry((&w.user, &w.application))
            .or_insert((Vec::new(), 0.0, 0.0));
        e.0.push(*pid);
        e.1 += w.waited_ms;
        e.2 = e.2.max(w.waited_ms);
    }
    let mut out: Vec<BlockedWho> = by
        .into_iter()
        .map(|((user, application), (mut pids, total, longest))| {
            pids.sort_unstable();
            pids.dedup();
            BlockedWho {
                user: user.to_string(),
                application: application.to_string(),
                sessions: pids.len() as i32,
                total_ms: total,
                longest_ms: longest,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.total_ms
            .total_cmp(&a.total_ms)
            .then_with(|| (&a.user, &a.application).cmp(&(&b.user, &b.application)))
    });
    out.truncate(WHO_KEPT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(blocker: i32, pid: i32, user: &str, start: i64, waited: f64) -> Blockee {
        Blockee {
            blocker,
            pid,
            user: user.into(),
            application: "app".into(),
            query_start: DateTime::from_timestamp(1_700_000_000 + start, 0),
            waited_ms: waited,
        }
    }

    #[test]
    fn a_wait_counts_once_at_its_longest_and_only_behind_its_job() {
        let w = BlockedWatch::new();
        w.add(
            10,
            &[b(10, 1, "alice", 0, 100.0), b(99, 2, "eve", 0, 5000.0)],
        );
        w.add(10, &[b(10, 1, "alice", 0, 350.0), b(10, 3, "bob", 1, 50.0)]);
        // Session 1 waits again, for a second statement: a second wait, the same session.
        w.add(10, &[b(10, 1, "alice", 5, 200.0)]);
        let mut cost = RunCost::default();
        w.fill(&mut cost, "unused");
        assert_eq!(cost.blocked_sessions, Some(2));
        assert_eq!(cost.blocked_total_ms, Some(350.0 + 50.0 + 200.0));
        assert_eq!(cost.blocked_longest_ms, Some(350.0));
        let who = cost.blocked_who.unwrap();
        assert_eq!(who[0].user, "alice");
        assert_eq!((who[0].sessions, who[0].total_ms), (1, 550.0));
        assert_eq!((who[1].user.as_str(), who[1].sessions), ("bob", 1));
        assert_eq!(cost.blocked_note, None);
    }

    #[test]
    fn sampled_and_nobody_waiting_is_zero_never_sampled_is_unknown() {
        let w = BlockedWatch::new();
        let mut cost = RunCost::default();
        w.fill(&mut cost, "not sampled");
        assert_eq!(cost.blocked_sessions, None);
        assert_eq!(cost.blocked_note.as_deref(), Some("not sampled"));
        w.add(10, &[]);
        let mut cost = RunCost::default();
        w.fill(&mut cost, "not sampled");
        assert_eq!(cost.blocked_sessions, Some(0));
        assert_eq!(cost.blocked_total_ms, Some(0.0));
        assert_eq!(cost.blocked_note, None);
    }
}
