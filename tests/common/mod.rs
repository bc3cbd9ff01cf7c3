//! The throwaway-cluster harness: one cluster per test binary, one database per test.
#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod daemon;
pub mod pgbouncer;
pub mod proxy;
pub mod tmux;
pub mod versions;

use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use mvtop::cluster::{Cluster, ClusterOptions};
use mvtop::pgconn::{self, Connector, Params, PasswordPrompt, Session, SessionSettings};

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

extern "C" fn stop_cluster_at_exit() {
    if let Some(c) = CLUSTER.get() {
        c.stop();
    }
}

/// Started on first use with `opts`; stopped when the test binary exits (statics never drop).
/// One per test binary: every test of a binary must ask for it with the same options.
pub fn cluster_with(opts: impl FnOnce() -> ClusterOptions) -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let cluster = Cluster::start(&opts()).unwrap_or_else(|e| panic!("test cluster: {e}"));
        // SAFETY: registers a plain extern "C" fn; it only touches the initialised static.
        unsafe { libc::atexit(stop_cluster_at_exit) };
        cluster
    })
}

pub fn cluster() -> &'static Cluster {
    cluster_with(|| ClusterOptions {
        settings: vec![("track_commit_timestamp".into(), "on".into())],
        ..ClusterOptions::default()
    })
}

pub fn connector(params: &Params) -> Connector {
    let resolved = pgconn::resolve(params, &pgconn::SystemEnv).expect("resolve");
    Connector::new(resolved, PasswordPrompt::Never).expect("connector")
}

/// Another monitoring session on database `db` of the shared cluster.
pub async fn session(db: &str) -> Session {
    session_on(cluster(), db).await
}

/// A monitoring session on database `db` of `cluster`.
pub async fn session_on(cluster: &Cluster, db: &str) -> Session {
    connector(&cluster.params(db))
        .connect(&SessionSettings::MONITORING)
        .await
        .expect("session")
}

/// A new, empty database on the shared cluster; returns its name and a monitoring session.
pub async fn fresh_db(tag: &str) -> (String, Session) {
    fresh_db_on(cluster(), tag).await
}

/// A new, empty database on `cluster`; returns its name and a monitoring session.
pub async fn fresh_db_on(cluster: &Cluster, tag: &str) -> (String, Session) {
    let name = format!("t_{tag}_{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
    let admin = session_on(cluster, "postgres").await;
    admin
        .client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    (name.clone(), session_on(cluster, &name).await)
}

/// A new database with `fixture` loaded and, when asked, the ledger installed (keeping every
/// run); returns its name and a monitoring session.
pub async fn fresh_db_with(tag: &str, fixture: &str, ledger: bool) -> (String, Session) {
    fresh_db_with_on(cluster(), tag, fixture, ledger).await
}

/// `fresh_db_with` on `cluster`.
pub async fn fresh_db_with_on(
    cluster: &Cluster,
    tag: &str,
    fixture: &str,
    ledger: bool,
) -> (String, Session) {
    let (db, mut s) = fresh_db_on(cluster, tag).await;
    s.client.batch_execute(fixture).await.expect("fixture");
    if ledger {
        let keep = mvtop::ledger::Retention {
            keep_runs_per_mv: None,
            keep_days: None,
        };
        mvtop::ledger::Ledger::default()
            .install(&mut s.client, keep)
            .await
            .expect("install");
    }
    (db, s)
}

/// The JSON a successful mvtop run printed; a failed run fails the test with its stderr.
pub fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// The mvtop binary, pointed at `db` on the shared cluster with `-d`.
pub fn mvtop(db: &str) -> Command {
    mvtop_on(cluster(), db)
}

/// The mvtop binary, pointed at `db` on `cluster` with `-d`.
pub fn mvtop_on(cluster: &Cluster, db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mvtop"));
    cmd.args(["-d", &cluster.conninfo(db)]);
    cmd
}

/// A cluster with pg_cron loaded (`cron.database_name = 'postgres'`, the extension created
/// there). A test binary that uses it must call this before anything else of the harness.
pub fn pg_cron_cluster() -> &'static Cluster {
    static READY: OnceLock<()> = OnceLock::new();
    let c = cluster_with(|| ClusterOptions {
        settings: vec![("track_commit_timestamp".into(), "on".into())],
        pg_cron_database: Some("postgres".into()),
        ..ClusterOptions::default()
    });
    READY.get_or_init(|| {
        let out = mvtop::cluster::psql_command(c, "postgres")
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "CREATE EXTENSION IF NOT EXISTS pg_cron",
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "CREATE EXTENSION pg_cron (apt-get install postgresql-15-cron): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    c
}
