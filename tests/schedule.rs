//! Schedules and the daemon against a real cluster: `schedule set/list/rm/advise`, an
//! every-2s schedule on time, change-driven refreshes after the quiet period, three daemons
//! on one database without overlap or duplicates, and SIGTERM in the middle of a refresh.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mvtop::pgconn::Session;

const FIXTURE: &str = r#"
CREATE SCHEMA app;
CREATE SCHEMA "Reporting";
CREATE FUNCTION app.slow(secs float8) RETURNS int LANGUAGE sql VOLATILE AS
  $$ SELECT 1 FROM pg_sleep(secs) $$;
CREATE TABLE app.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO app.t SELECT g, g % 10 FROM generate_series(1, 100) g;
CREATE VIEW app.v AS SELECT v, count(*) AS n FROM app.t GROUP BY v;
CREATE MATERIALIZED VIEW app.quick AS SELECT * FROM app.v;
CREATE UNIQUE INDEX quick_uk ON app.quick (v);
CREATE MATERIALIZED VIEW app.downstream AS SELECT sum(n) AS n FROM app.quick;
CREATE MATERIALIZED VIEW app.slow AS SELECT v FROM app.t WHERE id = 1 AND app.slow(3) = 1;
CREATE MATERIALIZED VIEW "Reporting"."Sales ""EU"" é" AS SELECT 1 AS x;
"#;

async fn setup(tag: &str) -> (String, Session) {
    let (db, s) = common::fresh_db_with(tag, FIXTURE, true).await;
    (db, s)
}

