//! `mvtop bench` against a real cluster: on the demo data (loaded once per binary) a view
//! slower than its MV, a plain view measured through a temporary MV that leaves nothing
//! behind, a timeout, `--query` with quoted names; on small fixtures the refresh through
//! the engine (recorded in the ledger), the read rate from the statistics, and cancelling.

mod common;

use std::process::Output;
use std::time::Duration;

use mvtop::bench::{self, BenchError, Options};
use serde_json::Value;
use tokio::sync::OnceCell;

static DEMO: OnceCell<String> = OnceCell::const_new();

/// The demo database at scale 1, loaded by the first test that needs it. Benchmarks of it
/// only read (or create and roll back), so the tests share it.
async fn demo() -> &'static str {
    DEMO.get_or_init(|| async {
        let (db, s) = common::fresh_db("demo").await;
        mvtop::demo::load(&s.client, 1).await.expect("demo load");
        s.client.batch_execute("ANALYZE").await.expect("analyze");
        db
    })
    .await
}

const FIXTURE: &str = r#"
CREATE SCHEMA "Reporting";
CREATE TABLE "Reporting".t (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL);
INSERT INTO "Reporting".t SELECT g, g % 50, g FROM generate_series(1, 100000) g;
-- Slow to compute (an aggregate over a self-join), small to read.
CREATE MATERIALIZED VIEW "Reporting"."top""customers_é" AS
  SELECT a.grp, count(*) AS n, sum(b.v) AS total
  FROM "Reporting".t a JOIN "Reporting".t b ON b.id = a.id + 1
  GROUP BY a.grp;
CREATE UNIQUE INDEX top_customers_uk ON "Reporting"."top""customers_é" (grp);
ANALYZE;
"#;

async fn fixture(tag: &str, ledger: bool) -> String {
    let (db, _) = common::fresh_db_with(tag, FIXTURE, ledger).await;
    db
}

fn bench(db: &str, args: &[&str]) -> Output {
    common::mvtop(db)
        .arg("bench")
        .args(args)
        .output()
        .expect("run mvtop")
}

fn case<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in {json}"))
}

fn assert_summary(v: &Value, runs: u64) {
    for f in ["median", "p95", "min", "max"] {
        assert!(v[f].as_f64().is_some_and(|x| x > 0.0), "{f} in {v}");
    }
    assert_eq!(v["runs"], runs, "{v}");
    assert!(v["min"].as_f64() <= v["median"].as_f64() && v["median"].as_f64() <= v["max"].as_f64());
}

#[tokio::test]
async fn an_mv_faster_than_its_view_has_a_speedup_above_one() {
    let db = demo().await;
    let json = common::json_of(&bench(
        db,
        &["reporting.chroot_stats", "--runs", "3", "--format", "json"],
    ));
    assert_eq!(json["target"]["kind"], "materialized_view");
    assert_summary(&json["view_ms"], 3);
    assert_summary(&json["mv_ms"], 3);
    assert_eq!(json["refresh_ms"], Value::Null);
    let speedup = json["speedup"].as_f64().unwrap();
    assert!(speedup > 1.0, "speed-up {speedup}: {json}");
    assert!(json["verdict"].as_str().is_some_and(|v| !v.is_empty()));
    // Both sides return the same rows; the server figures come from EXPLAIN ANALYZE.
    let (view, mv) = (case(&json, "view"), case(&json, "mv"));
    assert_eq!(view["rows"], mv["rows"]);
    assert!(view["rows"].as_i64().unwrap() > 0);
    assert_eq!(view["bytes"], mv["bytes"]);
    assert_summary(&view["server_ms"], 3);
    assert!(
        view["shared_hit_blocks"].as_i64().unwrap() + view["shared_read_blocks"].as_i64().unwrap()
            > 0
    );
    assert_eq!(
        mv["statement"],
        "SELECT * FROM \"reporting\".\"chroot_stats\""
    );
    assert!(
        view["statement"]
            .as_str()
            .unwrap()
            .starts_with("SELECT * FROM (SELECT ")
    );
    // The history the demo recorded gives a break-even even without --with-refresh.
    assert!(json.get("break_even_reads_per_refresh").is_some());
}

#[tokio::test]
async fn the_table_format_shows_the_cases_and_the_verdict() {
    let db = demo().await;
    let out = bench(
        db,
        &["reporting.builds_hourly", "--runs", "2", "--warmup", "0"],
    );
    let json_like = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        json_like.starts_with("materialized view reporting.builds_hourly\n"),
        "{json_like}"
    );
    assert!(json_like.contains(" view "), "{json_like}");
    assert!(json_like.contains(" mv "), "{json_like}");
    assert!(json_like.contains("speed-up: "), "{json_like}");
    assert!(json_like.contains("\nverdict: "), "{json_like}");
}

