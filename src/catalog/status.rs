//! An MV's status, after the seed's updated / outdated / updating / updating-outdated, plus
//! what the catalog and the ledger add: never populated, failed, and unknown freshness.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MvStatus {
    /// Created or refreshed `WITH NO DATA`: reading it is an error.
    NeverPopulated,
    /// A REFRESH of it is running now.
    Refreshing,
    /// Refreshing, and its base tables were written since the refresh began: it will be
    /// stale again when it ends.
    RefreshingStale,
    /// Its latest recorded refresh failed or timed out.
    Failed,
    /// Its base tables were not written since its last refresh (nor an MV it reads refreshed).
    Fresh,
    /// Its base tables were written, or an MV it reads was refreshed, since its last refresh.
    Stale,
    /// Populated, but whether it is fresh is unknown: no refresh of it was measured (mvtop
    /// records the base tables' write counters with each refresh it runs).
    Populated,
    /// Populated, on a standby: its table counters count its own reads and writes, not the
    /// primary's, so they cannot tell whether the MV is fresh.
    UnknownOnStandby,
}

impl MvStatus {
    pub fn label(self) -> &'static str {
        match self {
            MvStatus::NeverPopulated => "never populated",
            MvStatus::Refreshing => "refreshing",
            MvStatus::RefreshingStale => "refreshing-stale",
            MvStatus::Failed => "failed",
            MvStatus::Fresh => "fresh",
            MvStatus::Stale => "stale",
            MvStatus::Populated => "populated",
            MvStatus::UnknownOnStandby => "unknown on a standby",
        }
    }
}

/// What the status is decided from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusInput {
    pub populated: bool,
    pub refreshing: bool,
    pub last_failed: bool,
    /// The base tables' write counters now.
    pub writes_now: Option<i64>,
    /// The counters when its last successful refresh began.
    pub writes_at_refresh: Option<i64>,
    /// The counters when the running refresh was first seen.
    pub writes_at_refresh_start: Option<i64>,
    /// An MV it reads was refreshed after it.
    pub upstream_newer: bool,
    /// The server is a standby: the write counters are its own, not the primary's.
    pub standby: bool,
}

pub fn status(i: &StatusInput) -> MvStatus {
    if i.refreshing {
        let moved =
            matches!((i.writes_now, i.writes_at_refresh_start), (Some(n), Some(s)) if n != s);
        return if moved {
            MvStatus::RefreshingStale
        } else {
            MvStatus::Refreshing
        };
    }
    if !i.populated {
        return MvStatus::NeverPopulated;
    }
    if i.last_failed {
        return MvStatus::Failed;
    }
    match (i.writes_now, i.writes_at_refresh) {
        // The ledger came from the primary: an upstream refresh after it is real.
        _ if i.standby && i.upstream_newer => MvStatus::Stale,
        _ if i.standby => MvStatus::UnknownOnStandby,
        (Some(now), Some(then)) if now != then => MvStatus::Stale,
        _ if i.upstream_newer => MvStatus::Stale,
        (Some(_), Some(_)) => MvStatus::Fresh,
        _ => MvStatus::Populated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(now: i64, then: i64) -> StatusInput {
        StatusInput {
            populated: true,
            writes_now: Some(now),
            writes_at_refresh: Some(then),
            ..StatusInput::default()
        }
    }

    #[test]
    fn the_seed_flow_updated_outdated_updating_updating_outdated() {
        assert_eq!(status(&measured(10, 10)), MvStatus::Fresh);
        assert_eq!(status(&measured(12, 10)), MvStatus::Stale);
        let refreshing = StatusInput {
            refreshing: true,
            writes_at_refresh_start: Some(12),
            ..measured(12, 10)
        };
        assert_eq!(status(&refreshing), MvStatus::Refreshing);
        let written_meanwhile = StatusInput {
            writes_now: Some(13),
            ..refreshing
        };
        assert_eq!(status(&written_meanwhile), MvStatus::RefreshingStale);
        // Done: its baseline is 12, the write during it leaves it stale.
        assert_eq!(status(&measured(13, 12)), MvStatus::Stale);
    }

    #[test]
    fn upstream_refreshes_failures_and_the_unknown() {
        let upstream = StatusInput {
            upstream_newer: true,
            ..measured(10, 10)
        };
        assert_eq!(status(&upstream), MvStatus::Stale);
        let failed = StatusInput {
            last_failed: true,
            ..measured(10, 10)
        };
        assert_eq!(status(&failed), MvStatus::Failed);
        let unknown = StatusInput {
            populated: true,
            writes_now: Some(10),
            ..StatusInput::default()
        };
        assert_eq!(status(&unknown), MvStatus::Populated);
        let empty = StatusInput::default();
        assert_eq!(status(&empty), MvStatus::NeverPopulated);
    }

    #[test]
    fn a_standby_knows_failures_and_upstream_refreshes_but_not_its_writes() {
        let standby = |i: StatusInput| status(&StatusInput { standby: true, ..i });
        assert_eq!(
            standby(measured(10, 10)),
            MvStatus::UnknownOnStandby,
            "not fresh"
        );
        assert_eq!(
            standby(measured(0, 10)),
            MvStatus::UnknownOnStandby,
            "not stale"
        );
        let upstream = StatusInput {
            upstream_newer: true,
            ..measured(10, 10)
        };
        assert_eq!(standby(upstream), MvStatus::Stale);
        let failed = StatusInput {
            last_failed: true,
            ..measured(10, 10)
        };
        assert_eq!(standby(failed), MvStatus::Failed);
        assert_eq!(standby(StatusInput::default()), MvStatus::NeverPopulated);
    }
}
