//! The console's benchmark end to end: the real binary in tmux, read-only, `b` on an MV,
//! its result and verdict in the detail pane; a slow one cancelled with Esc on the server.

mod common;

use std::process::Command;
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

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let session = format!("mvtop-e2e-bench-{}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "40"])
            .arg(command)
            .status()
            .expect("tmux is needed for this test (apt-get install tmux)");
        assert!(status.success());
        Tmux { session }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

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
    let screen = tmux.wait_for("speed-up");
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
