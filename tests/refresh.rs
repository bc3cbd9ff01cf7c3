//! The refresh engine against a real cluster: modes, lock timeouts with retries, cancel,
//! two refreshers racing, cascades through views, killed and failing refreshes, and the
//! accuracy of the recorded durations.

mod common;

use std::time::Duration;

use mvtop::catalog::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::ledger::{HistoryFilter, Ledger};
use mvtop::pgconn::{Connector, Session};
use mvtop::refresh::{
    Concurrently, Executor, JobEvent, JobSpec, JobState, Limits, Outcome, OutcomeKind, Recorded,
    Source, Target, choose_mode,
};
use tokio::sync::mpsc::UnboundedReceiver;

const FIXTURE: &str = r#"
CREATE EXTENSION pg_stat_statements;
CREATE SCHEMA app;
CREATE SCHEMA "Reporting Schema";
CREATE SCHEMA rpt;
CREATE FUNCTION app.slow(secs float8) RETURNS int LANGUAGE sql VOLATILE AS
  $$ SELECT 1 FROM pg_sleep(secs) $$;
CREATE TABLE app.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO app.t SELECT g, g % 10 FROM generate_series(1, 1000) g;
CREATE VIEW app.v AS SELECT v, count(*) AS n FROM app.t GROUP BY v;
CREATE MATERIALIZED VIEW rpt.base AS SELECT * FROM app.v;
CREATE UNIQUE INDEX base_uk ON rpt.base (v);
CREATE VIEW app.v_base AS SELECT v, n FROM rpt.base;
CREATE MATERIALIZED VIEW rpt.via_view AS SELECT sum(n) AS n FROM app.v_base;
CREATE MATERIALIZED VIEW rpt.top AS SELECT max(n) AS n FROM rpt.via_view;
CREATE MATERIALIZED VIEW rpt.slow AS SELECT g AS id FROM generate_series(1, 2) g WHERE app.slow(0.25) = 1;
CREATE UNIQUE INDEX slow_uk ON rpt.slow (id);
CREATE MATERIALIZED VIEW rpt.divides AS SELECT 100 / v AS x FROM app.t WHERE id < 5;
CREATE MATERIALIZED VIEW "Reporting Schema"."Sales ""EU"" é" AS SELECT 1 AS x;
"#;

async fn setup(tag: &str, ledger: bool) -> (String, Session, Connector) {
    let (db, s) = common::fresh_db_with(tag, FIXTURE, ledger).await;
    let connector = common::connector(&common::cluster().params(&db));
    (db, s, connector)
}

async fn target(s: &Session, name: &str) -> Target {
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    Target::from(mvtop::catalog::names::find_in(&inv.views, name).unwrap())
}

fn spec(target: Target, concurrently: Concurrently, limits: Limits) -> JobSpec {
    let mode = choose_mode(&target, concurrently, true).unwrap();
    JobSpec {
        target,
        mode,
        source: Source::Cli,
        limits,
    }
}

async fn finished(events: &mut UnboundedReceiver<JobEvent>, id: u64) -> Outcome {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("the job finishes")
            .expect("events");
        if event.id == id
            && let JobState::Finished(outcome) = event.state
        {
            return outcome;
        }
    }
}

async fn last_run(s: &Session) -> mvtop::ledger::RefreshRecord {
    let runs = Ledger::default()
        .history(&s.client, &HistoryFilter::default())
        .await
        .unwrap();
    runs.into_iter().next().expect("a recorded run")
}

#[tokio::test]
async fn a_refresh_is_recorded_once_with_an_accurate_duration() {
    let (_db, s, connector) = setup("accuracy", true).await;
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 2);
    let t = target(&s, "rpt.slow").await;
    let id = executor.submit(spec(t, Concurrently::Never, Limits::default()));
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
    assert_eq!(outcome.recorded, Recorded::Ledger);
    let run = last_run(&s).await;
    assert_eq!((run.source.as_str(), run.outcome.as_str()), ("cli", "ok"));
    assert!(!run.concurrently);
    assert!(run.bytes_after.unwrap() > 0);
    assert_eq!(run.rows_after, Some(2));
    let runs = Ledger::default()
        .history(&s.client, &HistoryFilter::default())
        .await
        .unwrap();
    assert_eq!(
        runs.len(),
        1,
        "recorded once, not also by the event trigger"
    );
    // The same statement as pg_stat_statements saw it.
    let pss: f64 = s
        .client
        .query_one(
            "SELECT total_exec_time FROM pg_stat_statements
             WHERE query = 'REFRESH MATERIALIZED VIEW \"rpt\".\"slow\"'",
            &[],
        )
        .await
        .expect("pg_stat_statements has the canonical text")
        .get(0);
    let ours = run.duration_ms.unwrap();
    let diff = (ours - pss).abs();
    println!("accuracy: mvtop {ours:.2} ms, pg_stat_statements {pss:.2} ms, diff {diff:.2} ms");
    assert!(
        diff <= 5.0_f64.max(pss * 0.05),
        "mvtop {ours} ms vs pg_stat_statements {pss} ms"
    );
}