fn mvtop_ok(db: &str, args: &[&str]) -> String {
    let out = common::mvtop(db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mvtop {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn mvtop_err(db: &str, args: &[&str]) -> String {
    let out = common::mvtop(db).args(args).output().unwrap();
    assert!(!out.status.success(), "mvtop {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
}

use common::daemon::Daemon;

/// (started_at, finished_at, outcome) of every recorded run of `mv`, oldest first.
async fn runs(s: &Session, mv: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>, String, String)> {
    s.client
        .query(
            "SELECT started_at, finished_at, outcome, source FROM mvtop.refresh_log
             WHERE mv_name = $1 ORDER BY started_at",
            &[&mv],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[tokio::test]
async fn set_list_rm_and_bad_input_named() {
    let (db, _s) = setup("sched_cli").await;
    mvtop_ok(&db, &["schedule", "set", "app.quick", "--every", "15m"]);
    mvtop_ok(
        &db,
        &[
            "schedule",
            "set",
            r#""Reporting"."Sales ""EU"" é""#,
            "--cron",
            "0 3 * * *",
            "--tz",
            "Europe/Paris",
            "--window",
            "01:00-05:00",
        ],
    );
    mvtop_ok(
        &db,
        &[
            "schedule",
            "set",
            "downstream",
            "--on-change",
            "--quiet",
            "30s",
        ],
    );
    let list: serde_json::Value =
        serde_json::from_str(&mvtop_ok(&db, &["schedule", "list", "--format", "json"])).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    let by = |name: &str| list.iter().find(|s| s["name"] == name).unwrap().clone();
    let quick = by("quick");
    assert_eq!(quick["policy"]["every_ms"], 900_000);
    assert!(quick["next_run"].is_string(), "{quick}");
    // Quoted only where SQL needs it, as `mvtop list` and the console show it.
    assert_eq!(quick["qualified_name"], "app.quick");
    let sales = by("Sales \"EU\" é");
    assert_eq!(sales["policy"]["tz"], "Europe/Paris");
    assert_eq!(sales["window"], "01:00-05:00");
    assert_eq!(sales["qualified_name"], r#""Reporting"."Sales ""EU"" é""#);
    let down = by("downstream");
    assert_eq!(down["stale"], false);
    assert_eq!(down["policy"]["quiet_ms"], 30_000);

    let table = mvtop_ok(&db, &["schedule", "list"]);
    assert!(table.contains("every 15m"), "{table}");
    assert!(table.contains("(3 rows)"), "{table}");

    // Each bad part is named.
    let e = mvtop_err(
        &db,
        &["schedule", "set", "app.quick", "--cron", "61 * * * *"],
    );
    assert!(e.contains("\"61 * * * *\""), "{e}");
    let e = mvtop_err(&db, &["schedule", "set", "app.quick", "--cron", "* * *"]);
    assert!(e.contains("3 fields"), "{e}");
    let e = mvtop_err(&db, &["schedule", "set", "app.quick", "--every", "soon"]);
    assert!(e.contains("--every"), "{e}");
    let e = mvtop_err(
        &db,
        &[
            "schedule",
            "set",
            "app.quick",
            "--every",
            "1h",
            "--window",
            "1-5",
        ],
    );
    assert!(e.contains("window"), "{e}");
    let e = mvtop_err(
        &db,
        &[
            "schedule",
            "set",
            "app.quick",
            "--every",
            "1h",
            "--tz",
            "Nowhere/Land",
            "--window",
            "01:00-02:00",
        ],
    );
    assert!(e.contains("Nowhere/Land"), "{e}");
    let e = mvtop_err(&db, &["schedule", "set", "app.nope", "--every", "1h"]);
    assert!(e.contains("does not exist"), "{e}");
    let e = mvtop_err(
        &db,
        &[
            "schedule",
            "set",
            "app.slow",
            "--every",
            "1h",
            "--concurrently",
            "always",
        ],
    );
    assert!(e.contains("unique index"), "{e}");

    mvtop_ok(&db, &["schedule", "rm", "app.quick"]);
    let e = mvtop_err(&db, &["schedule", "rm", "app.quick"]);
    assert!(e.contains("has no schedule"), "{e}");

    let advice: serde_json::Value =
        serde_json::from_str(&mvtop_ok(&db, &["schedule", "advise", "--format", "json"])).unwrap();
    let slow = advice
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["qualified_name"] == "app.slow")
        .unwrap();
    assert_eq!(slow["tier"], "unmeasured");
    assert!(slow["notes"][0].as_str().unwrap().contains("unique index"));
}

#[tokio::test]
async fn schedules_need_the_ledger() {
    let (db, _s) = common::fresh_db("sched_noledger").await;
    let e = mvtop_err(&db, &["schedule", "list"]);
    assert!(e.contains("mvtop install"), "{e}");
    let d = mvtop_err(&db, &["daemon"]);
    assert!(d.contains("mvtop install"), "{d}");
    // One check, one message, whichever command asks.
    assert_eq!(e, d);
}

#[tokio::test]
async fn an_every_2s_schedule_runs_on_time() {
    let (db, s) = setup("sched_every").await;
    mvtop_ok(&db, &["schedule", "set", "app.quick", "--every", "2s"]);
    let set_at = Utc::now();
    let daemon = Daemon::start(common::mvtop(&db), &[]);
    tokio::time::sleep(Duration::from_millis(9_000)).await;
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{status:?} {log:?}");
    let runs = runs(&s, "quick").await;
    assert!((3..=5).contains(&runs.len()), "{runs:?}");
    assert!(
        runs.iter().all(|r| r.2 == "ok" && r.3 == "schedule"),
        "{runs:?}"
    );
    // The first fire is 2 s after the schedule was set; each next one 2 s later.
    let first = (runs[0].0 - set_at).num_milliseconds();
    assert!(
        (1_500..3_500).contains(&first),
        "first run after {first} ms"
    );
    // Due every 2 s; a start delayed by a loaded machine (parallel tests on 2 cores) may
    // stretch one gap and shorten the next, never run twice for one due instant.
    for pair in runs.windows(2) {
        let gap = (pair[1].0 - pair[0].0).num_milliseconds();
        assert!(
            (1_000..=3_500).contains(&gap),
            "runs {gap} ms apart: {runs:?}"
        );
    }
    assert!(log.iter().any(|l| l["event"] == "claimed"), "{log:?}");
    assert_eq!(log.last().unwrap()["event"], "stopped");
}

#[tokio::test]
async fn writes_trigger_a_refresh_only_after_the_quiet_period() {
    let (db, s) = setup("sched_change").await;
    mvtop_ok(
        &db,
        &[
            "schedule",
            "set",
            "app.quick",
            "--on-change",
            "--quiet",
            "3s",
        ],
    );
    let daemon = Daemon::start(common::mvtop(&db), &[]);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(runs(&s, "quick").await.is_empty(), "no writes, no refresh");
    // Three writes a second apart, each on its own session (its stats are flushed at exit).
    let mut last_write = Utc::now();
    for i in 0..3 {
        let w = common::session(&db).await;
        w.client
            .execute("UPDATE app.t SET v = v + 1 WHERE id = $1", &[&(i + 1)])
            .await
            .unwrap();
        drop(w);
        last_write = Utc::now();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            runs(&s, "quick").await.is_empty(),
            "refreshed while writes go on"
        );
    }
    let start = Instant::now();
    let mut found = Vec::new();
    while start.elapsed() < Duration::from_secs(20) && found.is_empty() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        found = runs(&s, "quick").await;
    }
    let (status, log) = daemon.terminate();
    assert!(status.success());
    assert_eq!(
        found.len(),
        1,
        "one refresh for the burst: {found:?} {log:?}"
    );
    let after = (found[0].0 - last_write).num_milliseconds();
    assert!(after >= 2_900, "refreshed {after} ms after the last write");
    let claimed = log.iter().find(|l| l["event"] == "claimed").unwrap();
    assert_eq!(claimed["why"], "writes quiet");
    // Fresh again: the counters were recorded with the refresh.
    let list: serde_json::Value =
        serde_json::from_str(&mvtop_ok(&db, &["list", "--format", "json"])).unwrap();
    let quick = list
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "quick")
        .unwrap();
    assert_eq!(quick["status"], "fresh", "{quick}");
    let down = list
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "downstream")
        .unwrap();
    assert_ne!(
        down["status"], "fresh",
        "an MV it reads refreshed since: {down}"
    );
}

#[tokio::test]
async fn three_daemons_never_overlap_nor_duplicate() {
    let (db, s) = setup("sched_three").await;
    for mv in [
        "app.quick",
        "app.downstream",
        "app.slow",
        r#""Reporting"."Sales ""EU"" é""#,
    ] {
        mvtop_ok(&db, &["schedule", "set", mv, "--every", "2s"]);
    }
    let set_at = Utc::now();
    let daemons: Vec<Daemon> = (0..3)
        .map(|_| Daemon::start(common::mvtop(&db), &["--jobs", "4"]))
        .collect();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let mut claims = 0;
    for d in daemons {
        let (status, log) = d.terminate();
        assert!(status.success());
        claims += log.iter().filter(|l| l["event"] == "claimed").count();
    }
    let elapsed = (Utc::now() - set_at).num_milliseconds();
    let mut total = 0;
    for mv in ["quick", "downstream", "slow", "Sales \"EU\" é"] {
        let runs = runs(&s, mv).await;
        total += runs.len();
        assert!(!runs.is_empty(), "{mv} never ran");
        // At most one run per due instant (every 2 s) and never two at once.
        assert!(
            runs.len() as i64 <= elapsed / 2000 + 1,
            "{mv}: {} runs",
            runs.len()
        );
        for pair in runs.windows(2) {
            assert!(pair[1].0 >= pair[0].1, "{mv} overlapped: {pair:?}");
        }
    }
    // Every claim became exactly one run (the SIGTERM ones included).
    assert_eq!(claims, total, "claims and recorded runs");
}

#[tokio::test]
async fn sigterm_mid_refresh_records_the_outcome() {
    let (db, s) = setup("sched_term").await;
    mvtop_ok(&db, &["schedule", "set", "app.slow", "--every", "1s"]);
    // A short grace: the 3 s refresh is cancelled, and that is recorded.
    let daemon = Daemon::start(common::mvtop(&db), &["--grace", "500ms"]);
    daemon.wait_for_event("refreshing", 0, Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log:?}");
    let runs = runs(&s, "slow").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].2, "cancelled");
    let finished = log.iter().find(|l| l["event"] == "finished").unwrap();
    assert_eq!(finished["outcome"], "cancelled");
    assert_eq!(finished["recorded"], "ledger");

    // A long grace: the refresh finishes, ok.
    let daemon = Daemon::start(common::mvtop(&db), &["--grace", "10s"]);
    daemon.wait_for_event("refreshing", 0, Duration::from_secs(10));
    let (status, _) = daemon.terminate();
    assert!(status.success());
    let after = runs_named(&s, "slow").await;
    assert_eq!(after.last().map(String::as_str), Some("ok"), "{after:?}");
}

