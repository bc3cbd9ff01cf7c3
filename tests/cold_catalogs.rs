//! Plans on catalogs nobody analyzed yet: right after a burst of DDL, a restore or a
//! `pg_upgrade`, the planner estimates one MV however many there are. Every statement mvtop
//! sends (the CLI's, the console's polls, the daemon's) is run here on such a database with
//! `auto_explain` logging its executed plan, and each plan must stay linear: no node that is
//! rescanned for a large share of the rows while touching a large share of them each time
//! (the nested loop over all MVs that made `mvtop list` quadratic).

mod common;

use std::path::Path;
use std::time::Duration;

use common::daemon::Daemon;
use common::tmux::Tmux;
use mvtop::cluster::ClusterOptions;
use serde_json::Value;

const MVS: usize = 1500;
const SCHEMAS: usize = 300;

fn cluster() -> &'static mvtop::cluster::Cluster {
    common::cluster_with(|| ClusterOptions {
        settings: [
            ("autovacuum", "off"),
            ("track_commit_timestamp", "on"),
            ("logging_collector", "on"),
            ("log_destination", "jsonlog"),
            ("log_directory", "log"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..ClusterOptions::default()
    })
}

/// A tenant-per-schema database: MVs spread over many schemas, half with a unique key,
/// every tenth reading the previous one, a third reading a shared table through two views,
/// some a partitioned table, one a user function; plain tables besides.
fn fixture() -> Vec<String> {
    let mut sql = vec![format!(
        "CREATE SCHEMA shared;
         CREATE TABLE shared.facts (id int PRIMARY KEY, tenant int, v numeric);
         INSERT INTO shared.facts SELECT g, g % {SCHEMAS}, g FROM generate_series(1, 3000) g;
         CREATE VIEW shared.v1 AS SELECT tenant, v FROM shared.facts;
         CREATE VIEW shared.v2 AS SELECT tenant, sum(v) AS v FROM shared.v1 GROUP BY tenant;
         CREATE TABLE shared.events (at date, n int) PARTITION BY RANGE (at);
         CREATE TABLE shared.events_1 PARTITION OF shared.events FOR VALUES FROM ('2026-01-01') TO ('2026-07-01');
         CREATE TABLE shared.events_2 PARTITION OF shared.events FOR VALUES FROM ('2026-07-01') TO ('2027-01-01');
         CREATE FUNCTION shared.double(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2'"
    )];
    sql.push(format!(
        "DO $$ BEGIN
           FOR s IN 0..{SCHEMAS} - 1 LOOP
             EXECUTE format('CREATE SCHEMA %I', 'Tenant ' || s);
             EXECUTE format('CREATE TABLE %I.orders (id int PRIMARY KEY, v int)', 'Tenant ' || s);
             EXECUTE format('CREATE TABLE %I.plain_a (id int)', 'Tenant ' || s);
             EXECUTE format('CREATE TABLE %I.plain_b (id int PRIMARY KEY)', 'Tenant ' || s);
             IF s % 20 = 0 THEN COMMIT; END IF;
           END LOOP;
         END $$"
    ));
    sql.push(format!(
        "DO $$
         DECLARE s text; q text;
         BEGIN
           FOR i IN 1..{MVS} LOOP
             s := 'Tenant ' || (i % {SCHEMAS});
             q := CASE
               WHEN i % 10 = 0 THEN format('SELECT k, n FROM %I.%I', 'Tenant ' || ((i - 1) % {SCHEMAS}), 'mv ' || (i - 1))
               WHEN i % 3 = 0 THEN format('SELECT tenant AS k, v AS n FROM shared.v2 WHERE tenant <> %s', i)
               WHEN i % 7 = 0 THEN 'SELECT n AS k, count(*) AS n FROM shared.events GROUP BY n'
               WHEN i % 11 = 0 THEN 'SELECT id AS k, shared.double(v) AS n FROM shared.facts'
               ELSE format('SELECT id AS k, v AS n FROM %I.orders', s)
             END;
             EXECUTE format('CREATE MATERIALIZED VIEW %I.%I AS %s', s, 'mv ' || i, q);
             IF i % 2 = 0 THEN
               EXECUTE format('CREATE UNIQUE INDEX ON %I.%I (k)', s, 'mv ' || i);
             END IF;
             IF i % 50 = 0 THEN COMMIT; END IF;
           END LOOP;
         END $$"
    ));
    sql
}

#[test]
fn every_statement_keeps_a_linear_plan_on_catalogs_never_analyzed() {
    let c = cluster();
    let db = "cold";
    psql(db.into(), "postgres", &format!("CREATE DATABASE {db}"));
    for step in fixture() {
        psql(db.into(), db, &step);
    }
    install_and_exercise(db);
    assert_few_locks_at_once(db);
    assert_catalogs_are_cold(db);
    let explained = [
        "session_preload_libraries = 'auto_explain'",
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_analyze = on",
        "auto_explain.log_timing = off",
        "auto_explain.log_format = json",
    ];
    for setting in explained {
        psql(db.into(), db, &format!("ALTER DATABASE {db} SET {setting}"));
    }

    // What goes on while mvtop watches: a report holding 150 MVs in an open transaction, a
    // plain refresh queued behind it (a lock wait), and a migration holding a shared table
    // (500 MVs read it through two views, 90 directly).
    let reads: Vec<String> = (1..=150)
        .map(|i| format!("SELECT FROM \"Tenant {}\".\"mv {i}\" LIMIT 0;", i % SCHEMAS))
        .collect();
    let reader = background(
        db,
        &format!("BEGIN; {} SELECT pg_sleep(600)", reads.concat()),
    );
    std::thread::sleep(Duration::from_millis(300));
    let refresher = background(
        db,
        "SET lock_timeout = 0; REFRESH MATERIALIZED VIEW \"Tenant 4\".\"mv 4\"",
    );
    let migration = background(
        db,
        "BEGIN; LOCK TABLE shared.facts IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)",
    );
    std::thread::sleep(Duration::from_millis(500));

    run_every_reading_command(db);
    watch_with_the_console(db);
    let daemon = Daemon::start(common::mvtop(db), &[]);
    std::thread::sleep(Duration::from_secs(4));
    let (status, _) = daemon.terminate();
    assert!(status.success());

    for mut p in [reader, refresher, migration] {
        let _ = p.kill();
        let _ = p.wait();
    }

    let plans = logged_plans(&c.data_dir().join("log"));
    let pg_class_rows = scalar(db, "SELECT count(*) FROM pg_class")
        .parse::<f64>()
        .unwrap();
    // The test must see the real work, not pass for want of plans.
    for needle in [
        "pg_rewrite",
        "pg_stat_statements",
        "pg_locks",
        "pg_stat_activity",
        "refresh_log",
        "schedule",
        "pg_table_size",
        "pg_get_viewdef",
        "pg_stat_get_tuples_inserted",
        "pg_blocking_pids",
        "pg_get_indexdef",
    ] {
        assert!(
            plans.iter().any(|(q, _)| q.contains(needle)),
            "no statement mentioning {needle} was explained ({} plans)",
            plans.len()
        );
    }
    let mut offenders = Vec::new();
    let mut worst = (0.0, String::new());
    for (query, plan) in &plans {
        let heaviest = heaviest_repeated(plan);
        if heaviest.0 > worst.0 {
            worst = (
                heaviest.0,
                format!("{} in {}", heaviest.1, first_words(query)),
            );
        }
        let mut found = Vec::new();
        nonlinear_nodes(plan, pg_class_rows, &mut found);
        if !found.is_empty() {
            offenders.push(format!(
                "{}\n    {}",
                first_words(query),
                found.join("\n    ")
            ));
        }
    }
    eprintln!(
        "{} plans; the most repeated work: {} rows ({})",
        plans.len(),
        worst.0,
        worst.1
    );
    assert!(
        offenders.is_empty(),
        "{} of {} plans rescan a large set ({MVS} MVs, {pg_class_rows} pg_class rows):\n{}",
        offenders.len(),
        plans.len(),
        offenders.join("\n")
    );
}

fn first_words(query: &str) -> String {
    let words: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    words.chars().take(160).collect()
}

/// The node executed more than once that touches the most rows in all, and what it is.
fn heaviest_repeated(node: &Value) -> (f64, String) {
    let loops = node["Actual Loops"].as_f64().unwrap_or(1.0);
    let mut best = if loops > 1.0 {
        let work = loops * touched_per_loop(node);
        (
            work,
            format!("{} x {loops}", node["Node Type"].as_str().unwrap_or("?")),
        )
    } else {
        (0.0, String::new())
    };
    for child in node["Plans"].as_array().into_iter().flatten() {
        let c = heaviest_repeated(child);
        if c.0 > best.0 {
            best = c;
        }
    }
    best
}

/// Sizing an MV locks it, its TOAST table and their indexes until the statement's
/// transaction ends: sizing every MV in one statement, as `\dm+` does, fills the server's
/// shared lock table that every session draws from. mvtop sizes fifty at a time: the most
/// locks its sessions hold at once during a `list`, sampled, stays in the hundreds.
fn assert_few_locks_at_once(db: &str) {
    let mut list = common::mvtop(db)
        .args(["list", "--format", "json"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut most = 0;
    while list.try_wait().unwrap().is_none() {
        let held: i64 = scalar(
            db,
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE a.application_name LIKE 'mvtop%' AND l.locktype = 'relation'",
        )
        .parse()
        .unwrap();
        most = most.max(held);
    }
    assert!(list.wait().unwrap().success());
    assert!(
        (1..=400).contains(&most),
        "mvtop's sessions held {most} relation locks at once ({MVS} MVs)"
    );
}

/// Rows a node touches per execution: what it returned and what its filters threw away.
fn touched_per_loop(node: &Value) -> f64 {
    [
        "Actual Rows",
        "Rows Removed by Filter",
        "Rows Removed by Join Filter",
        "Rows Removed by Index Recheck",
    ]
    .iter()
    .filter_map(|k| node[*k].as_f64())
    .sum()
}

/// A node executed for a large share of the rows that touches a large share of them each
/// time, or one that touches far more rows than the catalogs hold: the quadratic shapes.
fn nonlinear_nodes(node: &Value, catalog_rows: f64, found: &mut Vec<String>) {
    const MANY: f64 = 100.0;
    let loops = node["Actual Loops"].as_f64().unwrap_or(1.0);
    let per_loop = touched_per_loop(node);
    let what = || {
        let on = ["Relation Name", "Function Name", "CTE Name", "Index Name"]
            .iter()
            .find_map(|k| node[*k].as_str())
            .unwrap_or("");
        format!(
            "{} {on}: {loops} loops x {per_loop} rows",
            node["Node Type"].as_str().unwrap_or("?")
        )
    };
    if loops >= MANY && per_loop >= MANY {
        found.push(format!("rescanned: {}", what()));
    } else if loops * per_loop > 50.0 * catalog_rows {
        found.push(format!("touches too much: {}", what()));
    }
    if let Some(children) = node["Plans"].as_array() {
        for child in children {
            nonlinear_nodes(child, catalog_rows, found);
        }
    }
}

/// (query text, root plan node) of every plan auto_explain logged for an mvtop session.
fn logged_plans(dir: &Path) -> Vec<(String, Value)> {
    let mut plans = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the server's log directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let app = entry["application_name"].as_str().unwrap_or("");
            let message = entry["message"].as_str().unwrap_or("");
            if !app.starts_with("mvtop") {
                continue;
            }
            let Some(at) = message.find("plan:") else {
                continue;
            };
            let Ok(explained) = serde_json::from_str::<Value>(&message[at + 5..]) else {
                continue;
            };
            let query = explained["Query Text"].as_str().unwrap_or("").to_string();
            plans.push((query, explained["Plan"].clone()));
        }
    }
    plans
}

/// The ledger, refreshes on record (ledger and pg_stat_statements) and schedules of each kind.
fn install_and_exercise(db: &str) {
    ok(common::mvtop(db).arg("install"));
    psql(db.into(), db, "CREATE EXTENSION pg_stat_statements");
    let name = |i: usize| format!("\"Tenant {}\".\"mv {i}\"", i % SCHEMAS);
    for i in (1..=30).step_by(3) {
        ok(common::mvtop(db).args(["refresh", &name(i)]));
    }
    // Other clients' refreshes: one pg_stat_statements entry each (a transaction per ten:
    // the lock table is small).
    let refreshes: Vec<String> = (1..=300)
        .map(|i| format!("REFRESH MATERIALIZED VIEW {};", name(i)))
        .collect();
    for ten in refreshes.chunks(10) {
        psql(db.into(), db, &ten.concat());
    }
    let schedules: [(&str, &[&str]); 3] = [
        ("\"Tenant 2\".\"mv 2\"", &["--every", "1h"]),
        ("\"Tenant 5\".\"mv 5\"", &["--cron", "0 3 * * *"]),
        ("\"Tenant 8\".\"mv 8\"", &["--on-change"]),
    ];
    for (name, how) in schedules {
        ok(common::mvtop(db).args(["schedule", "set", name]).args(how));
    }
}

/// The planner believes there is next to no MV: the state this test is about.
fn assert_catalogs_are_cold(db: &str) {
    let analyzed = scalar(
        db,
        "SELECT count(*) FROM pg_stat_sys_tables WHERE relname IN \
         ('pg_class', 'pg_depend', 'pg_rewrite', 'pg_index', 'pg_namespace') \
         AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)",
    );
    assert_eq!(analyzed, "0");
    let plan = scalar(
        db,
        "EXPLAIN (FORMAT JSON) SELECT * FROM pg_class WHERE relkind = 'm'",
    );
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let estimate = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap();
    assert!(
        estimate < (MVS / 10) as f64,
        "the planner expects {estimate} MVs of {MVS}: not a cold catalog"
    );
}

fn run_every_reading_command(db: &str) {
    let commands: [&[&str]; 9] = [
        &["list", "--format", "json"],
        &["list"],
        &["locks", "--format", "json"],
        &["top", "--interval", "1s", "--format", "json"],
        &["history", "--format", "json"],
        &["schedule", "list", "--format", "json"],
        &["schedule", "advise", "--format", "json"],
        &["doctor", "--format", "json"],
        &["refresh", "--dry-run", "\"Tenant 3\".\"mv 3\""],
    ];
    for args in commands {
        ok(common::mvtop(db).args(args));
    }
}

/// The console's polls for a few seconds on each pane, with the detail pane open.
fn watch_with_the_console(db: &str) {
    let command = format!(
        "{} -d '{}' --interval 1; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop"),
        cluster().conninfo(db)
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for_within("views", Duration::from_secs(60));
    tmux.wait_for_within(&format!("views {MVS}/{MVS}"), Duration::from_secs(60));
    for key in ["Down", "Enter", "4", "5", "6", "1"] {
        tmux.keys(&[key]);
        std::thread::sleep(Duration::from_millis(1500));
    }
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
}

fn ok(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn psql(_: String, db: &str, sql: &str) {
    let out = mvtop::cluster::psql_command(cluster(), db)
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scalar(db: &str, sql: &str) -> String {
    let out = mvtop::cluster::psql_command(cluster(), db)
        .args(["-Atq", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A psql session running `sql` in the background (killed by the test when done).
fn background(db: &str, sql: &str) -> std::process::Child {
    mvtop::cluster::psql_command(cluster(), db)
        .args(["-q", "-c", sql])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}
