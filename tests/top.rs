//! `mvtop top` against a real server: the running set (without mvtop's own session), REFRESH
//! linked to its MV, pg_stat_statements deltas over an interval, and every way
//! pg_stat_statements can be unavailable.

mod common;

use std::time::Duration;

use mvtop::pgconn::{Session, SessionSettings};
use serde_json::Value;

const FIXTURE: &str = r#"
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 1000) g;
CREATE MATERIALIZED VIEW "Sales by Region" AS SELECT v, count(*) AS n FROM t GROUP BY v;
"#;

async fn setup(tag: &str, with_pss: bool) -> (String, Session) {
    let (db, s) = common::fresh_db(tag).await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    if with_pss {
        s.client
            .batch_execute("CREATE EXTENSION pg_stat_statements")
            .await
            .unwrap();
    }
    (db, s)
}

/// A session sleeping in the background under `app`, for the running set.
async fn sleeper(db: &str, app: &str) -> (tokio::task::JoinHandle<()>, i32) {
    let s = common::session(db).await;
    s.client
        .batch_execute(&format!("SET application_name = '{app}'"))
        .await
        .unwrap();
    let pid: i32 = s
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let task = tokio::spawn(async move {
        let _ = s.client.batch_execute("SELECT pg_sleep(20)").await;
    });
    (task, pid)
}

fn top(db: &str, args: &[&str]) -> (Value, String) {
    let out = common::mvtop(db)
        .args(["top", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (common::json_of(&out), stderr)
}

fn running_pid(report: &Value, pid: i32) -> Option<&Value> {
    report["running"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pid"] == pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_extension_the_running_set_still_shows_and_one_line_says_what_to_do() {
    let (db, _s) = setup("top_missing", false).await;
    let (task, pid) = sleeper(&db, "napper").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (report, stderr) = top(&db, &[]);
    let why = report["statements_unavailable"].as_str().unwrap();
    assert!(why.contains("CREATE EXTENSION pg_stat_statements"), "{why}");
    assert_eq!(stderr.trim(), format!("mvtop: note: {why}"));
    assert_eq!(report["statements"], serde_json::json!([]));
    let r = running_pid(&report, pid).expect("the sleeper runs");
    for key in [
        "pid",
        "user",
        "application",
        "state",
        "wait_event",
        "elapsed_ms",
        "query",
    ] {
        assert!(r.get(key).is_some(), "{key} in {r}");
    }
    assert_eq!(r["application"], "napper");
    assert_eq!(r["state"], "active");
    assert_eq!(r["wait_event"], "PgSleep");
    assert!(r["elapsed_ms"].as_f64().unwrap() >= 200.0);
    assert!(
        report["running"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["query"].as_str().unwrap().contains("pg_blocking_pids")),
        "mvtop's own monitoring session is not in the running set"
    );
    // The table says it too, and exits 0.
    let out = common::mvtop(&db).arg("top").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("Running statements"), "{text}");
    assert!(!text.contains("Top statements"), "{text}");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_without_pg_read_all_stats_is_told_how_to_see_everything() {
    let (db, s) = setup("top_unprivileged", true).await;
    s.client
        .batch_execute(&format!(
            "CREATE ROLE \"Report Reader\" LOGIN; GRANT CONNECT ON DATABASE \"{db}\" TO \"Report Reader\""
        ))
        .await
        .unwrap();
    // -d's conninfo wins over -U, as in psql: the user goes into it.
    let conninfo = format!("{} user='Report Reader'", common::cluster().conninfo(&db));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mvtop"))
        .args(["-d", &conninfo, "top", "--format", "json"])
        .output()
        .unwrap();
    let report = common::json_of(&out);
    assert_eq!(report["statements_unavailable"], Value::Null);
    assert_eq!(
        report["statements_note"],
        "only the statements of role Report Reader are visible: \
         GRANT pg_read_all_stats TO \"Report Reader\";"
    );
    assert!(report["statements"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_reports_the_statements_of_that_interval_with_refreshes_marked() {
    let (db, s) = setup("top_interval", true).await;
    let child = common::mvtop(&db)
        .args([
            "top",
            "--format",
            "json",
            "--interval",
            "3s",
            "--limit",
            "50",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Inside the window: 7 calls of one statement, 2 refreshes.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let work = common::session(&db).await;
    for i in 0..7 {
        work.client
            .query("SELECT count(*) FROM t WHERE v = $1", &[&(i % 7)])
            .await
            .unwrap();
    }
    for _ in 0..2 {
        work.client
            .batch_execute(r#"REFRESH MATERIALIZED VIEW "Sales by Region""#)
            .await
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let report = common::json_of(&out);
    assert_eq!(report["interval_ms"], 3000);
    let statements = report["statements"].as_array().unwrap();
    let counted = statements
        .iter()
        .find(|s| s["query"] == "SELECT count(*) FROM t WHERE v = $1")
        .unwrap_or_else(|| panic!("{statements:#?}"));
    for key in ["queryid", "query", "calls", "total_ms", "mean_ms", "rows"] {
        assert!(counted.get(key).is_some(), "{key}");
    }
    assert_eq!(counted["calls"], 7, "only the calls of the window");
    assert_eq!(counted["rows"], 7);
    let per_s = counted["calls_per_s"].as_f64().unwrap();
    assert!((2.0..=2.5).contains(&per_s), "{per_s}");
    let refresh = statements
        .iter()
        .find(|s| s["refresh_of"] == r#""Sales by Region""#)
        .unwrap_or_else(|| panic!("{statements:#?}"));
    assert_eq!(refresh["calls"], 2);
    assert!(refresh["mean_ms"].as_f64().unwrap() > 0.0);
    let share: f64 = statements
        .iter()
        .map(|s| s["share"].as_f64().unwrap())
        .sum();
    assert!((share - 1.0).abs() < 0.01, "{share}");

    // Cumulative (no interval) with the REFRESH filter: only refreshes, totals since reset.
    let (report, _) = top(&db, &["--refresh-only"]);
    let only = report["statements"].as_array().unwrap();
    assert!(!only.is_empty());
    assert!(
        only.iter().all(|s| s["refresh_of"].is_string()),
        "{only:#?}"
    );
    assert!(only.iter().all(|s| s["calls_per_s"].is_null()));
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_refresh_is_linked_to_its_mv() {
    let (db, s) = setup("top_refresh", false).await;
    s.client
        .batch_execute(
            "CREATE FUNCTION nap() RETURNS int LANGUAGE sql VOLATILE \
               AS $$ SELECT 1 FROM pg_sleep(coalesce(current_setting('mvtop_test.nap', true), '0')::float8) $$; \
             CREATE MATERIALIZED VIEW slow AS SELECT nap() AS n",
        )
        .await
        .unwrap();
    let r = common::connector(&common::cluster().params(&db))
        .connect(&SessionSettings::MONITORING)
        .await
        .unwrap();
    r.client
        .batch_execute("SET mvtop_test.nap = '10'")
        .await
        .unwrap();
    let pid: i32 = r
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let task = tokio::spawn(async move {
        let _ = r
            .client
            .batch_execute("/* nightly */ REFRESH MATERIALIZED VIEW public . slow")
            .await;
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (report, _) = top(&db, &[]);
    let running = running_pid(&report, pid).expect("the refresh runs");
    assert_eq!(running["refresh_of"], "public.slow");
    s.client
        .query("SELECT pg_cancel_backend($1)", &[&pid])
        .await
        .unwrap();
    task.await.unwrap();
}
