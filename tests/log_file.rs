//! `--log-file`: the console, which cannot print while it is open, keeps its refresh
//! outcomes, failed polls and reconnects in a file, each line with a timestamp and a level.

mod common;

use std::time::{Duration, Instant};

use common::tmux::Tmux;

const FIXTURE: &str = r#"
CREATE TABLE t (id int PRIMARY KEY);
INSERT INTO t SELECT generate_series(1, 100);
CREATE MATERIALIZED VIEW logged AS SELECT count(*) AS n FROM t;
"#;

fn wait_in_file(path: &std::path::Path, text: &str, tmux: &Tmux) -> String {
    let start = Instant::now();
    loop {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        if log.contains(text) {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{text:?} never in the log file:\n{log}\nscreen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_logs_refreshes_lost_connections_and_reconnects() {
    let (db, admin) = common::fresh_db_with("log_file", FIXTURE, true).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("console.log");
    let conninfo = common::cluster().conninfo(&db);
    let tmux = Tmux::start(&format!(
        "{} -d '{conninfo}' --interval 1 --log-file {}; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop"),
        log.display()
    ));
    tmux.wait_for("public.logged");
    tmux.keys(&["r"]);
    tmux.wait_for("refreshed public.logged");
    wait_in_file(&log, "finished", &tmux);

    // No session may enter the database (not even a superuser's): the console's next reads
    // fail until it may again.
    let postgres = common::session("postgres").await;
    postgres
        .client
        .batch_execute(&format!(
            "ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = '{db}' AND application_name = 'mvtop'"
        ))
        .await
        .unwrap();
    wait_in_file(&log, "connection_lost", &tmux);
    drop(admin);
    postgres
        .client
        .batch_execute(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    wait_in_file(&log, "reconnected", &tmux);
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let stamp = regex_lite::Regex::new(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z +(INFO|WARN) [a-z_]+( |$)",
    )
    .unwrap();
    for line in &lines {
        assert!(stamp.is_match(line), "{line:?} in\n{text}");
    }
    let at = |what: &str| {
        lines
            .iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("{what:?} not in\n{text}"))
    };
    let order = [
        at("INFO console_opened read_only=false target=\"postgres@"),
        at("INFO refreshing "),
        at("INFO finished duration_ms="),
        at("WARN connection_lost error="),
        at("INFO reconnected"),
        at("INFO console_closed"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{text}");
    assert!(
        lines[order[2]].contains("mv=\"public.logged\" outcome=\"ok\""),
        "{text}"
    );
    assert!(text.contains("WARN poll_failed"), "{text}");
}
