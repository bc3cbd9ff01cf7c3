//! What the benchmarks share: a database with many MVs in a throwaway cluster.
#![allow(dead_code)] // each bench uses its own part

use mvtop::cluster::{Cluster, ClusterOptions, psql_command};

/// `tables` plain tables (with a primary key) in schemas of 1,000, beside the MVs: a
/// database that is mostly something else. Committed every 500, like the MVs.
pub fn plain_tables_sql(tables: u32) -> String {
    format!(
        "DO $$
         BEGIN
           FOR i IN 1..{tables} LOOP
             IF i % 1000 = 1 THEN
               EXECUTE format('CREATE SCHEMA app_%s', (i - 1) / 1000);
             END IF;
             EXECUTE format('CREATE TABLE app_%s.t_%s (id int PRIMARY KEY, v text)', (i - 1) / 1000, i);
             IF i % 500 = 0 THEN
               COMMIT;
             END IF;
           END LOOP;
         END $$"
    )
}

/// Separate statements: the loop commits every 500 MVs (one transaction would run out of
/// lock slots), which PL/pgSQL allows only as a top-level statement.
pub fn setup_sql(mvs: u32) -> [String; 3] {
    let tables = "CREATE TABLE src (id int PRIMARY KEY, grp int, v numeric);
         INSERT INTO src SELECT g, g % 50, g FROM generate_series(1, 2000) g;
         CREATE VIEW src_view AS SELECT grp, v FROM src;";
    let mvs = format!(
        "DO $$
         BEGIN
           FOR i IN 1..{mvs} LOOP
             IF i % 10 = 0 THEN
               EXECUTE format('CREATE MATERIALIZED VIEW mv_%s AS SELECT grp, total FROM mv_%s', i, i - 1);
             ELSE
               EXECUTE format('CREATE MATERIALIZED VIEW mv_%s AS SELECT grp, sum(v) AS total FROM src_view WHERE grp <> %s GROUP BY grp', i, i % 50);
             END IF;
             IF i % 2 = 0 THEN
               EXECUTE format('CREATE UNIQUE INDEX mv_%s_uk ON mv_%s (grp)', i, i);
             END IF;
             IF i % 500 = 0 THEN
               COMMIT;
             END IF;
           END LOOP;
         END $$"
    );
    [tables.to_string(), mvs, "ANALYZE".to_string()]
}

/// The same without the final ANALYZE: catalogs as a burst of DDL, a restore or a
/// `pg_upgrade` leaves them (run the cluster with autovacuum off to keep them so).
pub fn setup_sql_cold(mvs: u32) -> [String; 2] {
    let [tables, mvs, _] = setup_sql(mvs);
    [tables, mvs]
}

pub fn run_psql(cluster: &Cluster, db: &str, sql: &str) {
    let out = psql_command(cluster, db)
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// utime + stime from /proc, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process alive");
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

pub fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A throwaway cluster with an empty database `db`; a bench without server binaries says
/// which packages to install and exits.
pub fn cluster_with_db(opts: &ClusterOptions, db: &str) -> Cluster {
    let cluster = Cluster::start(opts).unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(1);
    });
    run_psql(&cluster, "postgres", &format!("CREATE DATABASE {db}"));
    cluster
}
