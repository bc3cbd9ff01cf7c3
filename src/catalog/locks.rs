//! Lock waits as people and scripts read them, from one sessions poll: who waits for what,
//! the tree of who blocks whom, and what involves a materialized view. Pure functions.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::sessions::{SessionRow, Sessions, refresh_target};

/// One wait, as `mvtop locks --format json` prints it. Field names are a contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitReport {
    pub pid: i32,
    pub user: Option<String>,
    pub application: String,
    pub client_addr: Option<String>,
    pub database: Option<String>,
    pub wait_locktype: String,
    /// `schema.name`, quoted where SQL needs it; for a row-level wait, the row's table.
    pub wait_relation: Option<String>,
    pub wait_object: String,
    pub wait_mode: String,
    pub wait_on_mv: bool,
    pub waiting_ms: f64,
    /// Timed from the query start (PostgreSQL before 14 has no `pg_locks.waitstart`).
    pub waiting_estimated: bool,
    pub query: String,
    /// The MV it refreshes, when it is a REFRESH.
    pub refresh_of: Option<String>,
    pub blocked_by: Vec<BlockerReport>,
}

/// A session in the way of a wait.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockerReport {
    pub pid: i32,
    pub user: Option<String>,
    pub application: String,
    pub state: Option<String>,
    pub xact_age_ms: Option<f64>,
    /// Its granted locks on the waited-for relation (or object). Empty: it is ahead in the
    /// queue for a conflicting lock and holds nothing yet.
    pub holds_modes: Vec<String>,
    /// It waits for a lock itself (a chain).
    pub waiting: bool,
    pub query: String,
}

/// Every wait, longest first, with the blockers spelled out.
pub fn wait_reports(sessions: &Sessions) -> Vec<WaitReport> {
    sessions
        .waiting()
        .filter_map(|w| {
            let wait = w.wait.as_ref()?;
            let blocked_by = wait
                .blocked_by
                .iter()
                .map(|b| {
                    let s = sessions.get(b.pid);
                    BlockerReport {
                        pid: b.pid,
                        user: s.and_then(|s| s.user.clone()),
                        application: s.map(|s| s.application.clone()).unwrap_or_default(),
                        state: s.and_then(|s| s.state.clone()),
                        xact_age_ms: s.and_then(|s| s.xact_age_ms),
                        holds_modes: b.holds_modes.clone(),
                        waiting: s.is_some_and(|s| s.wait.is_some()),
                        query: s.map(|s| s.query.clone()).unwrap_or_default(),
                    }
                })
                .collect();
            Some(WaitReport {
                pid: w.pid,
                user: w.user.clone(),
                application: w.application.clone(),
                client_addr: w.client_addr.clone(),
                database: w.database.clone(),
                wait_locktype: wait.locktype.clone(),
                wait_relation: wait.relation.clone(),
                wait_object: wait.object.clone(),
                wait_mode: wait.mode.clone(),
                wait_on_mv: wait.on_mv(),
                waiting_ms: wait.waiting_ms,
                waiting_estimated: wait.waiting_estimated,
                query: w.query.clone(),
                refresh_of: refresh_target(&w.query),
                blocked_by,
            })
        })
        .collect()
}

/// One line of the wait tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLine {
    pub pid: i32,
    pub depth: usize,
    /// The session it waits behind (None for a root).
    pub parent: Option<i32>,
    /// What the parent holds on the object this one waits for.
    pub parent_holds: Vec<String>,
}

/// Who blocks whom, depth first: rooted at the sessions that block others without waiting
/// themselves. A session behind two blockers appears under each. Waits no root reaches
/// (a deadlock, about to be broken) are listed after, as roots.
pub fn wait_tree(sessions: &Sessions) -> Vec<TreeLine> {
    // blocker -> [(waiter, what the blocker holds)], waiters in the poll's order
    let mut behind: HashMap<i32, Vec<(i32, Vec<String>)>> = HashMap::new();
    let mut waiting: HashSet<i32> = HashSet::new();
    let mut roots: Vec<i32> = Vec::new();
    for w in sessions.waiting() {
        waiting.insert(w.pid);
        for b in w.wait.iter().flat_map(|x| &x.blocked_by) {
            behind
                .entry(b.pid)
                .or_default()
                .push((w.pid, b.holds_modes.clone()));
            if !roots.contains(&b.pid) {
                roots.push(b.pid);
            }
        }
    }
    roots.retain(|p| !waiting.contains(p));
    // Longest transaction first: the likeliest culprit on top.
    let age = |pid: &i32| {
        sessions
            .get(*pid)
            .and_then(|s| s.xact_age_ms)
            .unwrap_or(0.0)
    };
    roots.sort_by(|a, b| age(b).total_cmp(&age(a)).then(a.cmp(b)));
    let mut lines = Vec::new();
    let mut shown: HashSet<i32> = HashSet::new();
    for root in roots {
        descend(root, None, Vec::new(), 0, &behind, &mut vec![], &mut lines);
    }
    shown.extend(lines.iter().map(|l| l.pid));
    for w in sessions.waiting() {
        if !shown.contains(&w.pid) {
            descend(w.pid, None, Vec::new(), 0, &behind, &mut vec![], &mut lines);
            shown.extend(lines.iter().map(|l| l.pid));
        }
    }
    lines
}

