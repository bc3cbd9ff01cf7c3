//! The server restarts (fast shutdown, down for a few seconds) while the console polls, a
//! refresh runs and the daemon schedules: the console shows the outage and reconnects, the
//! refresh's outcome is recorded exactly once, and the daemon carries on.
//!
//! A test binary of its own: restarting the server would break every other test sharing it.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use mvtop::catalog::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::ledger::Ledger;
use mvtop::refresh::{
    Concurrently, Executor, JobEvent, JobState, Limits, Outcome, OutcomeKind, Recorded, Source,
    Target, choose_mode,
};
use tokio::sync::mpsc::UnboundedReceiver;

const FIXTURE: &str = r#"
CREATE SCHEMA app;
CREATE FUNCTION app.slow(secs float8) RETURNS int LANGUAGE sql VOLATILE AS
  $$ SELECT 1 FROM pg_sleep(secs) $$;
CREATE TABLE app.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO app.t SELECT g, g % 10 FROM generate_series(1, 1000) g;
CREATE MATERIALIZED VIEW app.quick AS SELECT v, count(*) AS n FROM app.t GROUP BY v;
CREATE UNIQUE INDEX quick_uk ON app.quick (v);
CREATE MATERIALIZED VIEW app.slow AS SELECT v FROM app.t WHERE id = 1 AND app.slow(10) = 1
  WITH NO DATA;
"#;

async fn finished(events: &mut UnboundedReceiver<JobEvent>, id: u64) -> Outcome {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
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

/// (started_at, outcome, source, error) of every recorded run of `mv`, oldest first.
async fn runs(db: &str, mv: &str) -> Vec<(DateTime<Utc>, String, String, Option<String>)> {
    common::session(db)
        .await
        .client
        .query(
            "SELECT started_at, outcome, source, error FROM mvtop.refresh_log
             WHERE mv_name = $1 ORDER BY started_at",
            &[&mv],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_is_survived_by_console_refresh_and_daemon() {
    let (db, s) = common::fresh_db_with("restart", FIXTURE, true).await;
    let out = common::mvtop(&db)
        .args(["schedule", "set", "app.quick", "--every", "1s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let conninfo = common::cluster().conninfo(&db);
    let console = common::tmux::Tmux::start(&format!(
        "{} -d '{conninfo}' --interval 1; echo MVTOP_EXITED $?; sleep 60",
        env!("CARGO_BIN_EXE_mvtop")
    ));
    console.wait_for_within("app.quick", Duration::from_secs(20));
    let daemon = common::daemon::Daemon::start(common::mvtop(&db), &[]);
    daemon.wait_for_event("finished", 0, Duration::from_secs(15));

    // A refresh that runs for 10 s, killed by the restart half a second in.
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let target = Target::from(mvtop::catalog::names::find_in(&inv.views, "app.slow").unwrap());
    let connector = common::connector(&common::cluster().params(&db));
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 1);
    let spec = mvtop::refresh::JobSpec {
        mode: choose_mode(&target, Concurrently::Never, true).unwrap(),
        target,
        source: Source::Cli,
        limits: Limits::default(),
    };
    let id = executor.submit(spec);
    loop {
        let e = events.recv().await.unwrap();
        if matches!(e.state, JobState::Running { .. }) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_lines = daemon.lines().len();
    drop(s);
    let banner = console.watch_for("CONNECTION LOST", Duration::from_secs(30));
    tokio::task::spawn_blocking(|| common::cluster().restart(Duration::from_secs(4)))
        .await
        .unwrap()
        .expect("restart");
    let restarted_at = Utc::now();

    // The refresh: failed, said so, and recorded exactly once once the server is back.
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Failed, "{outcome:?}");
    assert_eq!(outcome.recorded, Recorded::Ledger, "{outcome:?}");
    let slow = runs(&db, "slow").await;
    assert_eq!(slow.len(), 1, "recorded once: {slow:?}");
    assert_eq!((slow[0].1.as_str(), slow[0].2.as_str()), ("failed", "cli"));
    let error = slow[0].3.clone().unwrap_or_default();
    assert!(error.contains("terminating connection"), "{error}");

    // The console showed the outage (its banner) and is back with live data.
    let banner = banner
        .join()
        .unwrap()
        .expect("the console shows CONNECTION LOST");
    assert!(
        banner.contains("app.quick"),
        "the last data stays: {banner}"
    );
    let screen = console.wait_gone("CONNECTION LOST", Duration::from_secs(40));
    assert!(screen.contains("app.quick"), "{screen}");
    assert!(
        !screen.contains("MVTOP_EXITED"),
        "the console still runs:\n{screen}"
    );

    // The daemon said what went wrong and that it works again, and kept refreshing.
    daemon.wait_for_event("recovered", before_lines, Duration::from_secs(30));
    let mut later = Vec::new();
    for _ in 0..100 {
        later = runs(&db, "quick").await;
        later.retain(|r| r.0 > restarted_at && r.1 == "ok" && r.2 == "schedule");
        if later.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log:?}");
    assert!(
        later.len() >= 2,
        "scheduled runs after the restart: {later:?}"
    );
    let after = &log[before_lines..];
    assert!(
        after.iter().any(|l| l["event"] == "problem"),
        "the outage was reported: {after:?}"
    );
    console.keys(&["q"]);
    console.wait_for_within("MVTOP_EXITED 0", Duration::from_secs(10));
}
