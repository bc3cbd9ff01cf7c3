//! The fixed sessions the locks and activity panes' tests (and the snapshot tests) start
//! from: lock waits behind an idle transaction, a refresh, readers, statements.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;

use super::fixture;
use crate::catalog::locks::tests::{session, waits};
use crate::catalog::sessions::Sessions;
use crate::catalog::statements::{Counter, Counters};
use crate::refresh::{JobSpec, JobState, Limits, Mode, Source, Target};
use crate::tui::msg::Msg;
use crate::tui::state::{JobView, State};
use crate::tui::update::update;

/// An idle-in-transaction session (101) holds a read lock on copr_target_builds (oid 2);
/// a plain refresh of it (102) waits behind; two readers (103, 104) queue behind the
/// refresh. 105 reads from disk; 106 refreshes builds_hourly (oid 1) concurrently.
pub fn sessions() -> Sessions {
    let mv = "reporting.copr_target_builds";
    let mut etl = session(
        101,
        "idle in transaction",
        "SELECT * FROM reporting.copr_target_builds WHERE id = 7",
    );
    etl.user = Some("loader".into());
    etl.application = "etl".into();
    etl.xact_age_ms = Some(245_000.0);
    let mut refresh = waits(
        session(
            102,
            "active",
            "REFRESH MATERIALIZED VIEW reporting.copr_target_builds",
        ),
        mv,
        Some(2),
        &[(101, &["AccessShareLock"])],
    );
    refresh.application = "mvtop".into();
    if let Some(w) = refresh.wait.as_mut() {
        w.mode = "AccessExclusiveLock".into();
    }
    let reader = |pid: i32| {
        let mut r = waits(
            session(
                pid,
                "active",
                "SELECT count(*) FROM reporting.copr_target_builds",
            ),
            mv,
            Some(2),
            &[(102, &[])],
        );
        r.application = "grafana".into();
        r
    };
    let (r1, r2) = (reader(103), reader(104));
    let mut io = session(
        105,
        "active",
        "SELECT count(*)\n  FROM ci.builds WHERE at > now() - interval '1 day'",
    );
    io.wait_event_type = Some("IO".into());
    io.wait_event = Some("DataFileRead".into());
    io.elapsed_ms = Some(2_500.0);
    let mut hourly = session(
        106,
        "active",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.builds_hourly",
    );
    hourly.elapsed_ms = Some(800.0);
    Sessions {
        rows: vec![refresh, r1, r2, io, hourly, etl],
    }
}

pub fn counters(entries: &[(i64, i64, f64)]) -> Counters {
    Counters {
        by_query: entries
            .iter()
            .map(|&(id, calls, ms)| {
                let c = Counter {
                    calls,
                    total_ms: ms,
                    rows: calls * 10,
                };
                (id, c)
            })
            .collect(),
    }
}

/// The console with sessions, statements and a refresh job waiting for its lock.
pub fn state() -> State {
    let mut s = fixture::state();
    s.views[0].refreshing_pids = vec![106];
    let _ = update(&mut s, Msg::Tick(fixture::now()));
    let generation = s.sessions.reads.generation();
    update(
        &mut s,
        Msg::Sessions {
            generation,
            result: Ok(sessions()),
        },
    );
    // Two reads of pg_stat_statements, 5 s apart.
    let generation = s.sessions.statements.reads.generation();
    update(
        &mut s,
        Msg::Statements {
            generation,
            result: Ok(counters(&[
                (1, 100, 1000.0),
                (2, 10, 500.0),
                (3, 1, 1480.0),
            ])),
        },
    );
    s.now = fixture::now() + Duration::seconds(5);
    let generation = s.sessions.statements.reads.supersede(s.now);
    update(
        &mut s,
        Msg::Statements {
            generation,
            result: Ok(counters(&[
                (1, 150, 1600.0),
                (2, 12, 540.0),
                (3, 2, 2980.0),
            ])),
        },
    );
    let generation = s.sessions.statements.text_reads.generation();
    update(
        &mut s,
        Msg::StatementTexts {
            generation,
            result: Ok(HashMap::from([
                (1, "SELECT * FROM ci.builds WHERE id = $1".to_string()),
                (
                    2,
                    "UPDATE ci.builds SET status = $1 WHERE id = $2".to_string(),
                ),
                (
                    3,
                    "REFRESH MATERIALIZED VIEW reporting.copr_target_builds".to_string(),
                ),
            ])),
        },
    );
    s.now = fixture::now();
    s.sessions.polled_at = Some(s.now);
    let view = s.views.iter().find(|v| v.oid == 2).unwrap();
    let spec = JobSpec {
        target: Target::from(view),
        mode: Mode {
            concurrently: false,
            with_data: true,
        },
        source: Source::Console,
        limits: Limits::default(),
    };
    s.jobs.insert(
        1,
        JobView {
            spec: Arc::new(spec),
            state: JobState::WaitingForLock {
                blocked_by: vec![101],
            },
            queued_at: fixture::now(),
            started_at: Some(fixture::now()),
            finished_at: None,
        },
    );
    s.message = None;
    s
}
