//! The console end to end: the real binary in a real terminal (tmux) against a throwaway
//! cluster, driven by keys, read from the screen.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

const FIXTURE: &str = r#"
CREATE SCHEMA rpt;
CREATE SCHEMA "Reporting";
CREATE TABLE rpt.t (id int PRIMARY KEY, v int);
INSERT INTO rpt.t SELECT g, g % 7 FROM generate_series(1, 2000) g;
CREATE MATERIALIZED VIEW rpt.by_v AS SELECT v, count(*) AS n FROM rpt.t GROUP BY v;
CREATE UNIQUE INDEX by_v_uk ON rpt.by_v (v);
CREATE MATERIALIZED VIEW "Reporting"."Sales by Region" AS SELECT sum(n) AS n FROM rpt.by_v;
"#;

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let session = format!("mvtop-e2e-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "120",
                "-y",
                "40",
                command,
            ])
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

    /// Waits until the screen shows `text` (and returns it), or fails with the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
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
