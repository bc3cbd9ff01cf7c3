//! The real binary in a real terminal: one tmux session per test, driven by keys, read
//! from the screen.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub session: String,
}

impl Tmux {
    /// `command` in a new detached 120x40 session.
    pub fn start(command: &str) -> Tmux {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let session = format!("mvtop-e2e-{}-{n}", std::process::id());
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

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until the screen shows `text` (and returns it), or fails with the screen.
    /// Waits until the screen shows `text` (and returns it), or fails with the screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_for_within(text, Duration::from_secs(20))
    }

    pub fn wait_for_within(&self, text: &str, within: Duration) -> String {
        self.wait_until(&format!("{text:?} on screen"), within, |s| s.contains(text))
    }

    /// Waits until the screen no longer shows `text`.
    pub fn wait_gone(&self, text: &str, within: Duration) -> String {
        self.wait_until(&format!("{text:?} gone"), within, |s| !s.contains(text))
    }

    /// Watches the screen in the background for `text` (a passing state, e.g. a banner
    /// during an outage); the thread returns the first screen showing it, if any.
    pub fn watch_for(
        &self,
        text: &'static str,
        within: Duration,
    ) -> std::thread::JoinHandle<Option<String>> {
        let watcher = Tmux {
            session: self.session.clone(),
        };
        std::thread::spawn(move || {
            let deadline = Instant::now() + within;
            let seen = loop {
                let screen = watcher.screen();
                if screen.contains(text) {
                    break Some(screen);
                }
                if Instant::now() > deadline {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            // Not ours to kill.
            std::mem::forget(watcher);
            seen
        })
    }

    pub fn wait_until(&self, what: &str, within: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {within:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
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
