//! The scheduler under load: 1,000 MVs each scheduled every minute, due instants spread over
//! the period, run by `mvtop daemon`; the delay from each due instant to its REFRESH start
//! (from the ledger), then the daemon's idle cost with 1,000 schedules none of which is due:
//! CPU seconds and peak RSS of the process, server time of its queries (pg_stat_statements).
//! Run with `cargo bench --bench scheduler_delay [-- MVS SECONDS]`.

use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{cpu_seconds, peak_rss_mb, run_psql};
use mvtop::cluster::{Cluster, ClusterOptions, psql_command};

const DB: &str = "bench";
const EVERY_S: i64 = 60;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let mvs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(120);
    let cluster = common::cluster_with_db(&ClusterOptions::default(), DB);
    run_psql(
        &cluster,
        DB,
        "CREATE EXTENSION pg_stat_statements;
         CREATE ROLE sched LOGIN SUPERUSER;
         CREATE TABLE src (id int PRIMARY KEY, v int);
         INSERT INTO src SELECT g, g FROM generate_series(1, 100) g;",
    );
    // On its own: psql -c runs several statements in one transaction, and the loop commits.
    run_psql(
        &cluster,
        DB,
        &format!(
            "DO $$ BEGIN FOR i IN 1..{mvs} LOOP
               EXECUTE format('CREATE MATERIALIZED VIEW mv_%s AS SELECT count(*) AS n FROM src WHERE v <> %s', i, i);
               IF i % 500 = 0 THEN COMMIT; END IF;
             END LOOP; END $$"
        ),
    );
    let mvtop = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mvtop"));
        cmd.args(["-h", &cluster.socket_dir().display().to_string()])
            .args(["-p", &cluster.port().to_string(), "-U", "sched", "-d", DB])
            .args(args);
        cmd
    };
    let out = mvtop(&["install"]).output().expect("mvtop install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Due instants spread evenly over the period; the first ones fall due at once.
    run_psql(
        &cluster,
        DB,
        &format!(
            "INSERT INTO mvtop.schedule (mv_schema, mv_name, kind, every_ms, created_at)
             SELECT 'public', 'mv_' || i, 'every', {EVERY_S} * 1000,
                    now() - interval '{EVERY_S} s' + (i * {EVERY_S} * 1000.0 / {mvs}) * interval '1 ms'
             FROM generate_series(1, {mvs}) i"
        ),
    );

    println!(
        "scheduling delay: {mvs} MVs, every {EVERY_S} s, {seconds} s of mvtop daemon --jobs 4"
    );
    let daemon = mvtop(&["daemon", "--jobs", "4"])
        .stdout(Stdio::null())
        .spawn()
        .expect("daemon");
    std::thread::sleep(Duration::from_secs(seconds));
    stop(daemon);
    let delays = query(
        &cluster,
        &format!(
            "WITH r AS (
               SELECT extract(epoch FROM l.started_at - (s.created_at + floor(extract(epoch FROM
                        l.started_at - s.created_at) / {EVERY_S}) * interval '{EVERY_S} s')) * 1000 AS ms
               FROM mvtop.refresh_log l
               JOIN mvtop.schedule s ON s.mv_schema = l.mv_schema AND s.mv_name = l.mv_name
               WHERE l.source = 'schedule' AND l.outcome = 'ok')
             SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
                    round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 1),
                    round(max(ms)::numeric, 1)
             FROM r"
        ),
    );
    let expected = mvs as u64 * seconds / EVERY_S as u64;
    println!("  runs {} (about {expected} due)", delays[0]);
    println!(
        "  delay due -> REFRESH start: median {} ms, p95 {} ms, max {} ms",
        delays[1], delays[2], delays[3]
    );

    run_psql(
        &cluster,
        DB,
        "UPDATE mvtop.schedule SET kind = 'cron', every_ms = NULL, cron = '0 0 1 1 *';
         SELECT pg_stat_statements_reset();",
    );
    let idle_secs = seconds.max(60);
    println!("idle: {mvs} schedules, none due, {idle_secs} s");
    let daemon = mvtop(&["daemon"])
        .stdout(Stdio::null())
        .spawn()
        .expect("daemon");
    let pid = daemon.id();
    std::thread::sleep(Duration::from_secs(5));
    let cpu_before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let cpu = cpu_seconds(pid) - cpu_before;
    let rss = peak_rss_mb(pid);
    stop(daemon);
    let server = query(
        &cluster,
        "SELECT round(sum(s.total_exec_time + s.total_plan_time)::numeric, 1), sum(s.calls)
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
         WHERE r.rolname = 'sched'",
    );
    let per_min = 60.0 / idle_secs as f64;
    println!(
        "  client CPU {:.3} s/min, peak RSS {rss:.1} MB",
        cpu * per_min
    );
    println!(
        "  server time {} ms over {idle_secs} s ({} statements)",
        server[0], server[1]
    );
    cluster.stop();
}

fn query(cluster: &Cluster, sql: &str) -> Vec<String> {
    let out = psql_command(cluster, DB)
        .args(["-At", "-F", "\t", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split('\t')
        .map(str::to_string)
        .collect()
}

fn stop(mut child: std::process::Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}