fn descend(
    pid: i32,
    parent: Option<i32>,
    parent_holds: Vec<String>,
    depth: usize,
    behind: &HashMap<i32, Vec<(i32, Vec<String>)>>,
    path: &mut Vec<i32>,
    lines: &mut Vec<TreeLine>,
) {
    lines.push(TreeLine {
        pid,
        depth,
        parent,
        parent_holds,
    });
    path.push(pid);
    for (waiter, holds) in behind.get(&pid).into_iter().flatten() {
        if !path.contains(waiter) {
            descend(
                *waiter,
                Some(pid),
                holds.clone(),
                depth + 1,
                behind,
                path,
                lines,
            );
        }
    }
    path.pop();
}

/// What is happening to one MV's locks now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MvLocks {
    /// Sessions (readers, writers) waiting for a lock on it.
    pub waiters: usize,
    pub longest_wait_ms: f64,
    /// A REFRESH is among the sessions they wait behind.
    pub blocked_by_refresh: bool,
    /// A REFRESH of it waits for its lock, behind these sessions.
    pub refresh_waits_behind: Vec<i32>,
}

/// MV oid -> its lock waits: the views table marks these, the jobs pane names blockers.
pub fn mv_locks(sessions: &Sessions) -> HashMap<u32, MvLocks> {
    let mut out: HashMap<u32, MvLocks> = HashMap::new();
    for w in sessions.waiting() {
        let Some(wait) = &w.wait else { continue };
        let Some(oid) = wait.oid.filter(|_| wait.on_mv()) else {
            continue;
        };
        let entry = out.entry(oid).or_default();
        let blockers = wait.blocked_by.iter().map(|b| b.pid);
        if w.is_refresh() {
            entry.refresh_waits_behind.extend(blockers);
        } else {
            entry.waiters += 1;
            entry.longest_wait_ms = entry.longest_wait_ms.max(wait.waiting_ms);
            entry.blocked_by_refresh |= wait
                .blocked_by
                .iter()
                .any(|b| sessions.get(b.pid).is_some_and(SessionRow::is_refresh));
        }
    }
    out
}

