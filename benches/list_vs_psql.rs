//! `mvtop list` against `psql -X -c '\dm+'` on the same database, side by side in one run,
//! first on catalogs never analyzed (the state after a burst of DDL, a restore or a
//! `pg_upgrade`: the cluster runs with autovacuum off), then after ANALYZE.
//! Run with `cargo bench --bench list_vs_psql [-- MVS ROUNDS TABLES]` (defaults 5,000 MVs,
//! 15 rounds, no plain tables; the scale target is `-- 20000 9 50000`).
//!
//! Every command is timed as a user runs it: process start, connect, query, print. They
//! alternate, so drift (caches, the write-back of the other) hits all alike.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{plain_tables_sql, run_psql, setup_sql_cold};
use mvtop::cluster::{ClusterOptions, psql_command};

const DB: &str = "bench";

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let mvs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let tables: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);

    let opts = ClusterOptions {
        settings: vec![("autovacuum".into(), "off".into())],
        ..ClusterOptions::default()
    };
    let cluster = common::cluster_with_db(&opts, DB);
    let setup = Instant::now();
    if tables > 0 {
        run_psql(&cluster, DB, &plain_tables_sql(tables));
    }
    for sql in setup_sql_cold(mvs) {
        run_psql(&cluster, DB, &sql);
    }
    println!(
        "setup: {mvs} MVs and {tables} plain tables in {:.1} s (half the MVs with a unique \
         index, every 10th reads the previous MV)",
        setup.elapsed().as_secs_f64()
    );

    let mut json = Command::new(env!("CARGO_BIN_EXE_mvtop"));
    json.args(["-d", &cluster.conninfo(DB), "list", "--format", "json"]);
    // The table has what \dm+ has and more, but no definitions (JSON only).
    let mut table = Command::new(env!("CARGO_BIN_EXE_mvtop"));
    table.args(["-d", &cluster.conninfo(DB), "list"]);
    let mut psql = psql_command(&cluster, DB);
    psql.args(["-c", "\\dm+"]);
    let mut runs = [
        ("mvtop list --format json", json, Vec::new(), 0),
        ("mvtop list (table)", table, Vec::new(), 0),
        ("psql -X -c '\\dm+'", psql, Vec::new(), 0),
    ];
    let mut ratios = Vec::new();
    for catalogs in ["never analyzed", "analyzed"] {
        if catalogs == "analyzed" {
            run_psql(&cluster, DB, "ANALYZE");
        }
        for run in runs.iter_mut() {
            run.2.clear();
            run.3 = output_len(&mut run.1);
        }
        for _ in 0..rounds {
            for run in runs.iter_mut() {
                run.2.push(time(&mut run.1));
            }
        }
        println!("catalogs {catalogs}: {rounds} alternating rounds, wall time per command:");
        let medians: Vec<Duration> = runs.iter_mut().map(|r| median(&mut r.2)).collect();
        for (run, m) in runs.iter().zip(&medians) {
            report(run.0, &run.2, *m, run.3);
        }
        let psql_median = medians[2].as_secs_f64();
        ratios.push((
            catalogs,
            medians[0].as_secs_f64() / psql_median,
            medians[1].as_secs_f64() / psql_median,
        ));
    }
    println!("ratio mvtop/psql (medians), {mvs} MVs, {tables} plain tables:");
    for (catalogs, json, table) in ratios {
        println!("  catalogs {catalogs:<15} json {json:.2}   table {table:.2}");
    }
}

fn output_len(cmd: &mut Command) -> usize {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
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
