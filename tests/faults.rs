//! Faults short of a restart: mvtop's own backends terminated (the console's monitoring
//! session, a refresh), MVs dropped or renamed while their refresh is queued, and a long
//! plain REFRESH that every poll must not queue behind.

mod common;

use std::time::{Duration, Instant};

use mvtop::catalog::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::ledger::Ledger;
use mvtop::pgconn::Session;
use mvtop::refresh::{
    Concurrently, Executor, JobEvent, JobSpec, JobState, Limits, Outcome, OutcomeKind, Source,
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
CREATE MATERIALIZED VIEW app.doomed AS SELECT 1 AS x;
CREATE MATERIALIZED VIEW app.renamed AS SELECT 2 AS x;
CREATE MATERIALIZED VIEW app.blocker AS SELECT 1 AS x WHERE app.slow(2) = 1 WITH NO DATA;
CREATE MATERIALIZED VIEW app.slow AS SELECT v FROM app.t WHERE id = 1 AND app.slow(10) = 1
  WITH NO DATA;
"#;

async fn setup(tag: &str) -> (String, Session) {
    let (db, s) = common::fresh_db_with(tag, FIXTURE, true).await;
    (db, s)
}

async fn target(s: &Session, name: &str) -> Target {
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    Target::from(mvtop::catalog::names::find_in(&inv.views, name).unwrap())
}

fn spec(target: Target) -> JobSpec {
    JobSpec {
        mode: choose_mode(&target, Concurrently::Never, true).unwrap(),
        target,
        source: Source::Cli,
        limits: Limits::default(),
    }
}

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

/// (outcome, source, error) of every recorded run of `mv`.
async fn runs(s: &Session, mv: &str) -> Vec<(String, String, Option<String>)> {
    s.client
        .query(
            "SELECT outcome, source, error FROM mvtop.refresh_log WHERE mv_name = $1
             ORDER BY started_at",
            &[&mv],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn queued_refreshes_of_dropped_renamed_and_recreated_mvs() {
    let (db, s) = setup("fault_dropped").await;
    let connector = common::connector(&common::cluster().params(&db));
    // One at a time: the others queue behind a 2 s refresh.
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 1);
    let blocker = executor.submit(spec(target(&s, "app.blocker").await));
    let doomed = executor.submit(spec(target(&s, "app.doomed").await));
    let renamed = executor.submit(spec(target(&s, "app.renamed").await));
    let recreated = executor.submit(spec(target(&s, "app.quick").await));
    s.client
        .batch_execute(
            "DROP MATERIALIZED VIEW app.doomed;
             ALTER MATERIALIZED VIEW app.renamed RENAME TO \"now Named\";
             DROP MATERIALIZED VIEW app.quick;
             CREATE MATERIALIZED VIEW app.quick AS SELECT 1 AS x;",
        )
        .await
        .unwrap();
    assert_eq!(finished(&mut events, blocker).await.kind, OutcomeKind::Ok);

    let outcome = finished(&mut events, doomed).await;
    assert_eq!(outcome.kind, OutcomeKind::Refused, "{outcome:?}");
    let error = outcome.error.unwrap();
    assert_eq!(
        error, "materialized view app.doomed no longer exists",
        "one clear line"
    );
    // A rename keeps the oid: the same MV is refreshed under its new name.
    let outcome = finished(&mut events, renamed).await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
    assert_eq!(runs(&s, "now Named").await.len(), 1);
    // Recreated: another MV with the old one's name; the queued job was for the old one.
    let outcome = finished(&mut events, recreated).await;
    assert_eq!(outcome.kind, OutcomeKind::Refused, "{outcome:?}");
    assert!(outcome.error.unwrap().contains("no longer exists"));
    assert!(runs(&s, "quick").await.is_empty(), "refusals are not runs");
    assert!(runs(&s, "doomed").await.is_empty());
}

/// mvtop's own backends on `db` (application_name mvtop), with what they run.
async fn mvtop_backends(s: &Session, db: &str) -> Vec<(i32, String)> {
    s.client
        .query(
            "SELECT pid, query FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'mvtop' AND pid <> pg_backend_pid()",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn console(db: &str) -> common::tmux::Tmux {
    let conninfo = common::cluster().conninfo(db);
    common::tmux::Tmux::start(&format!(
        "{} -d '{conninfo}' --interval 1; echo MVTOP_EXITED $?; sleep 60",
        env!("CARGO_BIN_EXE_mvtop")
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_survives_its_monitor_and_its_refresh_being_terminated() {
    let (db, s) = setup("fault_terminate").await;
    let tmux = console(&db);
    tmux.wait_for_within("app.slow", Duration::from_secs(20));

    // Its monitoring session, terminated: the console reconnects and polls on.
    let before = mvtop_backends(&s, &db).await;
    assert!(!before.is_empty(), "the console's session is visible");
    for (pid, _) in &before {
        s.client
            .execute("SELECT pg_terminate_backend($1)", &[pid])
            .await
            .unwrap();
    }
    let start = Instant::now();
    let after = loop {
        let now = mvtop_backends(&s, &db).await;
        if !now.is_empty() && now.iter().all(|b| !before.contains(b)) {
            break now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no new monitoring session: {now:?}\n{}",
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        after
            .iter()
            .all(|(pid, _)| !before.iter().any(|b| b.0 == *pid))
    );
    // The lost banner (if a poll met the dead session) goes; the data stays.
    let screen = tmux.wait_gone("CONNECTION LOST", Duration::from_secs(30));
    assert!(screen.contains("app.quick"), "{screen}");

    // A refresh from the console, its backend terminated: failed, said so, recorded once.
    tmux.keys(&["/", "app.slow", "Enter", "r"]);
    let start = Instant::now();
    let refresher = loop {
        let found = s
            .client
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1
                   AND query LIKE 'REFRESH MATERIALIZED VIEW%app%slow%' AND state = 'active'",
                &[&db],
            )
            .await
            .unwrap();
        if let Some(row) = found {
            break row.get::<_, i32>(0);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the refresh never ran:\n{}",
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    s.client
        .execute("SELECT pg_terminate_backend($1)", &[&refresher])
        .await
        .unwrap();
    let screen = tmux.wait_for_within("app.slow: failed", Duration::from_secs(20));
    assert!(screen.contains("terminating connection"), "{screen}");
    let slow = runs(&s, "slow").await;
    assert_eq!(slow.len(), 1, "recorded once: {slow:?}");
    assert_eq!(
        (slow[0].0.as_str(), slow[0].1.as_str()),
        ("failed", "console")
    );
    assert!(
        slow[0]
            .2
            .as_deref()
            .unwrap_or_default()
            .contains("terminating connection"),
        "{slow:?}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for_within("MVTOP_EXITED 0", Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_poll_queues_behind_a_long_plain_refresh() {
    let (db, s) = setup("fault_long").await;
    s.client
        .batch_execute(
            "CREATE TABLE app.delay (secs float8);
             INSERT INTO app.delay VALUES (0);
             CREATE MATERIALIZED VIEW app.long AS
               SELECT g AS v FROM generate_series(1, 3) g,
                 (SELECT app.slow(secs) AS ok FROM app.delay) d;
             CREATE UNIQUE INDEX long_uk ON app.long (v);
             UPDATE app.delay SET secs = 20;",
        )
        .await
        .unwrap();
    let tmux = console(&db);
    tmux.wait_for_within("app.long", Duration::from_secs(20));
    // Selected (its detail is read) and the statements pane open: every poll runs.
    tmux.keys(&["/", "app.long", "Enter", "5"]);

    // A plain REFRESH holds ACCESS EXCLUSIVE on the MV for 20 s.
    let refresher = common::session(&db).await;
    refresher
        .client
        .batch_execute(
            "SET lock_timeout = 0; SET statement_timeout = 0; SET application_name = etl",
        )
        .await
        .unwrap();
    let refresh = tokio::spawn(async move {
        refresher
            .client
            .batch_execute("REFRESH MATERIALIZED VIEW app.long")
            .await
    });
    let start = Instant::now();
    let mut polls = std::collections::BTreeSet::new();
    let mut list_ms = None;
    while start.elapsed() < Duration::from_secs(18) {
        let rows = s
            .client
            .query(
                "SELECT pid, wait_event_type, state, query_start, left(query, 60)
                 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mvtop'",
                &[&db],
            )
            .await
            .unwrap();
        for r in &rows {
            let wait: Option<String> = r.get(1);
            let state: Option<String> = r.get(2);
            assert!(
                !(wait.as_deref() == Some("Lock") && state.as_deref() == Some("active")),
                "an mvtop session waits for a lock: pid {} {:?}",
                r.get::<_, i32>(0),
                r.get::<_, Option<String>>(4)
            );
            polls.insert(r.get::<_, Option<chrono::DateTime<chrono::Utc>>>(3));
        }
        if list_ms.is_none() && start.elapsed() > Duration::from_secs(5) {
            // The scripts' inventory too, while the lock is held.
            let t = Instant::now();
            let out = common::mvtop(&db)
                .args(["list", "--format", "json"])
                .output()
                .unwrap();
            list_ms = Some(t.elapsed().as_millis());
            let json = common::json_of(&out);
            assert!(json.to_string().contains("long"), "{json}");
        }
        let screen = tmux.screen();
        assert!(!screen.contains("CONNECTION LOST"), "{screen}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(!refresh.is_finished(), "the refresh still runs");
    // A 1 s poll: about 18 distinct query starts of the console's session (and more).
    assert!(polls.len() >= 12, "polls kept completing: {}", polls.len());
    assert!(
        list_ms.is_some_and(|ms| ms < 5_000),
        "mvtop list took {list_ms:?} ms"
    );
    let screen = tmux.screen();
    assert!(
        screen.contains("(just now") || screen.contains("(1s ago"),
        "the console's poll age stays fresh:\n{screen}"
    );
    refresh.await.unwrap().unwrap();
    tmux.keys(&["q"]);
    tmux.wait_for_within("MVTOP_EXITED 0", Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_survives_its_monitor_and_a_refresh_being_terminated() {
    let (db, s) = setup("fault_daemon").await;
    // The slow one (10 s) runs two seconds in; its next run starts only after its end.
    for (mv, every) in [("app.quick", "1s"), ("app.slow", "2s")] {
        let out = common::mvtop(&db)
            .args(["schedule", "set", mv, "--every", every])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let daemon = common::daemon::Daemon::start(common::mvtop(&db), &["--grace", "1s"]);
    // The slow refresh's backend, and the daemon's own.
    let start = Instant::now();
    let (refresher, monitors) = loop {
        let backends = mvtop_backends(&s, &db).await;
        let refresher = backends
            .iter()
            .find(|(_, q)| q.starts_with("REFRESH MATERIALIZED VIEW") && q.contains("slow"))
            .map(|(pid, _)| *pid);
        let monitors: Vec<i32> = backends
            .iter()
            .filter(|(_, q)| !q.starts_with("REFRESH"))
            .map(|(pid, _)| *pid)
            .collect();
        if let (Some(r), false) = (refresher, monitors.is_empty()) {
            break (r, monitors);
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no refresh of app.slow: {backends:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let before = daemon.lines().len();
    for pid in monitors.iter().chain([&refresher]) {
        s.client
            .execute("SELECT pg_terminate_backend($1)", &[pid])
            .await
            .unwrap();
    }
    let terminated_at = chrono::Utc::now();

    // The refresh: failed, said so, recorded once, as the schedule's.
    let start = Instant::now();
    let finished = loop {
        let lines = daemon.lines();
        if let Some(l) = lines[before..]
            .iter()
            .find(|l| l["event"] == "finished" && l["mv"] == "app.slow")
        {
            break l.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{lines:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished["outcome"], "failed", "{finished}");
    assert!(
        finished["error"]
            .as_str()
            .unwrap()
            .contains("terminating connection"),
        "{finished}"
    );
    // (A next run may be under way by now; it is not recorded before it ends.)
    let slow = runs(&s, "slow").await;
    assert_eq!(slow.len(), 1, "recorded once: {slow:?}");
    assert_eq!(
        (slow[0].0.as_str(), slow[0].1.as_str()),
        ("failed", "schedule")
    );
    assert!(
        slow[0]
            .2
            .as_deref()
            .unwrap_or_default()
            .contains("terminating connection"),
        "{slow:?}"
    );

    // It goes on: new scheduled runs of the quick one, on a new monitoring session.
    let start = Instant::now();
    loop {
        let later: i64 = s
            .client
            .query_one(
                "SELECT count(*) FROM mvtop.refresh_log WHERE mv_name = 'quick'
                   AND source = 'schedule' AND outcome = 'ok' AND started_at > $1",
                &[&terminated_at],
            )
            .await
            .unwrap()
            .get(0);
        if later >= 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no scheduled runs after the terminations: {:?}",
            daemon.lines()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let now = mvtop_backends(&s, &db).await;
    assert!(
        now.iter().all(|(pid, _)| !monitors.contains(pid)),
        "{now:?}"
    );
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log:?}");
    // A problem met on the dead session is followed by its recovery.
    let after = &log[before..];
    if let Some(p) = after.iter().position(|l| l["event"] == "problem") {
        assert!(
            after[p..].iter().any(|l| l["event"] == "recovered"),
            "{after:?}"
        );
    }
}
