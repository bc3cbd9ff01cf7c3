//! `mvtop daemon` as a child process with its JSON log in a file.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Daemon {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// `mvtop` is the binary already pointed at the database (`-d ...`).
    pub fn start(mut mvtop: Command, extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("daemon.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = mvtop
            .args(["daemon", "--log-format", "json"])
            .args(extra)
            .stdout(file)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Daemon {
            child,
            log,
            _dir: dir,
        }
    }

    pub fn lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Waits for a log line with this event after the first `skip` lines.
    pub fn wait_for_event(&self, event: &str, skip: usize, within: Duration) {
        let start = Instant::now();
        while start.elapsed() < within {
            if self.lines().iter().skip(skip).any(|l| l["event"] == event) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no {event} within {within:?}: {:?}", self.lines());
    }

    /// SIGTERM, then the exit status and the log.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<serde_json::Value>) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self.lines());
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("daemon did not stop after SIGTERM: {:?}", self.lines());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    /// A failed test must not leave its daemon running (it would hold the test's output).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
