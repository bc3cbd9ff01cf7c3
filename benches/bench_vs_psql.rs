//! Accuracy of `mvtop bench`: its client-observed medians against `psql \timing` medians of
//! the very same statements (taken from mvtop's JSON), on the demo database, alternated in
//! one run so drift hits both alike. Goal: within 10%.
//! Run with `cargo bench --bench bench_vs_psql [-- ROUNDS]`.
//!
//! Each round runs `mvtop bench NAME --runs 5 --warmup 1` (a new session; reads of the
//! view and of the MV alternating which goes first) and one psql session doing the same
//! with the same statements under `\timing`, rows sent to /dev/null; which of the two
//! programs goes first alternates too. Each side's figure is the median over the rounds of
//! its per-round medians.

use std::io::Write;
use std::process::{Command, Stdio};

mod common;

use common::run_psql;
use mvtop::cluster::{Cluster, ClusterOptions, psql_command};

const DB: &str = "bench";
const DEMO_SQL: &str = include_str!("../assets/demo/schema.sql");
/// A small aggregate, an hourly rollup, and the seed's 360k-row six-table join.
const MVS: [&str; 3] = [
    "reporting.chroot_stats",
    "reporting.builds_hourly",
    "reporting.copr_target_builds_for_pull_requests",
];

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let cluster = common::cluster_with_db(&ClusterOptions::default(), DB);
    run_psql(
        &cluster,
        DB,
        &format!("SET mvtop.demo_scale = '1';\n{DEMO_SQL}"),
    );
    run_psql(&cluster, DB, "ANALYZE");
    println!(
        "demo database loaded (scale 1); {rounds} alternating rounds per MV, each {RUNS} runs after a warm-up"
    );
    println!(
        "  {:<48} {:<5} {:>12} {:>12} {:>8}",
        "materialized view", "case", "mvtop ms", "psql ms", "diff"
    );
    let mut worst: f64 = 0.0;
    for mv in MVS {
        // Warms both caches and gives the statements psql is to run.
        let first = mvtop_bench(&cluster, mv);
        let statements = [statement(&first, "view"), statement(&first, "mv")];
        let mut mvtop_ms = [Vec::new(), Vec::new()];
        let mut psql_ms = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            let mut run_mvtop = || {
                let json = mvtop_bench(&cluster, mv);
                mvtop_ms[0].push(client_median(&json, "view"));
                mvtop_ms[1].push(client_median(&json, "mv"));
            };
            let mut run_psql = || {
                let [mut view, mut mv] = psql_timing(&cluster, &statements);
                psql_ms[0].push(median(&mut view));
                psql_ms[1].push(median(&mut mv));
            };
            if round % 2 == 0 {
                run_mvtop();
                run_psql();
            } else {
                run_psql();
                run_mvtop();
            }
        }
        for (i, case) in ["view", "mv"].iter().enumerate() {
            let m = median(&mut mvtop_ms[i]);
            let p = median(&mut psql_ms[i]);
            let diff = (m - p) / p;
            worst = worst.max(diff.abs());
            println!(
                "  {mv:<48} {case:<5} {m:>12.2} {p:>12.2} {:>+7.1}%",
                diff * 100.0
            );
        }
    }
    println!(
        "largest difference of the medians: {:.1}% (goal: within 10%)",
        worst * 100.0
    );
}

/// Measured runs per round, after one warm-up, on both sides.
const RUNS: usize = 5;

fn mvtop_bench(cluster: &Cluster, mv: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mvtop"))
        .args(["-d", &cluster.conninfo(DB), "bench", mv])
        .args([
            "--runs",
            &RUNS.to_string(),
            "--warmup",
            "1",
            "--format",
            "json",
        ])
        .output()
        .expect("run mvtop");
    assert!(
        out.status.success(),
        "mvtop bench {mv}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn case<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no case {name}"))
}

fn statement(json: &serde_json::Value, name: &str) -> String {
    case(json, name)["statement"]
        .as_str()
        .expect("statement")
        .to_string()
}

fn client_median(json: &serde_json::Value, name: &str) -> f64 {
    case(json, name)["client_ms"]["median"]
        .as_f64()
        .expect("median")
}

/// One psql session as mvtop runs a round: a warm-up of both statements, then `RUNS`
/// rounds alternating which goes first, under `\timing`, rows to /dev/null (psql's time
/// covers sending the query and receiving every row, not printing them). The times of the
/// measured runs of the view and of the MV.
fn psql_timing(cluster: &Cluster, statements: &[String; 2]) -> [Vec<f64>; 2] {
    let mut child = psql_command(cluster, DB)
        .args(["-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql");
    let mut order = vec![0, 1];
    for run in 0..RUNS {
        order.extend(if run % 2 == 0 { [0, 1] } else { [1, 0] });
    }
    let mut script = String::from("\\timing on\n\\o /dev/null\n");
    for &i in &order {
        script.push_str(&statements[i]);
        script.push_str(";\n");
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write to psql");
    let out = child.wait_with_output().expect("psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Time: "))
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(times.len(), order.len(), "psql printed {times:?}");
    let mut by_case = [Vec::new(), Vec::new()];
    // The first two are the warm-up.
    for (&i, &t) in order.iter().zip(&times).skip(2) {
        by_case[i].push(t);
    }
    by_case
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
