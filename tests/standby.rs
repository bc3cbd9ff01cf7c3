//! A real streaming standby of the throwaway cluster (`pg_basebackup -R`): `list` works and
//! says freshness is unknown there, a refresh is refused in one line, the console says
//! standby and offers no refresh, and the daemon and the console's scheduler claim nothing
//! and wait for promotion, then run the schedules once the standby is promoted.

mod common;

use std::time::{Duration, Instant};

use mvtop::cluster::{Cluster, ClusterOptions};
use serde_json::Value;

const FIXTURE: &str = r#"
CREATE SCHEMA rpt;
CREATE TABLE rpt.t (id int PRIMARY KEY, v int);
INSERT INTO rpt.t SELECT g, g % 7 FROM generate_series(1, 2000) g;
CREATE MATERIALIZED VIEW rpt.by_v AS SELECT v, count(*) AS n FROM rpt.t GROUP BY v;
CREATE UNIQUE INDEX by_v_uk ON rpt.by_v (v);
CREATE MATERIALIZED VIEW rpt.total AS SELECT sum(n) AS n FROM rpt.by_v;
"#;

/// A database on the primary with the fixture, the ledger, one refresh by mvtop (so the
/// primary knows rpt.by_v is fresh) and the schedules `mvtop schedule set` is given, then
/// a standby of the whole cluster.
async fn primary_and_standby(tag: &str, schedule: &[&str]) -> (String, Cluster) {
    let (db, s) = common::fresh_db_with(tag, FIXTURE, true).await;
    // The fixture's writes reach the table counters when its session ends: before the
    // refresh, so that the refresh is fresh against them.
    drop(s);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = common::mvtop(&db)
        .args(["refresh", "rpt.by_v", "rpt.total"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    if !schedule.is_empty() {
        let set = common::mvtop(&db)
            .args(["schedule", "set"])
            .args(schedule)
            .output()
            .unwrap();
        assert!(set.status.success(), "{set:?}");
    }
    let standby = tokio::task::spawn_blocking(|| {
        Cluster::standby_of(common::cluster(), &ClusterOptions::default())
    })
    .await
    .unwrap()
    .expect("a standby");
    (db, standby)
}

fn on(cluster: &Cluster, db: &str, args: &[&str]) -> std::process::Output {
    common::mvtop_on(cluster, db).args(args).output().unwrap()
}

fn status_of(list: &Value, name: &str) -> Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["qualified_name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list:#}"))["status"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_works_on_a_standby_and_a_refresh_is_refused_in_one_line() {
    let (db, standby) = primary_and_standby("standby_cli", &[]).await;
    let primary = common::cluster();
    let on_primary = common::json_of(&on(primary, &db, &["list", "--format", "json"]));
    assert_eq!(status_of(&on_primary, "rpt.by_v"), "fresh");

    let list = common::json_of(&on(&standby, &db, &["list", "--format", "json"]));
    assert_eq!(list.as_array().unwrap().len(), 2, "{list:#}");
    // Its table counters are its own (no writes replayed count there): not a wrong fresh.
    assert_eq!(status_of(&list, "rpt.by_v"), "unknown_on_standby");
    let by_v = &list[0];
    assert_eq!(
        by_v["refresh_stats_source"], "ledger",
        "the primary's ledger"
    );
    assert_eq!(by_v["refresh_count"], 1);
    let table = String::from_utf8(on(&standby, &db, &["list"]).stdout).unwrap();
    assert!(table.contains("unknown on a standby"), "{table}");

    let refused = on(&standby, &db, &["refresh", "rpt.by_v"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(
        stderr.trim(),
        "mvtop: error: the server is a standby (in recovery): materialized views cannot be \
         refreshed here"
    );
    for args in [["locks", "--format", "json"], ["top", "--format", "json"]] {
        let out = common::json_of(&on(&standby, &db, &args));
        assert!(out.is_array() || out.is_object(), "{args:?}: {out}");
    }
    let history = common::json_of(&on(&standby, &db, &["history", "--format", "json"]));
    assert_eq!(history.as_array().unwrap().len(), 2, "{history:#}");
    let doctor = common::json_of(&on(&standby, &db, &["doctor", "--format", "json"]));
    let refresh = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["feature"] == "refresh")
        .unwrap();
    assert_eq!(refresh["status"], "missing", "{refresh}");
    assert!(refresh["detail"].as_str().unwrap().contains("standby"));
    standby.stop();
}

/// Runs of `mv` recorded by schedules on `cluster`.
async fn scheduled_runs(cluster: &Cluster, db: &str, mv: &str) -> i64 {
    common::session_on(cluster, db)
        .await
        .client
        .query_one(
            "SELECT count(*) FROM mvtop.refresh_log WHERE mv_name = $1 AND source = 'schedule'
               AND outcome = 'ok'",
            &[&mv],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_and_the_console_wait_for_promotion_then_run_the_schedules() {
    // Set on the primary before the standby was made: the standby has it too.
    let every_second = ["rpt.by_v", "--every", "1s"];
    let (db, standby) = primary_and_standby("standby_promote", &every_second).await;
    let daemon = common::daemon::Daemon::start(common::mvtop_on(&standby, &db), &[]);
    let conninfo = standby.conninfo(&db);
    let console = common::tmux::Tmux::start(&format!(
        "{} -d '{conninfo}' --interval 1; echo MVTOP_EXITED $?; sleep 60",
        env!("CARGO_BIN_EXE_mvtop")
    ));
    daemon.wait_for_event("standby", 0, Duration::from_secs(20));
    console.wait_for_within("waiting for promotion", Duration::from_secs(20));
    let screen = console.wait_for("no refreshes: the server is a standby");
    assert!(screen.contains("  standby  ledger: yes"), "{screen}");
    assert!(
        !screen.contains("r refresh"),
        "no refresh offered:\n{screen}"
    );
    // A refresh asked for anyway is refused, in one line.
    console.keys(&["/", "by_v", "Enter", "r"]);
    console.wait_for("the server is a standby: materialized views cannot be refreshed");
    console.keys(&["Escape"]);

    // Three seconds of a schedule due every second: nothing claimed, nothing failed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waited = daemon.lines();
    for l in &waited {
        assert!(
            !["claimed", "problem", "finished"].contains(&l["event"].as_str().unwrap()),
            "on a standby: {waited:?}"
        );
    }
    assert_eq!(
        waited.iter().filter(|l| l["event"] == "standby").count(),
        1,
        "said once: {waited:?}"
    );
    assert_eq!(scheduled_runs(&standby, &db, "by_v").await, 0);

    let promoted_at = waited.len();
    standby.promote().expect("pg_ctl promote");
    daemon.wait_for_event("promoted", promoted_at, Duration::from_secs(20));
    let start = Instant::now();
    while scheduled_runs(&standby, &db, "by_v").await < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no scheduled runs after the promotion: {:?}\n{}",
            daemon.lines(),
            console.screen()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let screen = console.wait_for_within("primary", Duration::from_secs(20));
    assert!(
        !screen.contains("no refreshes: the server is a standby"),
        "{screen}"
    );
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log:?}");
    console.keys(&["q"]);
    console.wait_for_within("MVTOP_EXITED 0", Duration::from_secs(10));
    standby.stop();
}
