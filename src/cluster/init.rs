//! A new cluster: its private directory and free port, `initdb`, the files written into
//! its data directory, and the options its server runs with.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::run_as::{chown_to_postgres, is_root};
use super::{Cluster, ClusterError, ClusterOptions, SUPERUSER, find_bindir};

impl Cluster {
    /// A cluster with its own directory and port, nothing in it yet.
    pub(super) fn empty(opts: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let bindir = match &opts.bindir {
            Some(d) if d.join("initdb").is_file() && d.join("pg_ctl").is_file() => d.clone(),
            Some(d) => {
                return Err(ClusterError::Step {
                    step: "finding the server binaries",
                    detail: format!("no initdb and pg_ctl in {}", d.display()),
                });
            }
            None => find_bindir().ok_or(ClusterError::NoBinaries)?,
        };
        let as_postgres_user = is_root();
        let dir = make_private_dir(as_postgres_user)?;
        Ok(Cluster {
            dir,
            bindir,
            port: free_port()?,
            as_postgres_user,
            keep: opts.keep,
            stopped: AtomicBool::new(false),
            server_opts: std::sync::Mutex::new(String::new()),
        })
    }

    pub(super) fn init_and_start(&mut self, opts: &ClusterOptions) -> Result<(), ClusterError> {
        let data = self.data_dir();
        self.run(
            "initdb",
            &[
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "-D",
            ],
            Some(&data),
        )?;
        if !opts.data_files.is_empty() {
            write_private_files(&data, &opts.data_files).map_err(|e| ClusterError::Step {
                step: "writing files into the data directory",
                detail: e.to_string(),
            })?;
            if self.as_postgres_user {
                chown_to_postgres(&data)?;
            }
        }
        self.configure(opts);
        self.start_server()
    }

    /// The `-o` options of the server: its port and socket, the settings every throwaway
    /// cluster gets, then the caller's.
    pub(super) fn configure(&self, opts: &ClusterOptions) {
        let listen = if opts.listen_tcp { "127.0.0.1" } else { "" };
        let preload = if opts.pg_cron_database.is_some() {
            "pg_stat_statements,pg_cron"
        } else {
            "pg_stat_statements"
        };
        let mut server_opts = format!(
            "-p {} -k {} -c listen_addresses='{listen}' \
             -c shared_preload_libraries={preload} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        if let Some(db) = &opts.pg_cron_database {
            server_opts.push_str(&format!(
                " -c cron.database_name='{db}' -c cron.host='{}'",
                self.dir.display()
            ));
        }
        for (name, value) in &opts.settings {
            server_opts.push_str(&format!(" -c {name}={value}"));
        }
        if let Ok(mut saved) = self.server_opts.lock() {
            saved.clone_from(&server_opts);
        }
    }
}

fn free_port() -> Result<u16, ClusterError> {
    let step = |e: std::io::Error| ClusterError::Step {
        step: "finding a free port",
        detail: e.to_string(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(step)?;
    Ok(listener.local_addr().map_err(step)?.port())
}

fn make_private_dir(for_postgres_user: bool) -> Result<PathBuf, ClusterError> {
    let step = |e: std::io::Error| ClusterError::Step {
        step: "creating the cluster directory",
        detail: e.to_string(),
    };
    let base = std::env::temp_dir();
    let dir = (0..100u32)
        .map(|i| {
            base.join(format!(
                "mvtop-pg-{}-{}-{i}",
                std::process::id(),
                chrono::Utc::now().timestamp_subsec_nanos()
            ))
        })
        .find(|d| fs::create_dir(d).is_ok())
        .ok_or_else(|| step(std::io::Error::other("no unique name")))?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(step)?;
    if for_postgres_user {
        chown_to_postgres(&dir)?;
    }
    Ok(dir)
}

fn write_private_files(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    for (name, content) in files {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join(name))?
            .write_all(content)?;
    }
    Ok(())
}
