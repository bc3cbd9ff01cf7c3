//! Every PostgreSQL major the version suite runs on: the system's server (as every other
//! test binary uses), plus each bin directory named in `MVTOP_TEST_PG_BINDIRS`
//! (':'-separated; `.ci/fetch-postgres` fetches the official binaries of 14, 16, 17 and 18
//! and prints the list). The clusters start in parallel, once per test binary, and each
//! check runs on all of them at once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use mvtop::cluster::{Cluster, ClusterOptions};

/// The variable naming the extra majors' bin directories.
pub const BINDIRS_VAR: &str = "MVTOP_TEST_PG_BINDIRS";

/// One running cluster of one major.
#[derive(Debug)]
pub struct Server {
    /// e.g. 17
    pub major: u32,
    /// e.g. "17.10"
    pub version: String,
    pub cluster: Cluster,
}

impl Server {
    /// `server_version_num` of the server, e.g. 170010.
    pub fn version_num(&self) -> i32 {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<i32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        major * 10_000 + minor
    }
}

static SERVERS: OnceLock<Vec<Server>> = OnceLock::new();

extern "C" fn stop_servers_at_exit() {
    for s in SERVERS.get().into_iter().flatten() {
        s.cluster.stop();
    }
}

/// The version `postgres --version` of a bin directory reports, e.g. "18.4".
pub fn version_of(bindir: &Path) -> String {
    let out = Command::new(bindir.join("postgres"))
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bindir.display()));
    // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "(PostgreSQL)")
        .nth(1)
        .unwrap_or_else(|| panic!("no version from {}: {text}", bindir.display()))
        .to_string()
}

/// Started on first use, in parallel; ordered by major, one cluster per major.
pub fn servers() -> &'static [Server] {
    SERVERS.get_or_init(|| {
        let system = mvtop::cluster::find_bindir()
            .expect("no PostgreSQL server binaries (apt-get install postgresql)");
        let mut bindirs: Vec<PathBuf> = vec![system];
        if let Some(list) = std::env::var_os(BINDIRS_VAR) {
            bindirs.extend(std::env::split_paths(&list).filter(|d| !d.as_os_str().is_empty()));
        }
        let mut by_major: Vec<(u32, String, PathBuf)> = Vec::new();
        for dir in bindirs {
            let version = version_of(&dir);
            let major = version
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or_else(|| panic!("version {version:?} of {}", dir.display()));
            if !by_major.iter().any(|(m, _, _)| *m == major) {
                by_major.push((major, version, dir));
            }
        }
        by_major.sort();
        let starting: Vec<_> = by_major
            .into_iter()
            .map(|(major, version, dir)| {
                std::thread::spawn(move || {
                    let opts = ClusterOptions {
                        settings: vec![("track_commit_timestamp".into(), "on".into())],
                        bindir: Some(dir.clone()),
                        ..ClusterOptions::default()
                    };
                    let cluster = Cluster::start(&opts).unwrap_or_else(|e| {
                        panic!("PostgreSQL {version} from {}: {e}", dir.display())
                    });
                    Server {
                        major,
                        version,
                        cluster,
                    }
                })
            })
            .collect();
        let servers: Vec<Server> = starting
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        // SAFETY: registers a plain extern "C" fn; it only touches the initialised static.
        unsafe { libc::atexit(stop_servers_at_exit) };
        servers
    })
}

/// Runs `check` on every major at once, each on a thread and runtime of its own (a check
/// may block: the mvtop binary, tmux); fails with the failure of each major that failed.
pub fn on_every_major<F, Fut>(what: &str, check: F)
where
    F: Fn(&'static Server) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let runs: Vec<_> = servers()
        .iter()
        .map(|server| {
            let thread = std::thread::Builder::new()
                .name(format!("pg{}", server.major))
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(check(server));
                    rt.shutdown_timeout(Duration::from_secs(5));
                })
                .unwrap();
            (server, thread)
        })
        .collect();
    let majors: Vec<u32> = runs.iter().map(|(s, _)| s.major).collect();
    let failures: Vec<String> = runs
        .into_iter()
        .filter_map(|(server, thread)| {
            thread
                .join()
                .err()
                .map(|e| format!("PostgreSQL {}: {}", server.version, panic_text(&*e)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{what} failed on {} of the majors {majors:?}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{what}: passed on PostgreSQL {majors:?}");
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(panic)".into())
}
