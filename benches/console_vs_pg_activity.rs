//! The console against pg_activity (`apt-get install pg-activity`), both polling every
//! second, side by side for a minute on one 5,000-MV database: client CPU seconds, peak
//! RSS, and the server time of each one's queries from pg_stat_statements (each logs in as
//! its own role), with mvtop's statements one by one.
//! Run with `cargo bench --bench console_vs_pg_activity [-- MVS SECONDS]`; needs tmux.

use std::process::Command;
use std::time::Duration;

mod common;

use common::{cpu_seconds, peak_rss_mb, run_psql, setup_sql};
use mvtop::cluster::{Cluster, ClusterOptions, psql_command};

const DB: &str = "bench";

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let mvs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let opts = ClusterOptions {
        settings: vec![("pg_stat_statements.track_planning".into(), "on".into())],
        ..ClusterOptions::default()
    };
    let cluster = common::cluster_with_db(&opts, DB);
    for sql in setup_sql(mvs) {
        run_psql(&cluster, DB, &sql);
    }
    run_psql(
        &cluster,
        DB,
        "CREATE EXTENSION pg_stat_statements; CREATE ROLE mon_mvtop LOGIN SUPERUSER; \
         CREATE ROLE mon_pgactivity LOGIN SUPERUSER",
    );
    let socket = cluster.socket_dir().display().to_string();
    let port = cluster.port().to_string();
    let mvtop = format!(
        "exec {} -h {socket} -p {port} -U mon_mvtop -d {DB} --interval 1",
        env!("CARGO_BIN_EXE_mvtop")
    );
    let pg_activity = format!(
        "exec env HOME=/tmp pg_activity -h {socket} -p {port} -U mon_pgactivity -d {DB} --refresh 1"
    );
    let sessions = [
        ("mvtop", "mon_mvtop", mvtop),
        ("pg_activity", "mon_pgactivity", pg_activity),
    ];
    for (name, _, command) in &sessions {
        let tmux = [
            "new-session",
            "-d",
            "-s",
            &format!("bench-{name}"),
            "-x",
            "200",
            "-y",
            "50",
        ];
        let ok = Command::new("tmux")
            .args(tmux)
            .arg(command)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "tmux and pg_activity are needed (apt-get install tmux pg-activity)"
        );
    }
    // Warm up past the first full reads, then measure from a clean slate.
    std::thread::sleep(Duration::from_secs(8));
    run_psql(&cluster, DB, "SELECT pg_stat_statements_reset()");
    let pids: Vec<u32> = sessions.iter().map(|(name, _, _)| pane_pid(name)).collect();
    let before: Vec<f64> = pids.iter().map(|&p| cpu_seconds(p)).collect();
    std::thread::sleep(Duration::from_secs(seconds));
    println!("{seconds} s side by side on {mvs} MVs, both polling every second:");
    let per_min = 60.0 / seconds as f64;
    let mut figures = Vec::new();
    for (i, (name, role, _)) in sessions.iter().enumerate() {
        let cpu = cpu_seconds(pids[i]) - before[i];
        let server = server_ms(&cluster, role);
        let rss = peak_rss_mb(pids[i]);
        println!(
            "  {name:<12} client CPU {:.2} s/min   peak RSS {rss:.1} MB   server {:.0} ms/min",
            cpu * per_min,
            server * per_min
        );
        figures.push((cpu, server, rss));
    }
    let (m, p) = (figures[0], figures[1]);
    println!(
        "  mvtop / pg_activity: client CPU {:.2}x (goal 0.25)   server {:.3}x (goal 0.05)",
        m.0 / p.0,
        m.1 / p.1
    );
    println!("  mvtop's statements (ms/min, calls):");
    for line in statements_of(&cluster, "mon_mvtop") {
        println!("    {line}");
    }
    for (name, _, _) in &sessions {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &format!("bench-{name}")])
            .status();
    }
}

/// `ms/min  calls  first words` of a role's statements, most expensive first.
fn statements_of(cluster: &Cluster, role: &str) -> Vec<String> {
    let out = psql_command(cluster, DB)
        .args([
            "-AtF",
            "|",
            "-c",
            &format!(
                "SELECT round((total_exec_time + total_plan_time)::numeric, 1), calls, \
                    left(regexp_replace(query, '\\s+', ' ', 'g'), 70) \
             FROM pg_stat_statements WHERE userid = '{role}'::regrole \
             ORDER BY total_exec_time + total_plan_time DESC LIMIT 8"
            ),
        ])
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(3, '|').collect();
            format!(
                "{:>8} {:>6}  {}",
                f[0],
                f.get(1).unwrap_or(&""),
                f.get(2).unwrap_or(&"")
            )
        })
        .collect()
}

fn pane_pid(name: &str) -> u32 {
    let out = Command::new("tmux")
        .args([
            "display-message",
            "-p",
            "-t",
            &format!("bench-{name}"),
            "#{pane_pid}",
        ])
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("pane pid")
}

fn server_ms(cluster: &Cluster, role: &str) -> f64 {
    let out = psql_command(cluster, DB)
        .args(["-Atc", &format!(
            "SELECT coalesce(sum(total_exec_time + total_plan_time), 0) FROM pg_stat_statements \
             WHERE userid = '{role}'::regrole"
        )])
        .output()
        .expect("psql");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}