async fn runs_named(s: &Session, mv: &str) -> Vec<String> {
    runs(s, mv).await.into_iter().map(|r| r.2).collect()
}

#[tokio::test]
async fn a_dropped_ledger_is_reported_and_the_daemon_keeps_refreshing() {
    let (db, s) = setup("sched_dropped").await;
    mvtop_ok(&db, &["schedule", "set", "app.quick", "--every", "1s"]);
    let daemon = Daemon::start(common::mvtop(&db), &[]);
    daemon.wait_for_event("finished", 0, Duration::from_secs(10));
    s.client
        .batch_execute("DROP SCHEMA mvtop CASCADE")
        .await
        .unwrap();
    let dropped_at = daemon.lines().len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log:?}");
    let after = &log[dropped_at..];
    let problem = after
        .iter()
        .find(|l| l["event"] == "problem")
        .unwrap_or_else(|| panic!("no problem reported: {after:?}"));
    assert!(
        problem["error"].as_str().unwrap().contains("mvtop install"),
        "{problem}"
    );
    let in_memory = after
        .iter()
        .filter(|l| l["event"] == "finished" && l["outcome"] == "ok" && l["recorded"] == "memory")
        .count();
    assert!(in_memory >= 2, "kept refreshing: {after:?}");
    let problems = after.iter().filter(|l| l["event"] == "problem").count();
    assert!(problems <= 2, "said once, not every tick: {after:?}");
}

