//! The server-side cost of the console's own polling (sessions and lock waits every second,
//! pg_stat_statements every 5 s, the MV pulse) against pg_activity at the same 1 s interval,
//! on the same database at the same time, with 200 idle and 20 active sessions (3 of them
//! waiting for a lock behind an idle-in-transaction session). Each monitor logs in as its
//! own role, so pg_stat_statements attributes every statement exactly.
//! Run with `cargo bench --bench polling_vs_pg_activity [-- SECONDS WINDOWS WAITING]` (WAITING:
//! how many of the 20 active sessions wait for a lock, default 3); needs tmux and pg_activity
//! (`apt-get install tmux pg-activity`).

use std::process::Command;
use std::time::Duration;

mod common;

use common::{run_psql, setup_sql};
use mvtop::cluster::{Cluster, ClusterOptions, psql_command};
use mvtop::pgconn::{self, Connector, PasswordPrompt, Session, SessionSettings};

const DB: &str = "bench";
const IDLE: usize = 200;
/// Active sessions, some of them waiting for a lock.
const ACTIVE: usize = 20;
const MVS: u32 = 100;

/// (tmux session, role, command line)
fn monitors(cluster: &Cluster) -> Vec<(&'static str, &'static str, String)> {
    let socket = cluster.socket_dir().display().to_string();
    let port = cluster.port().to_string();
    let pga = |role: &str, extra: &str| {
        format!(
            "exec env HOME=/tmp pg_activity -h {socket} -p {port} -U {role} -d {DB} --refresh 1{extra}"
        )
    };
    vec![
        (
            "mvtop",
            "mon_mvtop",
            format!(
                "exec {} -h {socket} -p {port} -U mon_mvtop -d {DB} --interval 1",
                env!("CARGO_BIN_EXE_mvtop")
            ),
        ),
        ("pg_activity", "mon_pgactivity", pga("mon_pgactivity", "")),
        (
            "pg_activity_no_db_size",
            "mon_pgactivity_nosize",
            pga("mon_pgactivity_nosize", " --no-db-size"),
        ),
    ]
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let windows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let waiting: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(3)
        .min(ACTIVE);
    let opts = ClusterOptions {
        settings: vec![
            ("pg_stat_statements.track_planning".into(), "on".into()),
            ("max_connections".into(), "300".into()),
        ],
        ..ClusterOptions::default()
    };
    let cluster = common::cluster_with_db(&opts, DB);
    for sql in setup_sql(MVS) {
        run_psql(&cluster, DB, &sql);
    }
    run_psql(
        &cluster,
        DB,
        "CREATE EXTENSION pg_stat_statements; CREATE TABLE hot (id int PRIMARY KEY); \
         INSERT INTO hot VALUES (1); \
         CREATE ROLE mon_mvtop LOGIN SUPERUSER; CREATE ROLE mon_pgactivity LOGIN SUPERUSER; \
         CREATE ROLE mon_pgactivity_nosize LOGIN SUPERUSER",
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let load = runtime.block_on(start_load(&cluster, waiting));
    let monitors = monitors(&cluster);
    for (name, _, command) in &monitors {
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &format!("bench-{name}")])
            .args(["-x", "200", "-y", "50", command])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "tmux and pg_activity are needed (apt-get install tmux pg-activity)"
        );
    }
    // Warm up past the first full reads, then measure windows from a clean slate.
    std::thread::sleep(Duration::from_secs(8));
    let pids: Vec<u32> = monitors.iter().map(|(n, ..)| pane_pid(n)).collect();
    let mut results: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); monitors.len()];
    for window in 0..windows {
        run_psql(&cluster, DB, "SELECT pg_stat_statements_reset()");
        let before: Vec<f64> = pids.iter().map(|&p| cpu_seconds(p)).collect();
        std::thread::sleep(Duration::from_secs(seconds));
        let per_min = 60.0 / seconds as f64;
        for (i, (name, role, _)) in monitors.iter().enumerate() {
            let (ms, calls) = server(&cluster, role);
            let cpu = cpu_seconds(pids[i]) - before[i];
            results[i].push((ms * per_min, calls * per_min, cpu * per_min));
            println!(
                "window {}: {name:<24} server {:7.1} ms/min  {:5.0} calls/min  client CPU {:.3} s/min",
                window + 1,
                ms * per_min,
                calls * per_min,
                cpu * per_min
            );
        }
        if window == windows - 1 {
            println!("\nmvtop's statements in the last window (per minute):");
            print!("{}", breakdown(&cluster, "mon_mvtop", per_min));
            println!("pg_activity's heaviest statements in the last window (per minute):");
            print!("{}", breakdown(&cluster, "mon_pgactivity", per_min));
        }
    }
    println!(
        "\n{windows} x {seconds} s side by side, {IDLE} idle + {ACTIVE} active sessions ({waiting} \
         waiting for a lock), {MVS} MVs, both at a 1 s interval; median (min-max) per minute:"
    );
    for (i, (name, ..)) in monitors.iter().enumerate() {
        let col = |f: fn(&(f64, f64, f64)) -> f64| {
            let mut v: Vec<f64> = results[i].iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            (v[v.len() / 2], v[0], v[v.len() - 1])
        };
        let (ms, ms_lo, ms_hi) = col(|r| r.0);
        let (calls, ..) = col(|r| r.1);
        let (cpu, ..) = col(|r| r.2);
        println!(
            "  {name:<24} server exec+plan {ms:7.1} ms/min ({ms_lo:.1}-{ms_hi:.1})  {calls:4.0} calls/min  \
             client CPU {cpu:.3} s/min  peak RSS {:.1} MB",
            peak_rss_mb(pids[i])
        );
    }
    for (name, ..) in &monitors {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &format!("bench-{name}")])
            .status();
    }
    drop(load);
    runtime.shutdown_timeout(Duration::from_secs(2));
}

