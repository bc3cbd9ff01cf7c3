//! Writes to an MV's base tables, as the scheduler sees them poll after poll: when they last
//! moved, since when the MV is stale. Pure: counters and the clock come in as arguments.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
/// What the scheduler knows of one MV's base-table writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub writes: i64,
    /// When the counters (or an upstream refresh) last moved, as far as this process saw.
    pub last_change: DateTime<Utc>,
    /// First seen stale since its last claimed refresh.
    pub stale_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct ChangeTracker {
    seen: HashMap<u32, Seen>,
}

impl ChangeTracker {
    /// Takes in this poll's counters for `oid`. `baseline`: the counters when its last run
    /// was claimed; `upstream_changed`: the newest refresh of an MV it reads, if newer than
    /// that claim. An MV first seen stale counts its quiet period from now: what happened
    /// before this process watched is unknown.
    pub fn observe(
        &mut self,
        oid: u32,
        writes: i64,
        baseline: Option<i64>,
        upstream_changed: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Seen {
        let stale = baseline.is_some_and(|b| b != writes) || upstream_changed.is_some();
        let entry = self.seen.entry(oid).or_insert(Seen {
            writes,
            last_change: now,
            stale_since: None,
        });
        if entry.writes != writes {
            entry.writes = writes;
            entry.last_change = now;
        }
        if let Some(up) = upstream_changed {
            entry.last_change = entry.last_change.max(up.min(now));
        }
        match (stale, entry.stale_since) {
            (true, None) => entry.stale_since = Some(now),
            (false, Some(_)) => entry.stale_since = None,
            _ => {}
        }
        *entry
    }

    /// A run was claimed: staleness starts over from its baseline.
    pub fn claimed(&mut self, oid: u32) {
        if let Some(s) = self.seen.get_mut(&oid) {
            s.stale_since = None;
        }
    }

    pub fn forget_except(&mut self, keep: &std::collections::HashSet<u32>) {
        self.seen.retain(|oid, _| keep.contains(oid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn writes_push_the_last_change_forward_and_staleness_starts_once() {
        let mut c = ChangeTracker::default();
        let s = c.observe(1, 5, Some(5), None, t(0));
        assert_eq!(s.stale_since, None);
        let s = c.observe(1, 7, Some(5), None, t(10));
        assert_eq!((s.last_change, s.stale_since), (t(10), Some(t(10))));
        let s = c.observe(1, 9, Some(5), None, t(20));
        assert_eq!((s.last_change, s.stale_since), (t(20), Some(t(10))));
        let s = c.observe(1, 9, Some(5), None, t(30));
        assert_eq!(s.last_change, t(20), "no write: the quiet period runs");
        c.claimed(1);
        let s = c.observe(1, 9, Some(9), None, t(40));
        assert_eq!(s.stale_since, None);
    }

    #[test]
    fn an_upstream_refresh_counts_as_a_change() {
        let mut c = ChangeTracker::default();
        c.observe(1, 5, Some(5), None, t(0));
        let s = c.observe(1, 5, Some(5), Some(t(25)), t(30));
        assert_eq!((s.last_change, s.stale_since), (t(25), Some(t(30))));
    }
}
