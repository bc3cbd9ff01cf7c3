//! The console's benchmark end to end: the real binary in tmux, read-only, `b` on an MV,
//! its result and verdict in the detail pane; a slow one cancelled with Esc on the server.

mod common;

use std::time::{Duration, Instant};

const FIXTURE: &str = r#"
CREATE SCHEMA rpt;
CREATE TABLE rpt.t (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL);
INSERT INTO rpt.t SELECT g, g % 50, g FROM generate_series(1, 50000) g;
CREATE MATERIALIZED VIEW rpt.totals AS
  SELECT a.grp, count(*) AS n, sum(b.v) AS total
  FROM rpt.t a JOIN rpt.t b ON b.id = a.id + 1 GROUP BY a.grp;
CREATE FUNCTION rpt.slow() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 1 FROM pg_sleep(1) $$;
CREATE MATERIALIZED VIEW rpt.zzz_sleepy AS SELECT rpt.slow() AS x;
ANALYZE;
"#;

use common::tmux::Tmux;

#[tokio::test]
async fn b_benchmarks_in_the_background_and_esc_cancels_it_read_only() {
    let (db, s) = common::fresh_db("console_bench").await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    let conninfo = common::cluster().conninfo(&db);
    let command = format!(
        "{} -d '{conninfo}' --read-only; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("rpt.zzz_sleepy");

    // The sleepy MV's view takes a second per read: cancel it while it runs.
    tmux.keys(&["/", "sleepy", "Enter", "b"]);
    tmux.wait_for("Esc or c cancels");
    tmux.keys(&["Escape"]);
    tmux.wait_for("benchmark of rpt.zzz_sleepy cancelled");
    let sleeping: i64 = s
        .client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE state = 'active' AND query LIKE '%zzz_sleepy%' AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        sleeping, 0,
        "the benchmark's statement was cancelled on the server"
    );

    // (An Escape right before another key would read as Alt+key: the command line instead.)
    tmux.keys(&[":", "filter totals", "Enter", "b"]);
    let screen = tmux.wait_for_within("speed-up", Duration::from_secs(60));
    assert!(screen.contains("benchmark: median of 5 runs"), "{screen}");
    assert!(screen.contains("  view "), "{screen}");
    assert!(screen.contains("  mv "), "{screen}");
    // No ledger and no refresh statistics: the verdict says what it lacks.
    assert!(screen.contains("--with-refresh"), "{screen}");
    assert!(
        !screen.contains("read-only: this console changes nothing"),
        "{screen}"
    );

    // Quitting during a benchmark cancels it rather than waiting for it (~24 s here).
    tmux.keys(&[":", "filter sleepy", "Enter", "b"]);
    tmux.wait_for("Esc or c cancels");
    let quit_at = Instant::now();
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
    assert!(
        quit_at.elapsed() < Duration::from_secs(5),
        "{:?}",
        quit_at.elapsed()
    );
}

/// Without a recorded refresh, `B` measures one per round: a plain one (no unique index)
/// after the question, then the break-even from the measured refreshes.
#[tokio::test]
async fn capital_b_measures_the_refresh_for_the_break_even() {
    let (db, s) = common::fresh_db("console_bench_refresh").await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    // A plain refresh writes the MV anew: its file changes.
    let filenode = || async {
        s.client
            .query_one("SELECT pg_relation_filenode('rpt.totals')::bigint", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = filenode().await;
    let conninfo = common::cluster().conninfo(&db);
    let command = format!(
        "{} -d '{conninfo}' --no-scheduler; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("rpt.zzz_sleepy");
    tmux.keys(&["/", "totals", "Enter", "B"]);
    tmux.wait_for("5 times without CONCURRENTLY");
    assert_eq!(
        filenode().await,
        before,
        "nothing is refreshed before the answer"
    );
    tmux.keys(&["y"]);
    let screen = tmux.wait_for_within("speed-up", Duration::from_secs(60));
    assert!(screen.contains("  refresh "), "{screen}");
    assert!(screen.contains("break-even"), "{screen}");
    assert!(!screen.contains("--with-refresh"), "{screen}");
    assert_ne!(filenode().await, before, "the benchmark refreshed the MV");
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
}
