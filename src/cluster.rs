//! A throwaway local PostgreSQL cluster, started from the system's server binaries.
//!
//! Used by `mvtop demo` and by the integration tests. The cluster lives in its own
//! temporary directory (data, Unix socket, log) and is stopped and removed by `stop()`
//! or on drop, unless it was asked to be kept.
//!
//! Here: the cluster, its start, restart and stop, and how to connect to it; `init` makes
//! a new one (directory, port, initdb, server options), `run_as` runs the server binaries
//! (as the postgres OS user when we are root), `standby` streams from one.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::pgconn::Params;

mod init;
mod run_as;
mod standby;

use run_as::last_line;

/// The superuser `initdb` creates in every throwaway cluster.
pub const SUPERUSER: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (initdb, pg_ctl): install them \
         (Debian/Ubuntu: apt-get install postgresql postgresql-contrib) or set PG_BINDIR"
    )]
    NoBinaries,
    #[error("running as root, but there is no \"postgres\" OS user to run the server as: {0}")]
    NoPostgresUser(String),
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
}

/// Server settings beyond the defaults every throwaway cluster gets.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// `name = value` pairs passed as `-c name=value` to the server.
    pub settings: Vec<(String, String)>,
    /// Listen on 127.0.0.1 as well as the socket (TLS tests need TCP).
    pub listen_tcp: bool,
    /// Leave the server running and its directory in place (for `mvtop demo --keep`).
    pub keep: bool,
    /// Files written into the data directory (mode 0600) before the server starts, e.g.
    /// `server.crt` and `server.key` for `ssl=on`.
    pub data_files: Vec<(String, Vec<u8>)>,
    /// The server binaries to use (another major than the system's); None: `find_bindir()`.
    pub bindir: Option<PathBuf>,
    /// Load pg_cron (Debian: postgresql-NN-cron) with this `cron.database_name`; its jobs
    /// connect back over the cluster's Unix socket (`cron.host`). `CREATE EXTENSION pg_cron`
    /// in that database is the caller's.
    pub pg_cron_database: Option<String>,
}

#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres_user: bool,
    keep: bool,
    stopped: AtomicBool,
    /// The `-o` options the server was started with (a restart uses them again).
    server_opts: std::sync::Mutex<String>,
}

impl Cluster {
    /// initdb + pg_ctl start on a free port; blocks until the server accepts connections.
    pub fn start(opts: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let cluster = Cluster::empty(opts)?;
        cluster.started(opts, Cluster::init_and_start)
    }

    /// Runs `setup` (which starts the server); on failure keeps the log's last line for the
    /// error and removes what was made.
    fn started(
        mut self,
        opts: &ClusterOptions,
        setup: impl FnOnce(&mut Cluster, &ClusterOptions) -> Result<(), ClusterError>,
    ) -> Result<Cluster, ClusterError> {
        let Err(e) = setup(&mut self, opts) else {
            return Ok(self);
        };
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        self.keep = false;
        self.stop();
        Err(match e {
            ClusterError::Step { step, detail } if !log.is_empty() => ClusterError::Step {
                step,
                detail: format!("{detail}; server log: {}", last_line(&log)),
            },
            other => other,
        })
    }

    fn start_server(&self) -> Result<(), ClusterError> {
        let server_opts = self
            .server_opts
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        let log = self.log_path();
        let log = log.to_string_lossy();
        self.run(
            "pg_ctl start",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-l",
                &log,
                "-o",
                &server_opts,
                "-D",
            ],
            Some(&self.data_dir()),
        )
    }

    /// Restarts the server like `pg_ctl restart -m fast` (every session is terminated),
    /// staying down for `down_for` in between so clients can see the outage. Blocks until
    /// the server accepts connections again.
    pub fn restart(&self, down_for: std::time::Duration) -> Result<(), ClusterError> {
        self.run(
            "pg_ctl stop",
            &["stop", "-m", "fast", "-w", "-t", "60", "-D"],
            Some(&self.data_dir()),
        )?;
        std::thread::sleep(down_for);
        self.start_server()
    }

    /// The directory of the server binaries this cluster runs.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the Unix socket (also the cluster's root directory).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Connection parameters for `dbname` as the superuser, over the Unix socket.
    pub fn params(&self, dbname: &str) -> Params {
        let mut p = Params::default();
        p.set("host", self.dir.to_string_lossy());
        p.set("port", self.port.to_string());
        p.set("user", SUPERUSER);
        p.set("dbname", dbname);
        p
    }

    /// The same as a conninfo string, for psql or for printing.
    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user={SUPERUSER} dbname={}",
            quote_conninfo_value(&self.dir.to_string_lossy()),
            self.port,
            quote_conninfo_value(dbname)
        )
    }

    /// Stops the server (fast shutdown) and removes the directory, unless kept. Idempotent.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) || self.keep {
            return;
        }
        let data = self.data_dir();
        if data.join("postmaster.pid").exists() {
            let _ = self.run(
                "pg_ctl stop",
                &["stop", "-m", "fast", "-w", "-D"],
                Some(&data),
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
    }

    /// The command that stops a kept cluster by hand.
    pub fn stop_command(&self) -> String {
        let pg_ctl = self.bindir.join("pg_ctl");
        let prefix = if self.as_postgres_user {
            "runuser -u postgres -- "
        } else {
            ""
        };
        format!(
            "{prefix}{} stop -D {} && rm -rf {}",
            pg_ctl.display(),
            self.data_dir().display(),
            self.dir.display()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// libpq conninfo quoting: single quotes with `\'` and `\\` escapes when needed.
pub fn quote_conninfo_value(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '\'', '\\', '=', '\t', '\n']) {
        return v.to_string();
    }
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// PG_BINDIR, then `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin.
pub fn find_bindir() -> Option<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("PG_BINDIR").map(PathBuf::from) {
        return has_initdb(&d).then_some(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_initdb(&d) {
            return Some(d);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_initdb(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

/// Runs `psql` from the cluster's bindir (benchmarks and tests compare against it).
pub fn psql_command(cluster: &Cluster, dbname: &str) -> Command {
    let psql = cluster.bindir.join("psql");
    let program: &OsStr = if psql.is_file() {
        psql.as_os_str()
    } else {
        OsStr::new("psql")
    };
    let mut cmd = Command::new(program);
    cmd.args(["-X", "-d", &cluster.conninfo(dbname)]);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_values_are_quoted_only_when_needed() {
        assert_eq!(quote_conninfo_value("/tmp/x"), "/tmp/x");
        assert_eq!(quote_conninfo_value("a b"), "'a b'");
        assert_eq!(quote_conninfo_value("it's"), "'it\\'s'");
        assert_eq!(quote_conninfo_value(""), "''");
    }
}
