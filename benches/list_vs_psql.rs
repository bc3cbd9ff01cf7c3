//! `mvtop list --format json` against `psql -X -c '\dm+'` on the same 5,000-MV database,
//! side by side in one run. Run with `cargo bench --bench list_vs_psql [-- MVS ROUNDS]`.
//!
//! Both commands are timed as a user runs them: process start, connect, query, print.
//! They alternate, so drift (caches, the write-back of the other) hits both alike.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{run_psql, setup_sql};
use mvtop::cluster::{ClusterOptions, psql_command};

const DB: &str = "bench";

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let mvs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);

    let cluster = common::cluster_with_db(&ClusterOptions::default(), DB);
    // Making the MVs, not starting the cluster (the database is created with it).
    let setup = Instant::now();
    for sql in setup_sql(mvs) {
        run_psql(&cluster, DB, &sql);
    }
    println!(
        "setup: {mvs} MVs in {:.1} s (half with a unique index, every 10th reads the previous MV)",
        setup.elapsed().as_secs_f64()
    );

    let mut mvtop = Command::new(env!("CARGO_BIN_EXE_mvtop"));
    mvtop.args(["-d", &cluster.conninfo(DB), "list", "--format", "json"]);
    // The table has what \dm+ has and more, but no definitions (JSON only).
    let mut table = Command::new(env!("CARGO_BIN_EXE_mvtop"));
    table.args(["-d", &cluster.conninfo(DB), "list"]);
    let mut psql = psql_command(&cluster, DB);
    psql.args(["-c", "\\dm+"]);

    let mut runs = [
        ("mvtop list --format json", mvtop, Vec::new(), 0),
        ("mvtop list (table)", table, Vec::new(), 0),
        ("psql -X -c '\\dm+'", psql, Vec::new(), 0),
    ];
    for run in runs.iter_mut() {
        run.3 = output_len(&mut run.1);
    }
    for _ in 0..rounds {
        for run in runs.iter_mut() {
            run.2.push(time(&mut run.1));
        }
    }
    println!("{rounds} alternating rounds, wall time per command:");
    let medians: Vec<Duration> = runs.iter_mut().map(|r| median(&mut r.2)).collect();
    for (run, m) in runs.iter().zip(&medians) {
        report(run.0, &run.2, *m, run.3);
    }
    let psql_median = medians[2].as_secs_f64();
    println!(
        "ratio mvtop/psql (medians): json {:.2}, table {:.2} (goal: at most 1.00)",
        medians[0].as_secs_f64() / psql_median,
        medians[1].as_secs_f64() / psql_median
    );
}

fn output_len(cmd: &mut Command) -> usize {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.len()
}

fn time(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    let took = start.elapsed();
    assert!(status.success(), "{cmd:?} failed");
    took
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(label: &str, times: &[Duration], median: Duration, bytes: usize) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {label:<26} median {:7.1} ms   min {:7.1} ms   max {:7.1} ms   output {:>9} bytes",
        ms(median),
        ms(times[0]),
        ms(times[times.len() - 1]),
        bytes
    );
}
