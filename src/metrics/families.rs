//! The metric families, named after postgres_exporter's habits (`mvtop_` prefix, base
//! units, `_seconds`, `_bytes`, `_timestamp_seconds`, counters ending in `_total`), encoded
//! by `prometheus-client` in the Prometheus text format 0.0.4 (what `promtool check metrics`
//! checks and every Prometheus scrapes; its OpenMetrics encoder would end in `# EOF`).

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{SchedulerHealth, Snapshot};
use crate::catalog::{MatView, MvStatus};
use crate::schedule::next_run;

/// The `Content-Type` of what `render` returns.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

pub(super) type Labels = Vec<(&'static str, String)>;
pub(super) type FGauge = Gauge<f64, AtomicU64>;

/// database, schema, name: an MV's identity, and nothing else (no owner, no definition).
pub(super) fn labels(database: &str, v: &MatView) -> Labels {
    vec![
        ("database", database.to_string()),
        ("schema", v.schema.clone()),
        ("name", v.name.clone()),
    ]
}

/// Stale by the same judgement `mvtop list` and the console show (`MvStatus`).
pub fn is_stale(v: &MatView) -> bool {
    matches!(v.status, MvStatus::Stale | MvStatus::RefreshingStale)
}

pub(super) fn gauge_family(
    registry: &mut Registry,
    name: &str,
    help: &str,
) -> Family<Labels, FGauge> {
    let family = Family::<Labels, FGauge>::default();
    registry.register(name, help, family.clone());
    family
}

/// Whole numbers (0/1 flags, counts of sessions) print as such: `1`, not `1.0`.
pub(super) fn int_family(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

pub(super) fn set(family: &Family<Labels, FGauge>, l: &Labels, value: f64) {
    family.get_or_create(l).set(value);
}

fn secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The whole exposition for one snapshot (and, in the daemon, its scheduler's health).
pub fn render(snap: &Snapshot, health: Option<&SchedulerHealth>, now: DateTime<Utc>) -> String {
    let mut r = Registry::default();
    let up = Gauge::<i64>::default();
    r.register(
        "mvtop_up",
        "Whether the last read of the database succeeded (1) or failed (0)",
        up.clone(),
    );
    up.set(flag(snap.error.is_none()));
    let ledger_up = Gauge::<i64>::default();
    r.register(
        "mvtop_ledger_up",
        "Whether the refresh ledger (mvtop install) was reachable and current",
        ledger_up.clone(),
    );
    ledger_up.set(flag(snap.ledger_up));
    if let Some(inv) = &snap.inventory {
        per_mv(&mut r, snap, &inv.facts.database, &inv.views, now);
        super::cost::per_mv(&mut r, &inv.facts.database, &inv.views);
    }
    if let Some(h) = health {
        scheduler(&mut r, h);
    }
    let mut out = String::new();
    // Writing into a String cannot fail; the encoder only reports the writer's errors.
    let _ = prometheus_text::encode(&mut out, &r);
    out
}

fn per_mv(r: &mut Registry, snap: &Snapshot, db: &str, views: &[MatView], now: DateTime<Utc>) {
    let last_ts = gauge_family(
        r,
        "mvtop_mv_last_refresh_timestamp_seconds",
        "Unix time of the MV's last successful refresh",
    );
    let last_dur = gauge_family(
        r,
        "mvtop_mv_last_refresh_duration_seconds",
        "Duration of the MV's last successful refresh",
    );
    let avg_dur = gauge_family(
        r,
        "mvtop_mv_refresh_duration_seconds_avg",
        "Average duration of the MV's successful refreshes",
    );
    let success = int_family(
        r,
        "mvtop_mv_last_refresh_success",
        "Whether the MV's latest recorded refresh succeeded (1) or failed, was cancelled or timed out (0)",
    );
    let failures = Family::<Labels, Counter>::default();
    r.register(
        "mvtop_mv_refresh_failures",
        "Failed, cancelled and timed-out refreshes of the MV in the ledger",
        failures.clone(),
    );
    let refreshes = Family::<Labels, Counter>::default();
    r.register(
        "mvtop_mv_refreshes",
        "Successful refreshes of the MV recorded",
        refreshes.clone(),
    );
    let size = gauge_family(
        r,
        "mvtop_mv_size_bytes",
        "Total size of the MV with its indexes and TOAST (absent while a lock would make sizing wait)",
    );
    let stale = int_family(
        r,
        "mvtop_mv_stale",
        "Whether the MV is stale (1): its base tables were written, or an MV it reads refreshed, since its last refresh",
    );
    let stale_secs = gauge_family(
        r,
        "mvtop_mv_stale_seconds",
        "Seconds since the last refresh of a stale MV (0 while fresh)",
    );
    let next = gauge_family(
        r,
        "mvtop_mv_next_refresh_timestamp_seconds",
        "Unix time of the MV's next scheduled refresh (mvtop schedules with a time)",
    );
    let waiters = int_family(
        r,
        "mvtop_mv_lock_waiting_sessions",
        "Sessions waiting now for a lock on the MV",
    );
    let longest = gauge_family(
        r,
        "mvtop_mv_lock_wait_longest_seconds",
        "The longest wait now for a lock on the MV",
    );
    for v in views {
        let l = labels(db, v);
        if let Some(t) = v.last_refresh {
            set(&last_ts, &l, secs(t));
        }
        if let Some(ms) = v.last_refresh_ms {
            set(&last_dur, &l, ms / 1000.0);
        }
        if let Some(ms) = v.avg_refresh_ms {
            set(&avg_dur, &l, ms / 1000.0);
        }
        if let Some(o) = &v.last_refresh_outcome {
            success.get_or_create(&l).set(flag(o == "ok"));
        }
        if let Some(n) = v.refresh_failures {
            failures.get_or_create(&l).inc_by(n.max(0) as u64);
        }
        if let Some(n) = v.refresh_count {
            refreshes.get_or_create(&l).inc_by(n.max(0) as u64);
        }
        if let Some(b) = v.total_bytes {
            set(&size, &l, b as f64);
        }
        let is = is_stale(v);
        stale.get_or_create(&l).set(flag(is));
        let age = match (is, v.last_refresh) {
            (true, Some(t)) => Some((now - t).num_milliseconds().max(0) as f64 / 1000.0),
            (true, None) => None,
            (false, _) => Some(0.0),
        };
        if let Some(a) = age {
            set(&stale_secs, &l, a);
        }
        let own = snap
            .schedules
            .iter()
            .find(|s| s.mv_schema == v.schema && s.mv_name == v.name);
        if let Some(t) = own.and_then(|s| next_run(s, v, now).next.instant(now)) {
            set(&next, &l, secs(t));
        }
        let locks = snap.locks.get(&v.oid);
        let n = locks.map_or(0, |m| m.waiters);
        waiters.get_or_create(&l).set(n as i64);
        set(
            &longest,
            &l,
            locks.map_or(0.0, |m| m.longest_wait_ms / 1000.0),
        );
    }
}

fn scheduler(r: &mut Registry, h: &SchedulerHealth) {
    let delay = FGauge::default();
    r.register(
        "mvtop_scheduler_start_delay_seconds",
        "Seconds from the due time to the start of the last run this scheduler claimed",
        delay.clone(),
    );
    delay.set(h.start_delay_seconds.unwrap_or(0.0));
    let claims = Counter::<u64>::default();
    r.register(
        "mvtop_scheduler_claims",
        "Due runs this scheduler claimed",
        claims.clone(),
    );
    claims.inc_by(h.claims);
    let lost = Counter::<u64>::default();
    r.register(
        "mvtop_scheduler_claims_lost",
        "Due runs another scheduler (or a running refresh) claimed first",
        lost.clone(),
    );
    lost.inc_by(h.claims_lost);
    let ok = Gauge::<i64>::default();
    r.register(
        "mvtop_scheduler_up",
        "Whether the scheduler's last look at the database succeeded (1) or met a problem (0)",
        ok.clone(),
    );
    ok.set(flag(!h.troubled));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Inventory, ServerFacts};

    fn snapshot(views: Vec<MatView>) -> Snapshot {
        let facts = ServerFacts {
            database: "app".into(),
            ..ServerFacts::default()
        };
        Snapshot {
            inventory: Some(Inventory {
                facts,
                views,
                hints: Vec::new(),
            }),
            ..Snapshot::default()
        }
    }

    #[test]
    fn hostile_names_are_escaped_in_label_values() {
        let name = "we\"ird\\na\nme".to_string();
        let mut v = MatView::named(1, "s".into(), name, "x".into());
        v.status = MvStatus::Stale;
        let text = render(&snapshot(vec![v]), None, Utc::now());
        let line = text
            .lines()
            .find(|l| l.starts_with("mvtop_mv_stale{"))
            .expect(&text);
        assert_eq!(
            line,
            r#"mvtop_mv_stale{database="app",schema="s",name="we\"ird\\na\nme"} 1"#
        );
        assert!(!text.contains("# EOF"), "0.0.4, not OpenMetrics");
    }

    #[test]
    fn counters_end_in_total_and_a_failed_read_says_so() {
        let mut v = MatView::named(1, "s".into(), "m".into(), "s.m".into());
        v.refresh_failures = Some(3);
        v.last_refresh_outcome = Some("failed".into());
        let text = render(&snapshot(vec![v]), None, Utc::now());
        assert!(
            text.contains(
                "mvtop_mv_refresh_failures_total{database=\"app\",schema=\"s\",name=\"m\"} 3"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "mvtop_mv_last_refresh_success{database=\"app\",schema=\"s\",name=\"m\"} 0"
            ),
            "{text}"
        );
        let failed = Snapshot {
            error: Some("connection refused".into()),
            ..Snapshot::default()
        };
        let text = render(&failed, Some(&SchedulerHealth::default()), Utc::now());
        assert!(text.contains("mvtop_up 0"), "{text}");
        assert!(
            text.contains("mvtop_scheduler_claims_lost_total 0"),
            "{text}"
        );
        assert!(
            !text.contains("connection refused"),
            "no error text in the exposition"
        );
    }
}