#[tokio::test]
async fn concurrently_is_chosen_when_possible_and_refused_when_not() {
    let (_db, s, connector) = setup("modes", true).await;
    let base = target(&s, "rpt.base").await;
    assert!(
        choose_mode(&base, Concurrently::Auto, true)
            .unwrap()
            .concurrently
    );
    let via = target(&s, "rpt.via_view").await;
    assert!(
        !choose_mode(&via, Concurrently::Auto, true)
            .unwrap()
            .concurrently
    );
    assert!(choose_mode(&via, Concurrently::Always, true).is_err());
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 2);
    let id = executor.submit(spec(base, Concurrently::Auto, Limits::default()));
    assert_eq!(finished(&mut events, id).await.kind, OutcomeKind::Ok);
    assert!(last_run(&s).await.concurrently);
}

#[tokio::test]
async fn lock_timeout_is_retried_then_reported_as_timed_out() {
    let (db, s, connector) = setup("locktimeout", true).await;
    let holder = common::session(&db).await;
    holder
        .client
        .batch_execute("BEGIN; SELECT * FROM rpt.via_view")
        .await
        .unwrap();
    let limits = Limits {
        lock_timeout: Duration::from_millis(150),
        lock_retries: 2,
        retry_backoff: Duration::from_millis(50),
        statement_timeout: None,
    };
    let (executor, mut events) = Executor::new(connector.clone(), Some(Ledger::default()), 2);
    let t = target(&s, "rpt.via_view").await;
    let id = executor.submit(spec(t.clone(), Concurrently::Never, limits));
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::TimedOut, "{outcome:?}");
    assert_eq!(outcome.attempts, 3);
    assert!(
        outcome.error.as_deref().unwrap().contains("lock timeout"),
        "{outcome:?}"
    );
    let run = last_run(&s).await;
    assert_eq!(run.outcome, "timed_out");

    // Once the reader is gone, a retry gets through.
    let retrying = Limits {
        retry_backoff: Duration::from_millis(400),
        ..limits
    };
    let id = executor.submit(spec(t, Concurrently::Never, retrying));
    tokio::time::sleep(Duration::from_millis(300)).await;
    holder.client.batch_execute("COMMIT").await.unwrap();
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
    assert!(outcome.attempts >= 2, "{outcome:?}");
}

#[tokio::test]
async fn cancel_mid_refresh_is_recorded_as_cancelled() {
    let (_db, s, connector) = setup("cancel", true).await;
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 2);
    let t = target(&s, "rpt.slow").await;
    let id = executor.submit(spec(t, Concurrently::Never, Limits::default()));
    loop {
        let e = events.recv().await.unwrap();
        if matches!(e.state, JobState::Running { .. }) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(executor.cancel(id));
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Cancelled, "{outcome:?}");
    assert_eq!(last_run(&s).await.outcome, "cancelled");
    assert!(!executor.cancel(id), "a finished job is no longer known");
}

#[tokio::test]
async fn two_refreshers_racing_on_one_mv_run_it_once() {
    let (_db, s, connector) = setup("race", true).await;
    // Two executors stand for two mvtop processes: only the database coordinates them.
    let (first, mut first_events) = Executor::new(connector.clone(), Some(Ledger::default()), 2);
    let (second, mut second_events) = Executor::new(connector, Some(Ledger::default()), 2);
    let t = target(&s, "rpt.slow").await;
    let a = first.submit(spec(t.clone(), Concurrently::Never, Limits::default()));
    let b = second.submit(spec(t, Concurrently::Never, Limits::default()));
    let (a, b) = tokio::join!(
        finished(&mut first_events, a),
        finished(&mut second_events, b)
    );
    let kinds = [a.kind, b.kind];
    assert!(kinds.contains(&OutcomeKind::Ok), "{a:?} {b:?}");
    assert!(kinds.contains(&OutcomeKind::Refused), "{a:?} {b:?}");
    let refused = if a.kind == OutcomeKind::Refused { a } else { b };
    assert!(
        refused
            .error
            .as_deref()
            .unwrap()
            .contains("is already being refreshed by pid"),
        "{refused:?}"
    );
    let runs = Ledger::default()
        .history(&s.client, &HistoryFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
}

#[tokio::test]
async fn a_killed_refresh_is_recorded_as_failed() {
    let (_db, s, connector) = setup("killed", true).await;
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 2);
    let t = target(&s, "rpt.slow").await;
    let id = executor.submit(spec(t, Concurrently::Never, Limits::default()));
    let pid = loop {
        let e = events.recv().await.unwrap();
        if let JobState::Running { pid, .. } = e.state {
            break pid;
        }
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.client
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Failed, "{outcome:?}");
    assert_eq!(outcome.recorded, Recorded::Ledger);
    let run = last_run(&s).await;
    assert_eq!(run.outcome, "failed");
    assert!(run.error.is_some());
}