/// The sessions the monitors watch: kept open until dropped.
struct Load {
    _idle: Vec<Session>,
    _holder: Session,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Load {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn start_load(cluster: &Cluster, waiting: usize) -> Load {
    let resolved = pgconn::resolve(&cluster.params(DB), &pgconn::SystemEnv).expect("resolve");
    let connector = Connector::new(resolved, PasswordPrompt::Never).expect("connector");
    let connect = || async {
        let s = connector
            .connect(&SessionSettings::MONITORING)
            .await
            .expect("connect");
        s.client
            .batch_execute("SET lock_timeout = 0; SET statement_timeout = 0")
            .await
            .expect("settings");
        s
    };
    let mut idle = Vec::new();
    for i in 0..IDLE {
        let s = connect().await;
        s.client
            .batch_execute(&format!("SET application_name = 'idle_{i}'"))
            .await
            .expect("idle");
        idle.push(s);
    }
    // One idle-in-transaction session holds a row the waiters want.
    let holder = connect().await;
    holder
        .client
        .batch_execute("SET application_name = 'holder'; BEGIN; UPDATE hot SET id = 1 WHERE id = 1")
        .await
        .expect("holder");
    let mut tasks = Vec::new();
    for i in 0..ACTIVE - waiting {
        let s = connect().await;
        tasks.push(tokio::spawn(async move {
            let _ = s
                .client
                .batch_execute(&format!("SET application_name = 'active_{i}'"))
                .await;
            // Mostly active: a short query, then a sleep, in one statement.
            while s
                .client
                .batch_execute("SELECT count(*), pg_sleep(0.5) FROM src")
                .await
                .is_ok()
            {}
        }));
    }
    for i in 0..waiting {
        let s = connect().await;
        tasks.push(tokio::spawn(async move {
            let _ = s
                .client
                .batch_execute(&format!(
                    "SET application_name = 'waiter_{i}'; UPDATE hot SET id = 1 WHERE id = 1"
                ))
                .await;
        }));
    }
    Load {
        _idle: idle,
        _holder: holder,
        tasks,
    }
}

fn pane_pid(name: &str) -> u32 {
    let out = Command::new("tmux")
        .args(["display-message", "-p", "-t", &format!("bench-{name}")])
        .arg("#{pane_pid}")
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("pane pid")
}

/// utime + stime from /proc, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process alive");
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// (exec + plan ms, calls) of one role's statements since the last reset.
fn server(cluster: &Cluster, role: &str) -> (f64, f64) {
    let out = psql(
        cluster,
        &format!(
            "SELECT coalesce(sum(total_exec_time + total_plan_time), 0) || '|' || coalesce(sum(calls), 0) \
             FROM pg_stat_statements WHERE userid = '{role}'::regrole"
        ),
    );
    let (ms, calls) = out.trim().split_once('|').unwrap_or(("0", "0"));
    (ms.parse().unwrap_or(0.0), calls.parse().unwrap_or(0.0))
}

/// One role's heaviest statements, per minute.
fn breakdown(cluster: &Cluster, role: &str, per_min: f64) -> String {
    psql(
        cluster,
        &format!(
            "SELECT format('  %8s ms  %5s calls  %s', \
                    round(((total_exec_time + total_plan_time) * {per_min})::numeric, 2), \
                    round(calls * {per_min}), \
                    left(regexp_replace(query, '\\s+', ' ', 'g'), 90)) \
             FROM pg_stat_statements WHERE userid = '{role}'::regrole \
             ORDER BY total_exec_time + total_plan_time DESC LIMIT 6"
        ),
    )
}

fn psql(cluster: &Cluster, sql: &str) -> String {
    let out = psql_command(cluster, DB)
        .args(["-Atc", sql])
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