/// Every relation with its kind and schema: a plain view's benchmark must leave it as is.
async fn relations(db: &str) -> Vec<(u32, String, String, i8)> {
    let s = common::session(db).await;
    s.client
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::\"char\" AS k
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[tokio::test]
async fn a_plain_view_is_measured_through_a_temporary_mv_that_leaves_nothing_behind() {
    let db = demo().await;
    let before = relations(db).await;
    let json = common::json_of(&bench(
        db,
        &[
            "reporting.v_project_failure_rates",
            "--runs",
            "2",
            "--format",
            "json",
        ],
    ));
    assert_eq!(relations(db).await, before);
    assert_eq!(json["target"]["kind"], "view");
    assert_summary(&json["create_ms"], 1);
    assert_summary(&json["refresh_ms"], 2);
    assert_eq!(json["refresh_basis"], "measured");
    let temp = case(&json, "mv")["statement"].as_str().unwrap().to_string();
    assert!(temp.contains("\"reporting\".\"mvtop_bench_"), "{temp}");
    assert_eq!(
        case(&json, "view")["statement"],
        "SELECT * FROM \"reporting\".\"v_project_failure_rates\""
    );
    assert_eq!(case(&json, "view")["rows"], case(&json, "mv")["rows"]);
    assert!(
        json["break_even_reads_per_refresh"].is_number() || json["verdict_kind"] == "not_faster"
    );
}

#[tokio::test]
async fn a_timeout_is_a_clear_one_line_error() {
    let db = demo().await;
    // The seed's six-table join takes about a second at scale 1.
    let out = bench(
        db,
        &[
            "reporting.copr_target_builds_for_pull_requests",
            "--timeout",
            "100ms",
            "--warmup",
            "0",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("did not finish within --timeout 100 ms"),
        "{err}"
    );
}

#[tokio::test]
async fn query_substitutes_the_quoted_names_on_both_sides() {
    let db = demo().await;
    let query = "SELECT \"Project\", builds FROM {} WHERE builds > 10 ORDER BY builds DESC, 1;";
    let json = common::json_of(&bench(
        db,
        &[
            "\"Reporting\".\"Builds by Project\"",
            "--query",
            query,
            "--runs",
            "1",
            "--format",
            "json",
        ],
    ));
    assert_eq!(
        case(&json, "mv")["statement"],
        "SELECT \"Project\", builds FROM \"Reporting\".\"Builds by Project\" \
         WHERE builds > 10 ORDER BY builds DESC, 1"
    );
    let view = case(&json, "view")["statement"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        view.starts_with("SELECT \"Project\", builds FROM (SELECT "),
        "{view}"
    );
    assert!(
        view.ends_with(") AS \"Builds by Project\" WHERE builds > 10 ORDER BY builds DESC, 1"),
        "{view}"
    );
    let rows = case(&json, "mv")["rows"].as_i64().unwrap();
    assert!(rows > 0);
    assert_eq!(case(&json, "view")["rows"], rows);
    assert_eq!(json["query"], query);
    // A name with a double quote in it, on both sides.
    let json = common::json_of(&bench(
        db,
        &[
            "\"Reporting\".\"top\"\"projects\"",
            "--query",
            "SELECT count(*) FROM {}",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--format",
            "json",
        ],
    ));
    assert_eq!(
        case(&json, "mv")["statement"],
        "SELECT count(*) FROM \"Reporting\".\"top\"\"projects\""
    );
    assert!(
        case(&json, "view")["statement"]
            .as_str()
            .unwrap()
            .ends_with(") AS \"top\"\"projects\"")
    );
}

#[tokio::test]
async fn bad_input_is_a_one_line_error() {
    let db = demo().await;
    for (args, says) in [
        (
            vec!["no_such_mv"],
            "no materialized view or view named no_such_mv",
        ),
        (
            vec!["copr_target_builds_for_pull_requests"],
            "is ambiguous: ci.copr_target_builds_for_pull_requests, reporting.copr_target_builds_for_pull_requests",
        ),
        (
            vec!["reporting.chroot_stats", "--query", "SELECT 1"],
            "--query must contain {}",
        ),
        (vec!["reporting.koji_builds_daily"], "is not populated"),
        (
            vec![
                "reporting.chroot_stats",
                "--query",
                "SELECT * FROM {}; SELECT 1",
            ],
            "cannot insert multiple commands",
        ),
        (
            vec!["reporting.chroot_stats", "--runs", "0"],
            "0 is not in 1..=10000",
        ),
    ] {
        let mut all = args.clone();
        all.push("--warmup");
        all.push("1");
        let out = bench(db, &all);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        if !says.contains("not in") {
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}

#[tokio::test]
async fn with_refresh_goes_through_the_engine_and_is_recorded_in_the_ledger() {
    let db = fixture("with_refresh", true).await;
    let json = common::json_of(&bench(
        &db,
        &[
            "\"Reporting\".\"top\"\"customers_é\"",
            "--with-refresh",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--format",
            "json",
        ],
    ));
    assert_summary(&json["refresh_ms"], 2);
    assert_eq!(json["refresh_basis"], "measured");
    assert_eq!(
        case(&json, "refresh")["statement"],
        "REFRESH MATERIALIZED VIEW CONCURRENTLY \"Reporting\".\"top\"\"customers_é\""
    );
    assert!(json["speedup"].as_f64().unwrap() > 1.0, "{json}");
    assert!(json["break_even_reads_per_refresh"].as_f64().unwrap() > 0.0);
    let s = common::session(&db).await;
    let rows = s
        .client
        .query(
            "SELECT source, outcome, concurrent, duration_ms FROM mvtop.refresh_log ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let measured: Vec<f64> = rows.iter().map(|r| r.get(3)).collect();
    for r in &rows {
        assert_eq!(r.get::<_, String>(0), "cli");
        assert_eq!(r.get::<_, String>(1), "ok");
        assert!(r.get::<_, bool>(2));
    }
    // The benchmark's refresh figures are the engine's own.
    let max = json["refresh_ms"]["max"].as_f64().unwrap();
    assert!(
        measured.iter().any(|m| (m - max).abs() < 1e-6),
        "{measured:?} vs {max}"
    );
}

#[tokio::test]
async fn reads_per_refresh_come_from_the_statistics_and_the_ledger() {
    let db = fixture("read_rate", true).await;
    let s = common::session(&db).await;
    s.client
        .batch_execute("SELECT pg_stat_reset()")
        .await
        .unwrap();
    // One refresh, recorded in the ledger.
    let out = common::mvtop(&db)
        .args([
            "refresh",
            "--concurrently",
            "never",
            "\"Reporting\".\"top\"\"customers_é\"",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    {
        let reader = common::session(&db).await;
        for _ in 0..8 {
            reader
                .client
                .simple_query("SELECT * FROM \"Reporting\".\"top\"\"customers_é\"")
                .await
                .unwrap();
        }
    }
    // A backend flushes its statistics when it exits: wait until the 8 reads show (plus
    // the one scan the refresh made rebuilding the unique index).
    let mut scans = 0;
    for _ in 0..100 {
        scans = s
            .client
            .query_one(
                "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_all_tables
                 WHERE relname = 'top\"customers_é'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        if scans >= 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(scans, 9);
    let json = common::json_of(&bench(
        &db,
        &[
            "\"Reporting\".\"top\"\"customers_é\"",
            "--runs",
            "2",
            "--format",
            "json",
        ],
    ));
    assert_eq!(json["usage"]["scans"], 9);
    assert_eq!(json["usage"]["refreshes_in_window"], 1);
    assert_eq!(json["reads_per_refresh"], 8.0);
    assert_eq!(json["refresh_basis"], "history");
    let verdict = json["verdict"].as_str().unwrap();
    assert!(verdict.contains("reads 8.0×/refresh"), "{verdict}");
}

#[tokio::test]
async fn a_running_benchmark_is_cancelled_on_the_server() {
    let db = demo().await;
    let connector = common::connector(&common::cluster().params(db));
    let s = common::session(db).await;
    let subject = bench::resolve(&s.client, "reporting.copr_target_builds_for_pull_requests")
        .await
        .unwrap();
    let options = Options {
        runs: 50,
        warmup: 0,
        query: Some("SELECT * FROM {} /* cancel-test */".into()),
        timeout: Duration::from_secs(60),
        refresh: None,
    };
    let (handle, cancel) = mvtop::refresh::CancelHandle::new();
    let started = std::time::Instant::now();
    let work = bench::measure(&connector, subject, &options, None, None, cancel, &|_| {});
    let canceller = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle.cancel();
    };
    let (result, ()) = tokio::join!(work, canceller);
    assert_eq!(result.unwrap_err(), BenchError::Cancelled);
    // 50 rounds of a one-second join would take minutes; the cancel stopped the statement.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let running: i64 = s
        .client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE state = 'active' AND query LIKE '%cancel-test */%' AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(running, 0);
}