#[tokio::test]
async fn a_failing_refresh_is_recorded_with_its_error() {
    let (_db, s, connector) = setup("failing", true).await;
    s.client
        .batch_execute("UPDATE app.t SET v = 0 WHERE id = 1")
        .await
        .unwrap();
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 2);
    let t = target(&s, "rpt.divides").await;
    let id = executor.submit(spec(t, Concurrently::Auto, Limits::default()));
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Failed);
    let run = last_run(&s).await;
    assert_eq!(run.outcome, "failed");
    assert!(run.error.unwrap().contains("division by zero"));
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let mv = inv.views.iter().find(|v| v.name == "divides").unwrap();
    assert_eq!(mv.status, mvtop::catalog::MvStatus::Failed);
    assert_eq!(mv.refresh_failures, Some(1));
}

#[tokio::test]
async fn without_a_ledger_outcomes_stay_in_memory() {
    let (_db, s, connector) = setup("noledger", false).await;
    let (executor, mut events) = Executor::new(connector, None, 1);
    let t = target(&s, r#""Reporting Schema"."Sales ""EU"" é""#).await;
    let id = executor.submit(spec(t, Concurrently::Auto, Limits::default()));
    let outcome = finished(&mut events, id).await;
    assert_eq!(
        (outcome.kind, outcome.recorded),
        (OutcomeKind::Ok, Recorded::Memory)
    );
}

#[tokio::test]
async fn cascade_down_through_a_view_from_the_command_line() {
    let (db, _s, _connector) = setup("cascade", true).await;
    let out = common::mvtop(&db)
        .args([
            "refresh",
            "--cascade",
            "down",
            "--format",
            "json",
            "rpt.base",
        ])
        .output()
        .unwrap();
    let lines = common::json_of(&out);
    let order: Vec<(&str, i64)> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap(), l["step"].as_i64().unwrap()))
        .collect();
    assert_eq!(order, [("base", 1), ("via_view", 2), ("top", 3)]);
    let dry = common::mvtop(&db)
        .args(["refresh", "--cascade", "up", "--dry-run", "rpt.top"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        text.contains("AccessExclusiveLock") && text.contains("(3 rows)"),
        "{text}"
    );
    let refused = common::mvtop(&db)
        .args(["refresh", "--concurrently", "always", "rpt.top"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot be refreshed concurrently"));
}

#[tokio::test]
async fn a_refresh_waiting_for_a_lock_says_behind_whom() {
    let (db, s, connector) = setup("waiting", true).await;
    let holder = common::session(&db).await;
    holder
        .client
        .batch_execute("BEGIN; SELECT * FROM rpt.top")
        .await
        .unwrap();
    let holder_pid: i32 = holder
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 2);
    let t = target(&s, "rpt.top").await;
    let limits = Limits {
        lock_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let id = executor.submit(spec(t, Concurrently::Never, limits));
    let mut states = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an event")
            .unwrap();
        if let JobState::WaitingForLock { blocked_by } = &e.state {
            assert_eq!(blocked_by, &vec![holder_pid]);
            holder.client.batch_execute("COMMIT").await.unwrap();
        }
        let done = matches!(e.state, JobState::Finished(_));
        states.push(e.state);
        if done {
            break;
        }
    }
    let names: Vec<&str> = states
        .iter()
        .map(|s| match s {
            JobState::Queued => "queued",
            JobState::WaitingForLock { .. } => "waiting",
            JobState::Running { .. } => "running",
            JobState::Retrying { .. } => "retrying",
            JobState::Finished(_) => "finished",
        })
        .collect();
    assert_eq!(names[..3], ["queued", "running", "waiting"], "{states:?}");
    assert_eq!(names.last(), Some(&"finished"));
    assert!(matches!(states.last(), Some(JobState::Finished(o)) if o.kind == OutcomeKind::Ok));
    let _ = id;
}