#[tokio::test]
async fn mvs_due_together_refresh_upstream_first() {
    let (db, s) = setup("sched_order").await;
    // downstream reads quick; both due at the same instants.
    mvtop_ok(&db, &["schedule", "set", "app.downstream", "--every", "2s"]);
    mvtop_ok(&db, &["schedule", "set", "app.quick", "--every", "2s"]);
    s.client
        .batch_execute(
            "UPDATE mvtop.schedule SET created_at = (SELECT max(created_at) FROM mvtop.schedule)",
        )
        .await
        .unwrap();
    let daemon = Daemon::start(common::mvtop(&db), &["--jobs", "4"]);
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log:?}");
    let (up, down) = (runs(&s, "quick").await, runs(&s, "downstream").await);
    assert!(up.len() >= 2 && up.len() == down.len(), "{up:?} {down:?}");
    for (u, d) in up.iter().zip(&down) {
        assert!(
            u.1 <= d.0,
            "downstream started before upstream finished: {u:?} {d:?}"
        );
    }
}

/// Without pg_cron on the server: one line says so where pg_cron would show, and everything
/// else works as before.
#[tokio::test]
async fn without_pg_cron_one_line_says_so_and_nothing_else_changes() {
    let (db, _s) = setup("no_pg_cron").await;
    let out = common::mvtop(&db)
        .args(["schedule", "list", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "mvtop: pg_cron: pg_cron is not loaded on this server: add pg_cron to \
         shared_preload_libraries (and set cron.database_name), restart, then CREATE EXTENSION pg_cron"
    );
    let e = mvtop_err(
        &db,
        &[
            "schedule",
            "set",
            "app.quick",
            "--cron",
            "* * * * *",
            "--engine",
            "pg_cron",
        ],
    );
    assert!(e.contains("pg_cron is not loaded on this server"), "{e}");
    let doctor: serde_json::Value =
        serde_json::from_str(&mvtop_ok(&db, &["doctor", "--format", "json"])).unwrap();
    let line = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["feature"] == "pg_cron")
        .cloned()
        .unwrap();
    assert_eq!(line["status"], "missing");
    let out = common::mvtop(&db).args(["history"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