/// `pid 123 (alice, psql, idle in transaction 4 min 05 s)`: a blocker in one phrase.
pub fn describe(sessions: Option<&Sessions>, pid: i32) -> String {
    let Some(s) = sessions.and_then(|s| s.get(pid)) else {
        return format!("pid {pid}");
    };
    let mut parts = Vec::new();
    if let Some(u) = &s.user {
        parts.push(u.clone());
    }
    if !s.application.is_empty() {
        parts.push(s.application.clone());
    }
    let state = s.state.clone().unwrap_or_else(|| "?".into());
    parts.push(match s.xact_age_ms {
        Some(ms) if s.idle_in_transaction() => {
            format!("{state} {}", crate::format::duration_ms(ms))
        }
        _ => state,
    });
    format!("pid {pid} ({})", parts.join(", "))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::sessions::{Blocker, LockWait};

    pub fn session(pid: i32, state: &str, query: &str) -> SessionRow {
        SessionRow {
            pid,
            user: Some("alice".into()),
            application: format!("app{pid}"),
            client_addr: None,
            database: Some("db".into()),
            backend_type: Some("client backend".into()),
            state: Some(state.into()),
            wait_event_type: None,
            wait_event: None,
            query: query.into(),
            elapsed_ms: Some(1000.0),
            xact_age_ms: Some(f64::from(pid) * 1000.0),
            wait: None,
        }
    }

    pub fn waits(
        mut s: SessionRow,
        on: &str,
        mv_oid: Option<u32>,
        behind: &[(i32, &[&str])],
    ) -> SessionRow {
        s.wait_event_type = Some("Lock".into());
        s.wait_event = Some("relation".into());
        s.wait = Some(LockWait {
            locktype: "relation".into(),
            mode: "AccessShareLock".into(),
            relation: Some(on.into()),
            relkind: Some(if mv_oid.is_some() { "m" } else { "r" }.into()),
            oid: mv_oid.or(Some(1)),
            object: "relation".into(),
            waiting_ms: f64::from(s.pid) * 100.0,
            waiting_estimated: false,
            blocked_by: behind
                .iter()
                .map(|(pid, modes)| Blocker {
                    pid: *pid,
                    holds_modes: modes.iter().map(|m| m.to_string()).collect(),
                })
                .collect(),
        });
        s
    }

    fn chain() -> Sessions {
        // 10 blocks 20 blocks 30; 40 is queued behind 20 too.
        Sessions {
            rows: vec![
                session(10, "idle in transaction", "LOCK a"),
                waits(
                    session(20, "active", "LOCK b; LOCK a"),
                    "a",
                    None,
                    &[(10, &["AccessExclusiveLock"])],
                ),
                waits(
                    session(30, "active", "SELECT * FROM b"),
                    "b",
                    None,
                    &[(20, &["AccessExclusiveLock"])],
                ),
                waits(
                    session(40, "active", "SELECT * FROM b"),
                    "b",
                    None,
                    &[(20, &[]), (30, &[])],
                ),
            ],
        }
    }

    #[test]
    fn the_tree_is_rooted_at_the_blocker_that_does_not_wait() {
        let t: Vec<(i32, usize, Option<i32>)> = wait_tree(&chain())
            .iter()
            .map(|l| (l.pid, l.depth, l.parent))
            .collect();
        assert_eq!(
            t,
            [
                (10, 0, None),
                (20, 1, Some(10)),
                (30, 2, Some(20)),
                (40, 3, Some(30)),
                (40, 2, Some(20)),
            ]
        );
    }

    #[test]
    fn a_deadlock_still_shows_every_waiter() {
        let s = Sessions {
            rows: vec![
                waits(
                    session(1, "active", "x"),
                    "a",
                    None,
                    &[(2, &["ExclusiveLock"])],
                ),
                waits(
                    session(2, "active", "y"),
                    "b",
                    None,
                    &[(1, &["ExclusiveLock"])],
                ),
            ],
        };
        let pids: Vec<i32> = wait_tree(&s).iter().map(|l| l.pid).collect();
        assert_eq!(pids, [1, 2]);
    }

    #[test]
    fn reports_name_blockers_with_state_and_what_they_hold() {
        let r = wait_reports(&chain());
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].pid, 20);
        let b = &r[0].blocked_by[0];
        assert_eq!(b.state.as_deref(), Some("idle in transaction"));
        assert_eq!(b.holds_modes, ["AccessExclusiveLock"]);
        assert!(!b.waiting);
        assert!(r[1].blocked_by[0].waiting, "20 waits itself");
    }

    #[test]
    fn mv_involvement_counts_readers_behind_a_refresh_and_a_waiting_refresh() {
        let s = Sessions {
            rows: vec![
                session(1, "idle in transaction", "REFRESH MATERIALIZED VIEW m"),
                waits(
                    session(2, "active", "SELECT 1 FROM m"),
                    "m",
                    Some(7),
                    &[(1, &["AccessExclusiveLock"])],
                ),
                waits(
                    session(3, "active", "SELECT 2 FROM m"),
                    "m",
                    Some(7),
                    &[(1, &["AccessExclusiveLock"])],
                ),
                session(4, "idle in transaction", "SELECT * FROM n"),
                waits(
                    session(5, "active", "REFRESH MATERIALIZED VIEW n"),
                    "n",
                    Some(8),
                    &[(4, &["AccessShareLock"])],
                ),
            ],
        };
        let m = mv_locks(&s);
        assert_eq!(m[&7].waiters, 2);
        assert!(m[&7].blocked_by_refresh);
        assert_eq!(m[&7].longest_wait_ms, 300.0);
        assert_eq!(m[&8].refresh_waits_behind, [4]);
        assert_eq!(m[&8].waiters, 0);
        assert_eq!(
            describe(Some(&s), 4),
            "pid 4 (alice, app4, idle in transaction 4.0 s)"
        );
        assert_eq!(describe(None, 4), "pid 4");
    }
}
