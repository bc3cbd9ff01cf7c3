//! The console end to end: the real binary in a real terminal (tmux) against a throwaway
//! cluster, driven by keys, read from the screen.

mod common;

use std::process::Command;

const FIXTURE: &str = r#"
CREATE SCHEMA rpt;
CREATE SCHEMA "Reporting";
CREATE TABLE rpt.t (id int PRIMARY KEY, v int);
INSERT INTO rpt.t SELECT g, g % 7 FROM generate_series(1, 2000) g;
CREATE MATERIALIZED VIEW rpt.by_v AS SELECT v, count(*) AS n FROM rpt.t GROUP BY v;
CREATE UNIQUE INDEX by_v_uk ON rpt.by_v (v);
CREATE MATERIALIZED VIEW "Reporting"."Sales by Region" AS SELECT sum(n) AS n FROM rpt.by_v;
"#;

use common::tmux::Tmux;

#[tokio::test]
async fn the_console_shows_filters_refreshes_helps_and_quits_cleanly() {
    let (db, s) = common::fresh_db("console").await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    let install = common::mvtop(&db).arg("install").output().unwrap();
    assert!(install.status.success());
    let conninfo = common::cluster().conninfo(&db);
    let command = format!(
        "{} -d '{conninfo}'; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);

    let screen = tmux.wait_for("rpt.by_v");
    assert!(
        screen.contains("\"Reporting\".\"Sales by Region\""),
        "{screen}"
    );
    assert!(screen.contains("ledger: yes"), "{screen}");

    tmux.keys(&["/", "sales"]);
    let screen = tmux.wait_for("views 1/2");
    assert!(
        !screen.contains("│  rpt.by_v"),
        "filtered out of the table:\n{screen}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("views 2/2");

    tmux.keys(&["/", "by_v", "Enter", "r"]);
    tmux.wait_for("refreshed rpt.by_v (concurrently)");
    let runs = s
        .client
        .query("SELECT source, outcome FROM mvtop.refresh_log", &[])
        .await
        .unwrap();
    let runs: Vec<(String, String)> = runs.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(runs, [("console".to_string(), "ok".to_string())]);

    tmux.keys(&["?"]);
    tmux.wait_for("keys (any key closes)");
    tmux.keys(&["x"]);

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("MVTOP_EXITED 0");
    assert!(
        !screen.contains("materialized view"),
        "the alternate screen is gone:\n{screen}"
    );
    let modes = Command::new("tmux")
        .args([
            "display-message",
            "-p",
            "-t",
            &tmux.session,
            "#{alternate_on} #{cursor_flag}",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&modes.stdout).trim(),
        "0 1",
        "normal screen, cursor visible"
    );
}

/// A session on `db` named `app` that waits for locks as long as it takes; and its pid.
async fn named_session(db: &str, app: &str) -> (mvtop::pgconn::Session, i32) {
    let s = common::session(db).await;
    s.client
        .batch_execute(&format!(
            "SET lock_timeout = 0; SET application_name = '{app}'"
        ))
        .await
        .unwrap();
    let pid = s
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    (s, pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lock_wait_appears_names_its_blocker_and_disappears_when_it_is_terminated() {
    let (db, s) = common::fresh_db("console_locks").await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    let conninfo = common::cluster().conninfo(&db);
    let command = format!(
        "{} -d '{conninfo}' --interval 1; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("rpt.by_v");
    tmux.keys(&["4"]);
    tmux.wait_for("no session waits for a lock");

    // An idle-in-transaction reader holds the MV; a plain refresh queues behind it.
    let (etl, etl_pid) = named_session(&db, "etl").await;
    etl.client
        .batch_execute("BEGIN; SELECT count(*) FROM rpt.by_v")
        .await
        .unwrap();
    let (refresher, refresh_pid) = named_session(&db, "refresher").await;
    let refresh = tokio::spawn(async move {
        refresher
            .client
            .batch_execute("REFRESH MATERIALIZED VIEW rpt.by_v")
            .await
    });
    let screen = tmux.wait_for("4 locks: 1 waiting");
    assert!(
        screen.contains(&format!(
            "its refresh waits behind pid {etl_pid} (postgres, etl, idle in transaction"
        )),
        "{screen}"
    );
    assert!(
        screen.contains("wants AccessExclusiveLock on rpt.by_v [MV]"),
        "{screen}"
    );
    assert!(screen.contains(&format!("└{refresh_pid}")), "{screen}");
    assert!(screen.contains("1 lock wait (4)"), "{screen}");
    tmux.keys(&["1"]);
    let screen = tmux.wait_for("L rpt.by_v");
    let row = screen.lines().find(|l| l.contains("L rpt.by_v")).unwrap();
    assert!(
        row.contains("lock wait"),
        "the views table marks it:\n{screen}"
    );

    // Terminate the blocker from the console: asked first, then done, then the wait is gone.
    tmux.keys(&["4", "g", "K"]);
    tmux.wait_for(&format!("Terminate pid {etl_pid}"));
    tmux.keys(&["y"]);
    tmux.wait_for(&format!("pid {etl_pid}: session terminated"));
    let screen = tmux.wait_for("4 locks: 0 waiting");
    assert!(screen.contains("no session waits for a lock"), "{screen}");
    refresh.await.unwrap().unwrap();

    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
}

/// A role with only pg_monitor: the console shows every MV, the locks and activity panes,
/// and a refresh ends with the reason it was refused; `--read-only` refuses `:refresh`.
#[tokio::test]
async fn a_pg_monitor_role_watches_and_is_told_why_it_may_not_refresh() {
    let (db, s) = common::fresh_db("console_monitor").await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    let role = format!("{db}_monitor");
    s.client
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; GRANT pg_monitor TO {role};
             GRANT USAGE ON SCHEMA rpt, \"Reporting\" TO {role};"
        ))
        .await
        .unwrap();
    let conninfo = format!("{} user={role}", common::cluster().conninfo(&db));
    let command = format!(
        "{} -d '{conninfo}'; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("\"Reporting\".\"Sales by Region\"");
    tmux.keys(&["/", "by_v", "Enter", "r"]);
    tmux.wait_for("only the owner of rpt.by_v (postgres) may refresh it");
    tmux.keys(&["4"]);
    tmux.wait_for("no session waits for a lock");
    tmux.keys(&["5"]);
    tmux.wait_for("5 running:");
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");

    let command = format!(
        "{} --read-only -d '{conninfo}'; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("rpt.by_v");
    tmux.keys(&[":", "refresh rpt.by_v", "Enter"]);
    tmux.wait_for("read-only: this console changes nothing in the database");
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
}

/// The demo shows what the console is for within two minutes: a scheduled plain refresh
/// waiting behind a session idle in its transaction (the header's count, the `L` mark, the
/// jobs pane, and pane 4 naming the blocker).
#[test]
fn the_demo_shows_a_lock_wait_within_two_minutes() {
    let command = format!(
        "{} demo; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let tmux = Tmux::start(&command);
    let within = std::time::Duration::from_secs(120);
    // The jobs pane, the header's count (the sessions poll) and the mark (the inventory's)
    // come from three reads: until all three have seen it.
    tmux.wait_until(
        "a lock wait on every part of the screen",
        within,
        |screen| {
            screen.contains("waiting for lock behind pid")
                && screen.contains("lock wait (4)")
                && screen
                    .lines()
                    .any(|l| l.contains("L reporting.project_leaderboar"))
        },
    );
    tmux.keys(&["4"]);
    let screen = tmux.wait_for("demo report (idle in transaction)");
    assert!(
        screen.contains("MV reporting.project_leaderboard: its refresh waits behind pid"),
        "{screen}"
    );
    // A refresh still running asks first; a scheduled one still waiting gets the
    // scheduler's grace (10 s) before it is cancelled; then the cluster stops.
    tmux.keys(&["q"]);
    let screen = tmux.wait_until("the console to quit or ask", within, |s| {
        s.contains("MVTOP_EXITED") || s.contains("Quit? (y/n)")
    });
    if screen.contains("Quit? (y/n)") {
        tmux.keys(&["y"]);
    }
    tmux.wait_for_within("MVTOP_EXITED 0", std::time::Duration::from_secs(45));
}
