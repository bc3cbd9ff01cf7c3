//! The metric families of what refreshes cost: the last successful refresh's WAL, spill and
//! reads, and the sessions it blocked (ledger, or this process's runs). A figure that was
//! not measured is absent, never 0.

use prometheus_client::registry::Registry;

use super::families::{gauge_family, int_family, labels, set};
use crate::catalog::MatView;

pub(super) fn per_mv(r: &mut Registry, db: &str, views: &[MatView]) {
    let wal = gauge_family(
        r,
        "mvtop_mv_last_refresh_wal_bytes",
        "WAL written by the MV's last successful refresh (pg_stat_statements)",
    );
    let temp = gauge_family(
        r,
        "mvtop_mv_last_refresh_temp_bytes",
        "Temporary file bytes (spill) written by the MV's last successful refresh",
    );
    let read = gauge_family(
        r,
        "mvtop_mv_last_refresh_shared_read_bytes",
        "Shared buffer bytes read from outside shared_buffers by the MV's last successful refresh",
    );
    let blocked = int_family(
        r,
        "mvtop_mv_last_refresh_blocked_sessions",
        "Sessions that waited for the MV's lock during its last successful refresh",
    );
    let blocked_secs = gauge_family(
        r,
        "mvtop_mv_last_refresh_blocked_seconds",
        "Those sessions' waits summed",
    );
    let longest = gauge_family(
        r,
        "mvtop_mv_last_refresh_blocked_longest_seconds",
        "The longest of those waits",
    );
    for v in views {
        let Some(last) = v.refresh_cost.as_ref().and_then(|c| c.last.as_ref()) else {
            continue;
        };
        let l = labels(db, v);
        for (family, value) in [
            (&wal, last.wal_bytes),
            (&temp, last.temp_bytes),
            (&read, last.shared_read_bytes),
        ] {
            if let Some(b) = value {
                set(family, &l, b as f64);
            }
        }
        if let Some(b) = last.blocked() {
            blocked.get_or_create(&l).set(i64::from(b.sessions));
            set(&blocked_secs, &l, b.total_ms / 1000.0);
            set(&longest, &l, b.longest_ms / 1000.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::cost::{CostSummary, RunCost};
    use crate::catalog::{Inventory, MatView, ServerFacts, StatsSource};
    use crate::metrics::Snapshot;

    #[test]
    fn measured_figures_are_exposed_and_unknown_ones_absent() {
        let mut v = MatView::named(1, "s".into(), "m".into(), "s.m".into());
        let last = RunCost {
            wal_bytes: Some(11_650_786),
            blocked_sessions: Some(2),
            blocked_total_ms: Some(3837.0),
            blocked_longest_ms: Some(1919.0),
            ..RunCost::default()
        };
        v.refresh_cost = Some(CostSummary {
            source: StatsSource::Ledger,
            last: Some(last),
            last_concurrently: Some(false),
            runs_considered: 1,
            avg_wal_bytes: None,
            avg_temp_bytes: None,
            avg_shared_read_bytes: None,
            avg_blocked_total_ms: None,
            plain_avg_wal_bytes: None,
            plain_wal_runs: 0,
            concurrently_avg_wal_bytes: None,
            concurrently_wal_runs: 0,
            last_plain_blocked: None,
            max_plain_blocked_total_ms: None,
        });
        let snap = Snapshot {
            inventory: Some(Inventory {
                facts: ServerFacts {
                    database: "app".into(),
                    ..ServerFacts::default()
                },
                views: vec![v],
                hints: Vec::new(),
            }),
            ..Snapshot::default()
        };
        let text = super::super::families::render(&snap, None, chrono::Utc::now());
        let l = r#"{database="app",schema="s",name="m"}"#;
        assert!(
            text.contains(&format!("mvtop_mv_last_refresh_wal_bytes{l} 11650786")),
            "{text}"
        );
        assert!(text.contains(&format!("mvtop_mv_last_refresh_blocked_sessions{l} 2")));
        assert!(text.contains(&format!("mvtop_mv_last_refresh_blocked_seconds{l} 3.837")));
        assert!(
            !text.contains(&format!("mvtop_mv_last_refresh_temp_bytes{l}")),
            "not measured: absent"
        );
    }
}
