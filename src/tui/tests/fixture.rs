//! A fixed console state for tests and snapshots: no database, no clock.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::catalog::{Inventory, MatView, MvStatus, ServerFacts, StatsSource};
use crate::tui::state::State;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

pub fn facts() -> ServerFacts {
    ServerFacts {
        version_num: 150018,
        version: "15.18 (Debian 15.18-0+deb12u1)".into(),
        in_recovery: false,
        role: "postgres".into(),
        database: "mvtop_demo".into(),
        track_commit_timestamp: true,
        pss_schema: Some("public".into()),
        pss_preloaded: Some(true),
        reads_all_stats: true,
        stats_since: None,
        mv_count: 4,
        mv_xmin_sum: "1000".into(),
        ledger_installed: true,
        ledger_outdated: false,
        ledger_version: Some(crate::ledger::LATEST_VERSION),
    }
}

fn mv(oid: u32, schema: &str, name: &str, qualified: &str) -> MatView {
    MatView::named(oid, schema.into(), name.into(), qualified.into())
}

pub fn views() -> Vec<MatView> {
    let mut hourly = mv(1, "reporting", "builds_hourly", "reporting.builds_hourly");
    hourly.owner = "postgres".into();
    hourly.total_bytes = Some(139_264);
    hourly.heap_bytes = Some(90_112);
    hourly.index_bytes = Some(49_152);
    hourly.rows_estimate = Some(1010);
    hourly.concurrent_ready = true;
    hourly.unique_index = Some("builds_hourly_hour_status_key".into());
    hourly.depends_on = vec!["ci.copr_build_targets".into()];
    hourly.last_refresh = Some(now() - chrono::Duration::minutes(3));
    hourly.avg_refresh_ms = Some(88.0);
    hourly.refresh_count = Some(12);
    (hourly.last_refresh_source, hourly.refresh_stats_source) =
        (Some(StatsSource::Ledger), Some(StatsSource::Ledger));
    hourly.status = MvStatus::Fresh;
    (hourly.base_writes, hourly.base_writes_at_refresh) = (Some(10), Some(10));
    hourly.definition = Some(" SELECT date_trunc('hour', t.at) AS hour, count(*) AS n\n   FROM ci.builds t\n  GROUP BY 1;".into());
    let mut big = mv(
        2,
        "reporting",
        "copr_target_builds",
        "reporting.copr_target_builds",
    );
    big.owner = "postgres".into();
    big.total_bytes = Some(56_623_104);
    big.rows_estimate = Some(360_082);
    big.avg_refresh_ms = Some(1_480.0);
    big.last_refresh = Some(now() - chrono::Duration::hours(2));
    (big.last_refresh_source, big.refresh_stats_source) =
        (Some(StatsSource::Ledger), Some(StatsSource::Ledger));
    big.lock_holders = 2;
    big.status = MvStatus::Stale;
    (big.base_writes, big.base_writes_at_refresh) = (Some(12), Some(10));
    big.downstream_mvs = vec!["\"Reporting\".\"Builds by Project\"".into()];
    let mut odd = mv(
        3,
        "Reporting",
        "Builds by Project",
        "\"Reporting\".\"Builds by Project\"",
    );
    odd.owner = "demo_app".into();
    odd.total_bytes = Some(401_408);
    odd.heap_bytes = Some(253_952);
    odd.index_bytes = Some(147_456);
    odd.rows_estimate = Some(2000);
    odd.refresh_level = 1;
    odd.upstream_oids = vec![2];
    odd.upstream_mvs = vec!["reporting.copr_target_builds".into()];
    odd.status = MvStatus::Failed;
    odd.last_refresh_outcome = Some("failed".into());
    odd.last_refresh_error = Some("division by zero".into());
    let mut empty = mv(
        4,
        "reporting",
        "koji_builds_daily",
        "reporting.koji_builds_daily",
    );
    empty.populated = false;
    empty.status = MvStatus::NeverPopulated;
    empty.total_bytes = Some(16_384);
    vec![hourly, big, odd, empty]
}

/// A console that has polled once.
pub fn state() -> State {
    let mut s = State::new(
        "postgres@/tmp/demo:5432/mvtop_demo".into(),
        false,
        Duration::from_secs(2),
        now(),
    );
    let inventory = Inventory {
        facts: facts(),
        views: views(),
        hints: Vec::new(),
    };
    let generation = s.polling.reads.supersede(now());
    let effects = crate::tui::update::update(
        &mut s,
        crate::tui::msg::Msg::Inventory {
            generation,
            result: Ok(Box::new(inventory)),
        },
    );
    // The inventory asked for the schedules: answer that read.
    let generation = effects
        .iter()
        .find_map(|e| match e {
            crate::tui::msg::Effect::FetchSchedules { generation } => Some(*generation),
            _ => None,
        })
        .expect("the first inventory reads the schedules");
    let _ = crate::tui::update::update(
        &mut s,
        crate::tui::msg::Msg::Schedules {
            generation,
            result: Ok(schedules()),
        },
    );
    s.schedules.scheduler_on = true;
    s
}

/// An hourly interval, a change-driven one and a nightly cron with a window.
pub fn schedules() -> Vec<crate::schedule::Schedule> {
    use crate::schedule::policy::{Policy, PolicyInput};
    let make = |schema: &str, name: &str, text: PolicyInput, last_due_min: Option<i64>| {
        let (policy, window): (Policy, _) = text.parse("UTC").expect("fixture schedule");
        crate::schedule::Schedule {
            mv_schema: schema.into(),
            mv_name: name.into(),
            policy,
            window,
            concurrently: crate::refresh::Concurrently::Auto,
            from_naming: false,
            created_at: now() - chrono::Duration::days(1),
            last_due: last_due_min.map(|m| now() - chrono::Duration::minutes(m)),
            base_writes: Some(0),
        }
    };
    vec![
        make(
            "reporting",
            "builds_hourly",
            PolicyInput {
                every: Some("1h".into()),
                ..PolicyInput::default()
            },
            Some(20),
        ),
        make(
            "reporting",
            "copr_target_builds",
            PolicyInput {
                on_change: true,
                quiet: Some("2m".into()),
                ..PolicyInput::default()
            },
            Some(120),
        ),
        make(
            "Reporting",
            "Builds by Project",
            PolicyInput {
                cron: Some("0 3 * * *".into()),
                window: Some("01:00-05:00".into()),
                ..PolicyInput::default()
            },
            None,
        ),
    ]
}
