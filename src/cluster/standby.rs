//! A streaming standby of a throwaway cluster (`pg_basebackup -R`), and its promotion.

use std::path::PathBuf;
use std::process::Command;

use super::{Cluster, ClusterError, ClusterOptions, SUPERUSER};

impl Cluster {
    /// A hot standby streaming from `primary`: a base backup of it (`pg_basebackup -R`, so
    /// it follows `primary_conninfo` and starts in recovery), started on a port and in a
    /// directory of its own; blocks until it accepts read-only connections. `opts` are its
    /// own server settings (the primary's are not copied).
    pub fn standby_of(primary: &Cluster, opts: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let opts = ClusterOptions {
            bindir: Some(primary.bindir.clone()),
            ..opts.clone()
        };
        let standby = Cluster::empty(&opts)?;
        // One base backup at a time: another's fast checkpoint can recycle the WAL segment
        // this one has yet to start streaming from ("requested WAL segment ... has already
        // been removed").
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        standby.started(&opts, |standby, opts| {
            let basebackup = pg_basebackup(&standby.bindir);
            let port = primary.port.to_string();
            let host = primary.dir.to_string_lossy().into_owned();
            standby.run_program(
                "pg_basebackup",
                &basebackup,
                &[
                    "-h",
                    &host,
                    "-p",
                    &port,
                    "-U",
                    SUPERUSER,
                    "-X",
                    "stream",
                    "-R",
                    "-c",
                    "fast",
                    "--no-sync",
                    "-D",
                ],
                Some(&standby.data_dir()),
            )?;
            // The primary's socket directory and port came along in postgresql.auto.conf's
            // primary_conninfo; its own are set on the command line like any cluster's.
            standby.configure(opts);
            standby.start_server()
        })
    }

    /// Ends recovery (`pg_ctl promote`); blocks until the server accepts writes.
    pub fn promote(&self) -> Result<(), ClusterError> {
        self.run(
            "pg_ctl promote",
            &["promote", "-w", "-t", "60", "-D"],
            Some(&self.data_dir()),
        )
    }
}

/// The cluster's own pg_basebackup, else the one on PATH (it works with servers of its own
/// major and older ones).
fn pg_basebackup(bindir: &std::path::Path) -> PathBuf {
    let own = bindir.join("pg_basebackup");
    if own.is_file() {
        return own;
    }
    let on_path = Command::new("sh")
        .args(["-c", "command -v pg_basebackup"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    on_path.unwrap_or(own)
}
