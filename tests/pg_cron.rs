//! pg_cron against a real pg_cron (Debian's postgresql-15-cron, 1.4.2): jobs found in pg_cron's
//! database for the shown database and for pg_cron's own, every command shape with hostile
//! names, runs read from job_run_details (a failure with its message, a run the event trigger
//! also recorded counted once), the plan of those reads on a million runs, privileges.
//! Tests that wait for pg_cron (a minute at most) run in parallel threads of this binary.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mvtop::catalog::Inventory;
use mvtop::pgcron::jobs::{How, read_jobs};
use mvtop::pgcron::{PgCron, Refreshes, RunReader, Unavailable};

/// A 63-byte name (the most PostgreSQL keeps) with quotes, spaces and unicode.
fn long_name() -> String {
    let mut n = String::from("Störungen \"täglich\" ");
    while n.len() < 61 {
        n.push('é');
    }
    while n.len() < 63 {
        n.push('x');
    }
    assert_eq!(n.len(), 63);
    n
}

fn fixture() -> String {
    let long = long_name().replace('"', "\"\"");
    format!(
        r#"
CREATE TABLE public.base AS SELECT g AS id FROM generate_series(1, 10) g;
CREATE SCHEMA "Reporting";
CREATE SCHEMA reporting;
CREATE MATERIALIZED VIEW "Reporting"."Sales by Region" AS SELECT id FROM public.base;
CREATE MATERIALIZED VIEW reporting."top""x" AS SELECT id FROM public.base;
CREATE UNIQUE INDEX ON reporting."top""x" (id);
CREATE MATERIALIZED VIEW public.shadow AS SELECT 1 AS one;
CREATE MATERIALIZED VIEW "Reporting".shadow AS SELECT 2 AS two;
CREATE MATERIALIZED VIEW public.mv_plain AS SELECT id FROM public.base;
CREATE MATERIALIZED VIEW public."{long}" AS SELECT 1 AS one;
CREATE TABLE public.not_an_mv (x int);
"#
    )
}

async fn psql_cron(sql: &str) {
    let s = common::session("postgres").await;
    s.client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Schedules `command` in `db` as `user` (superuser: any user), far in the future.
async fn job(name: &str, db: &str, user: &str, schedule: &str, command: &str) -> i64 {
    let s = common::session("postgres").await;
    s.client
        .query_one(
            "SELECT cron.schedule_in_database($1, $2, $3, $4, $5)",
            &[&name, &schedule, &command, &db, &user],
        )
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"))
        .get(0)
}

struct Seen {
    located: PgCron,
    refreshes: Refreshes,
    names: std::collections::HashMap<u32, String>,
}

async fn seen(db: &str) -> Seen {
    let main = common::session(db).await;
    let connector = common::connector(&common::cluster().params(db));
    let located = PgCron::locate(&main.client, &connector)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let jobs = read_jobs(located.client(&main.client), db).await.unwrap();
    let views = Inventory::catalog_only(&main.client).await.unwrap();
    let mvs: Vec<(u32, &str, &str)> = views
        .iter()
        .map(|v| (v.oid, v.schema.as_str(), v.name.as_str()))
        .collect();
    let refreshes = Refreshes::of(&main.client, &jobs, &mvs).await.unwrap();
    let names = views
        .iter()
        .map(|v| (v.oid, v.qualified_name.clone()))
        .collect();
    Seen {
        located,
        refreshes,
        names,
    }
}

impl Seen {
    fn of_job(&self, jobid: i64) -> BTreeSet<(String, String)> {
        self.refreshes
            .pairs
            .iter()
            .filter(|p| p.jobid == jobid)
            .map(|p| {
                let how = match &p.how {
                    How::Refresh {
                        concurrently,
                        with_data,
                    } => format!(
                        "refresh{}{}",
                        if *concurrently { " concurrently" } else { "" },
                        if *with_data { "" } else { " no data" }
                    ),
                    How::Ledger { concurrently } => format!("ledger {concurrently}"),
                    How::MayRefresh => "may".into(),
                };
                (self.names[&p.mv_oid].clone(), how)
            })
            .collect()
    }
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn jobs_of_another_database_every_command_shape_hostile_names() {
    common::pg_cron_cluster();
    let (db, s) = common::fresh_db_with("cron_shapes", &fixture(), false).await;
    s.client
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE cron_ann LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             ALTER ROLE cron_ann IN DATABASE \"{db}\" SET search_path = \"Reporting\", public;"
        ))
        .await
        .unwrap();
    let long = long_name();
    let sales = job(
        "a",
        &db,
        "postgres",
        "0 3 * * *",
        "REFRESH MATERIALIZED VIEW \"Reporting\".\"Sales by Region\"",
    )
    .await;
    let top = job(
        "b",
        &db,
        "postgres",
        "*/5 * * * *",
        "/* nightly; */ refresh materialized view concurrently reporting.\"top\"\"x\" WITH DATA; -- REFRESH MATERIALIZED VIEW mv_plain",
    )
    .await;
    let ann_shadow = job(
        "c",
        &db,
        "cron_ann",
        "@hourly",
        "REFRESH MATERIALIZED VIEW shadow",
    )
    .await;
    let pg_shadow = job(
        "d",
        &db,
        "postgres",
        "@daily",
        "REFRESH MATERIALIZED VIEW shadow",
    )
    .await;
    let set_path = job(
        "e",
        &db,
        "postgres",
        "0 0 * * 0",
        "SET search_path TO \"Reporting\"; REFRESH MATERIALIZED VIEW shadow; RESET search_path; REFRESH MATERIALIZED VIEW shadow",
    )
    .await;
    let in_string = job("f", &db, "postgres", "0 1 * * *", "SELECT 'REFRESH MATERIALIZED VIEW mv_plain'; SELECT $x$ REFRESH MATERIALIZED VIEW mv_plain $x$").await;
    let do_block = job(
        "g",
        &db,
        "postgres",
        "0 1 * * *",
        "DO $$BEGIN REFRESH MATERIALIZED VIEW mv_plain; END$$",
    )
    .await;
    let e_string = job(
        "h",
        &db,
        "postgres",
        "0 2 * * *",
        "SELECT E'it\\'s; REFRESH MATERIALIZED VIEW shadow'; REFRESH MATERIALIZED VIEW mv_plain WITH NO DATA",
    )
    .await;
    // Longer than 63 bytes: the server cuts it, and so does mvtop.
    let too_long = format!(
        "REFRESH MATERIALIZED VIEW \"{}tail\"",
        long.replace('"', "\"\"")
    );
    let long_job = job("i", &db, "postgres", "0 4 * * *", &too_long).await;
    let function = job(
        "j",
        &db,
        "postgres",
        "0 5 * * *",
        "SELECT refresh_things('public.mv_plain')",
    )
    .await;
    let table = job(
        "k",
        &db,
        "postgres",
        "0 5 * * *",
        "REFRESH MATERIALIZED VIEW not_an_mv",
    )
    .await;
    let broken = job(
        "l",
        &db,
        "postgres",
        "0 5 * * *",
        "REFRESH MATERIALIZED VIEW mv_plain garbage",
    )
    .await;
    let elsewhere = job(
        "m",
        "postgres",
        "postgres",
        "0 5 * * *",
        "REFRESH MATERIALIZED VIEW mv_plain",
    )
    .await;

    let seen = seen(&db).await;
    let l = &seen.located.located;
    assert_eq!(l.database, "postgres");
    assert_eq!(l.shown_database, db);
    assert!(!l.same_database() && seen.located.session.is_some());
    assert_eq!(l.extversion, "1.4-1");
    assert!(l.sees_all_jobs && l.may_schedule_in_database);
    assert!(!l.features.seconds && !l.features.last_day_of_month);
    assert_eq!(l.features.timezone, chrono_tz::Tz::GMT);

    let long_q = format!("public.\"{}\"", long.replace('"', "\"\""));
    assert_eq!(
        seen.of_job(sales),
        set(&[("\"Reporting\".\"Sales by Region\"", "refresh")])
    );
    assert_eq!(
        seen.of_job(top),
        set(&[("reporting.\"top\"\"x\"", "refresh concurrently")])
    );
    assert_eq!(
        seen.of_job(ann_shadow),
        set(&[("\"Reporting\".shadow", "refresh")])
    );
    assert_eq!(seen.of_job(pg_shadow), set(&[("public.shadow", "refresh")]));
    assert_eq!(
        seen.of_job(set_path),
        set(&[
            ("\"Reporting\".shadow", "refresh"),
            ("public.shadow", "refresh")
        ])
    );
    assert_eq!(seen.of_job(in_string), set(&[]));
    assert_eq!(seen.of_job(do_block), set(&[("public.mv_plain", "may")]));
    assert_eq!(
        seen.of_job(e_string),
        set(&[("public.mv_plain", "refresh no data")])
    );
    assert_eq!(seen.of_job(long_job), set(&[(long_q.as_str(), "refresh")]));
    assert_eq!(seen.of_job(function), set(&[("public.mv_plain", "may")]));
    assert_eq!(seen.of_job(table), set(&[]));
    assert_eq!(seen.of_job(broken), set(&[]));
    assert_eq!(seen.of_job(elsewhere), set(&[]));
    let notes = seen.refreshes.notes.join("\n");
    assert!(
        notes.contains(&format!(
            "pg_cron job {table} refreshes not_an_mv, which is not a materialized view"
        )),
        "{notes}"
    );
    assert!(
        notes.contains(&format!("pg_cron job {broken}: the server would refuse")),
        "{notes}"
    );
}

#[tokio::test]
async fn jobs_of_pg_crons_own_database_are_read_on_the_main_session() {
    common::pg_cron_cluster();
    let s = common::session("postgres").await;
    s.client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS \"own db\";
             CREATE MATERIALIZED VIEW IF NOT EXISTS \"own db\".\"mv ü\" AS SELECT 1 AS one;",
        )
        .await
        .unwrap();
    let id = job(
        "own",
        "postgres",
        "postgres",
        "0 3 * * *",
        "REFRESH MATERIALIZED VIEW \"own db\".\"mv ü\"",
    )
    .await;
    let seen = seen("postgres").await;
    assert!(seen.located.located.same_database() && seen.located.session.is_none());
    assert_eq!(seen.of_job(id), set(&[("\"own db\".\"mv ü\"", "refresh")]));
}

#[tokio::test]
async fn a_role_without_usage_on_cron_gets_one_line_naming_the_grant() {
    common::pg_cron_cluster();
    let (db, s) = common::fresh_db("cron_nousage").await;
    s.client
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE cron_nobody LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
        )
        .await
        .unwrap();
    let mut params = common::cluster().params(&db);
    params.set("user", "cron_nobody");
    let connector = common::connector(&params);
    let main = connector
        .connect(&mvtop::pgconn::SessionSettings::MONITORING)
        .await
        .unwrap();
    let err = match PgCron::locate(&main.client, &connector).await {
        Err(e) => e,
        Ok(_) => panic!("located without USAGE"),
    };
    // cron.database_name is superuser-only: found through the scheduler's backend instead.
    match &err {
        Unavailable::NotReadable(line) => {
            assert_eq!(
                line,
                "role cron_nobody may not read pg_cron's jobs: GRANT USAGE ON SCHEMA cron TO cron_nobody (in database postgres)"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// job_run_details with a million rows and only its primary key: the reads are range scans
/// and key probes of `job_run_details_pkey`, never a sequential scan.
#[tokio::test]
async fn reading_runs_uses_the_runid_key_on_a_million_rows() {
    common::pg_cron_cluster();
    // A database of its own would need pg_cron there; the runs live in postgres, so the rows
    // are added for a job id no test uses and removed at the end.
    let s = common::session("postgres").await;
    s.client
        .batch_execute(
            "INSERT INTO cron.job_run_details (jobid, runid, job_pid, database, username, command,
                                               status, return_message, start_time, end_time)
             SELECT -7, nextval('cron.runid_seq'), 1, 'x', 'x', 'x', 'succeeded', 'x', now(), now()
             FROM generate_series(1, 1000000);
             ANALYZE cron.job_run_details;",
        )
        .await
        .unwrap();
    let max: i64 = s
        .client
        .query_one(mvtop::pgcron::runs::MAX_RUNID_SQL, &[])
        .await
        .unwrap()
        .get(0);
    let plan = |sql: String| {
        let s = &s;
        async move {
            let rows = s
                .client
                .query(&format!("EXPLAIN {sql}"), &[])
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let max_plan = plan(mvtop::pgcron::runs::MAX_RUNID_SQL.into()).await;
    let window = mvtop::pgcron::runs::DEFAULT_WINDOW;
    let after = plan(
        mvtop::pgcron::runs::after_sql()
            .replace("$1", &(max - window).to_string())
            .replace("$2", "'{1,2,3}'::int8[]"),
    )
    .await;
    let again = plan(mvtop::pgcron::runs::again_sql().replace("$1", "'{5,6}'::int8[]")).await;
    for p in [&max_plan, &after, &again] {
        assert!(p.contains("job_run_details_pkey"), "{p}");
        assert!(!p.contains("Seq Scan"), "{p}");
    }
    // And the reader itself, against the real table, reads only its window.
    let mut reader = RunReader::new(1000);
    reader.read(&s.client, &[-7]).await.unwrap();
    assert_eq!(reader.runs().count(), 1000);
    s.client
        .batch_execute("DELETE FROM cron.job_run_details WHERE jobid = -7")
        .await
        .unwrap();
}

/// Waits until `job` has a finished run in job_run_details (pg_cron runs at minute starts).
async fn wait_for_run(jobid: i64, within: Duration) -> mvtop::pgcron::CronRun {
    let s = common::session("postgres").await;
    let mut reader = RunReader::new(1000);
    let start = Instant::now();
    loop {
        reader.read(&s.client, &[jobid]).await.unwrap();
        if let Some(r) = reader.runs().find(|r| r.finished()) {
            return r.clone();
        }
        assert!(
            start.elapsed() < within,
            "no run of job {jobid} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

const A_RUN: Duration = Duration::from_secs(75);

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_job_is_seen_failed_with_its_message() {
    common::pg_cron_cluster();
    let (db, _s) = common::fresh_db_with(
        "cron_fail",
        "CREATE MATERIALIZED VIEW \"Fails ü\" AS SELECT 1 / (SELECT count(*) FROM pg_class WHERE relname = 'nope')::int AS x WITH NO DATA;",
        false,
    )
    .await;
    let id = job(
        "fails",
        &db,
        "postgres",
        "* * * * *",
        "REFRESH MATERIALIZED VIEW \"Fails ü\"",
    )
    .await;
    let run = wait_for_run(id, A_RUN).await;
    assert_eq!(run.status, "failed");
    assert!(
        run.return_message
            .as_deref()
            .unwrap_or("")
            .contains("division by zero"),
        "{run:?}"
    );
    let seen = seen(&db).await;
    let runs = [&run];
    let records = mvtop::pgcron::runs::records(&runs, &seen.refreshes, &|oid| {
        Some(("public".into(), seen.names.get(&oid)?.clone()))
    });
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, "failed");
    assert_eq!(records[0].source, "pg_cron");
    assert!(
        records[0]
            .error
            .as_deref()
            .unwrap()
            .contains("division by zero")
    );
    psql_cron(&format!("SELECT cron.unschedule({id})")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_the_event_trigger_recorded_counts_once() {
    common::pg_cron_cluster();
    let (db, mut s) = common::fresh_db_with(
        "cron_once",
        "CREATE MATERIALIZED VIEW counted AS SELECT 1 AS one;",
        true,
    )
    .await;
    let id = job(
        "once",
        &db,
        "postgres",
        "* * * * *",
        "REFRESH MATERIALIZED VIEW counted",
    )
    .await;
    let run = wait_for_run(id, A_RUN).await;
    assert_eq!(run.status, "succeeded", "{run:?}");
    let ledger = mvtop::ledger::Ledger::default();
    let history = ledger
        .history(&s.client, &mvtop::ledger::HistoryFilter::default())
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "the event trigger's row: {history:?}");
    assert_eq!(history[0].source, "external");
    let seen = seen(&db).await;
    let runs = [&run];
    let cron = mvtop::pgcron::runs::records(&runs, &seen.refreshes, &|oid| {
        Some(("public".into(), seen.names.get(&oid)?.clone()))
    });
    assert_eq!(cron.len(), 1);
    let merged = mvtop::pgcron::runs::merge(history, cron);
    assert_eq!(merged.len(), 1, "{merged:?}");
    assert_eq!(merged[0].source, "pg_cron");
    assert_eq!(merged[0].backend_pid, run.job_pid);
    let (out, _) = run_ok(common::mvtop(&db).args(["list", "--format", "json"]));
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["refresh_count"], 1, "counted once: {:#}", list[0]);
    let (out, _) = run_ok(common::mvtop(&db).args(["history", "--format", "json"]));
    let h: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(h.as_array().unwrap().len(), 1, "{h:#}");
    assert_eq!(h[0]["source"], "pg_cron");
    psql_cron(&format!("SELECT cron.unschedule({id})")).await;
    let _ = &mut s;
}

fn run_ok(cmd: &mut std::process::Command) -> (String, String) {
    let out = cmd.output().unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "exit {:?}: {e}", out.status.code());
    (o, e)
}

fn run_err(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "succeeded: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// The whole path from the command line: a schedule handed to pg_cron runs with no mvtop
/// process, records its outcome in the ledger (a failure too, with pg_cron's message), is
/// listed with its job, counted once in history, and removed by `schedule rm`.
#[tokio::test(flavor = "multi_thread")]
async fn schedule_set_engine_pg_cron_runs_records_lists_and_is_removed() {
    common::pg_cron_cluster();
    let (db, s) = common::fresh_db_with(
        "cron_cli",
        "CREATE SCHEMA \"Reporting\";
         CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 5) g;
         CREATE MATERIALIZED VIEW \"Reporting\".\"Sales by Region\" AS SELECT id FROM t;
         CREATE UNIQUE INDEX ON \"Reporting\".\"Sales by Region\" (id);
         CREATE MATERIALIZED VIEW \"Reporting\".\"breaks\" AS
           SELECT 1 / (SELECT count(*) FROM pg_class WHERE relname = 'nope')::int AS x WITH NO DATA;",
        true,
    )
    .await;
    let sales = "'\"Reporting\".\"Sales by Region\"'";
    let _ = sales;
    let (_, said) = run_ok(common::mvtop(&db).args([
        "schedule",
        "set",
        "\"Reporting\".\"Sales by Region\"",
        "--cron",
        "* * * * *",
        "--engine",
        "pg_cron",
    ]));
    assert!(
        said.contains("\"Reporting\".\"Sales by Region\": pg_cron job"),
        "{said}"
    );
    assert!(said.contains("on '* * * * *' (GMT), next run"), "{said}");
    run_ok(common::mvtop(&db).args([
        "schedule",
        "set",
        "\"Reporting\".breaks",
        "--every",
        "1m",
        "--engine",
        "pg_cron",
        "--concurrently",
        "never",
    ]));
    // Updating keeps one job per MV.
    run_ok(common::mvtop(&db).args([
        "schedule",
        "set",
        "\"Reporting\".\"Sales by Region\"",
        "--cron",
        "* * * * *",
        "--engine",
        "pg_cron",
        "--concurrently",
        "always",
    ]));
    let (out, _) = run_ok(common::mvtop(&db).args(["schedule", "list", "--format", "json"]));
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list:#}");
    let sales_row = rows
        .iter()
        .find(|r| r["name"] == "Sales by Region")
        .unwrap();
    assert_eq!(sales_row["engine"], "pg_cron");
    assert_eq!(sales_row["active"], true);
    assert_eq!(sales_row["owner"], "postgres");
    assert!(sales_row["jobid"].as_i64().is_some());
    assert!(sales_row["jobname"].as_str().unwrap().starts_with("mvtop "));
    assert_eq!(sales_row["concurrently"], "always");
    assert_eq!(sales_row["pg_cron"]["how"]["kind"], "ledger");
    assert!(sales_row["next_run"].as_str().is_some());
    let breaks_row = rows.iter().find(|r| r["name"] == "breaks").unwrap();
    assert_eq!(
        breaks_row["policy"]["cron"], "* * * * *",
        "--every 1m is * * * * *"
    );

    // Both run within a minute; no mvtop process is running.
    let ledger = mvtop::ledger::Ledger::default();
    let start = Instant::now();
    let history = loop {
        let h = ledger
            .history(&s.client, &mvtop::ledger::HistoryFilter::default())
            .await
            .unwrap();
        let names: BTreeSet<&str> = h.iter().map(|r| r.name.as_str()).collect();
        if names.len() == 2 {
            break h;
        }
        assert!(start.elapsed() < A_RUN, "no runs within {A_RUN:?}: {h:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let ok = history
        .iter()
        .find(|r| r.name == "Sales by Region")
        .unwrap();
    assert_eq!((ok.source.as_str(), ok.outcome.as_str()), ("pg_cron", "ok"));
    assert!(ok.concurrently, "--concurrently always");
    let failed = history.iter().find(|r| r.name == "breaks").unwrap();
    assert_eq!(
        (failed.source.as_str(), failed.outcome.as_str()),
        ("pg_cron", "failed")
    );
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("division by zero"),
        "{failed:?}"
    );
    // pg_cron saw the failure too, with the same message (the procedure re-raised it).
    let cron = common::session("postgres").await;
    let status: Vec<(String, String)> = cron
        .client
        .query(
            "SELECT status, coalesce(return_message, '') FROM cron.job_run_details d
             JOIN cron.job j USING (jobid) WHERE j.database = $1 AND status IN ('succeeded', 'failed')",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        status
            .iter()
            .any(|(s, m)| s == "failed" && m.contains("division by zero")),
        "{status:?}"
    );
    assert!(status.iter().any(|(s, _)| s == "succeeded"), "{status:?}");

    // history merges job_run_details with the ledger: each run once.
    let (out, _) = run_ok(common::mvtop(&db).args(["history", "--format", "json"]));
    let h: serde_json::Value = serde_json::from_str(&out).unwrap();
    let h = h.as_array().unwrap();
    let per_name = |n: &str| h.iter().filter(|r| r["name"] == n).count();
    let finished_runs = status.len();
    assert_eq!(
        per_name("Sales by Region") + per_name("breaks"),
        finished_runs,
        "{h:#?}"
    );

    // rm removes the job.
    let (_, said) =
        run_ok(common::mvtop(&db).args(["schedule", "rm", "\"Reporting\".\"Sales by Region\""]));
    assert!(said.contains("pg_cron job"), "{said}");
    run_ok(common::mvtop(&db).args(["schedule", "rm", "\"Reporting\".breaks"]));
    let left: i64 = cron
        .client
        .query_one("SELECT count(*) FROM cron.job WHERE database = $1", &[&db])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn what_pg_cron_cannot_run_is_refused_with_the_reason() {
    common::pg_cron_cluster();
    let (db, _s) = common::fresh_db_with(
        "cron_refuse",
        "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one;",
        true,
    )
    .await;
    let set = |extra: &[&str]| {
        let mut c = common::mvtop(&db);
        c.args(["schedule", "set", "mv", "--engine", "pg_cron"])
            .args(extra);
        run_err(&mut c)
    };
    let e = set(&["--every", "45m"]);
    assert!(
        e.contains("pg_cron cannot run every 45 min") && e.contains("restarts at every hour"),
        "{e}"
    );
    let e = set(&["--every", "30s"]);
    assert!(e.contains("1.5"), "{e}");
    let e = set(&["--on-change"]);
    assert!(
        e.contains("on-change schedules stay with mvtop's scheduler"),
        "{e}"
    );
    let e = set(&["--cron", "0 12 $ * *"]);
    assert!(e.contains("needs pg_cron 1.6"), "{e}");
    let e = set(&["--cron", "0 3 * * *", "--tz", "Europe/Paris"]);
    assert!(e.contains("cron.timezone (GMT)"), "{e}");
    let e = set(&["--cron", "0 3 * * *", "--window", "01:00-05:00"]);
    assert!(e.contains("no refresh windows"), "{e}");
    let e = set(&["--cron", "0 3 * * *", "--concurrently", "always"]);
    assert!(e.contains("cannot be refreshed concurrently"), "{e}");
}

/// An MV scheduled by mvtop and by a DBA's own pg_cron job is flagged on both rows.
#[tokio::test]
async fn an_mv_scheduled_by_both_engines_is_flagged() {
    common::pg_cron_cluster();
    let (db, _s) = common::fresh_db_with(
        "cron_both",
        "CREATE MATERIALIZED VIEW twice AS SELECT 1 AS one;",
        true,
    )
    .await;
    run_ok(common::mvtop(&db).args(["schedule", "set", "twice", "--every", "15m"]));
    let id = job(
        "dba_twice",
        &db,
        "postgres",
        "0 3 * * *",
        "REFRESH MATERIALIZED VIEW public.twice",
    )
    .await;
    let (out, err) = run_ok(common::mvtop(&db).args(["schedule", "list", "--format", "json"]));
    assert!(!err.contains("pg_cron:"), "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let mvtop_row = rows.iter().find(|r| r["engine"] == "mvtop").unwrap();
    assert_eq!(
        mvtop_row["also_scheduled_by"],
        serde_json::json!([format!("pg_cron job {id}")])
    );
    let cron_row = rows.iter().find(|r| r["engine"] == "pg_cron").unwrap();
    assert_eq!(cron_row["also_scheduled_by"], serde_json::json!(["mvtop"]));
    assert_eq!(cron_row["made_by_mvtop"], serde_json::Value::Null);
    assert_eq!(cron_row["pg_cron"]["made_by_mvtop"], false);
    let (table, _) = run_ok(common::mvtop(&db).args(["schedule", "list"]));
    assert!(
        table.contains(&format!("ALSO scheduled by pg_cron job {id}")),
        "{table}"
    );
    assert!(table.contains("dba_twice"), "{table}");
    // The DBA's job is not mvtop's to remove.
    let (_, said) = run_ok(common::mvtop(&db).args(["schedule", "rm", "twice"]));
    assert!(!said.contains("pg_cron job"), "{said}");
    psql_cron(&format!("SELECT cron.unschedule({id})")).await;
}

/// A role that may use pg_cron in its own database but not schedule_in_database.
#[tokio::test]
async fn scheduling_in_another_database_names_the_grant_and_doctor_says_so() {
    common::pg_cron_cluster();
    let (db, s) = common::fresh_db("cron_grant").await;
    s.client
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE cron_bob LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             GRANT CREATE ON SCHEMA public TO cron_bob;",
        )
        .await
        .unwrap();
    psql_cron("GRANT USAGE ON SCHEMA cron TO cron_bob").await;
    let mut params = common::cluster().params(&db);
    params.set("user", "cron_bob");
    let bob = common::connector(&params)
        .connect(&mvtop::pgconn::SessionSettings::MONITORING)
        .await
        .unwrap();
    bob.client
        .batch_execute("CREATE MATERIALIZED VIEW bobs AS SELECT 1 AS one")
        .await
        .unwrap();
    mvtop::ledger::Ledger::default()
        .install(
            &mut common::session(&db).await.client,
            mvtop::ledger::Retention {
                keep_runs_per_mv: None,
                keep_days: None,
            },
        )
        .await
        .unwrap();
    let as_bob = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mvtop"));
        let conninfo = common::cluster()
            .conninfo(&db)
            .replace("user=postgres", "user=cron_bob");
        c.args(["-d", &conninfo]);
        c
    };
    let e = run_err(as_bob().args([
        "schedule",
        "set",
        "bobs",
        "--cron",
        "0 3 * * *",
        "--engine",
        "pg_cron",
    ]));
    assert_eq!(
        e,
        format!(
            "mvtop: error: a pg_cron job for database {db} is made in pg_cron's database postgres through \
             cron.schedule_in_database, which is revoked from PUBLIC: GRANT EXECUTE ON FUNCTION \
             cron.schedule_in_database(text,text,text,text,text,boolean) TO cron_bob"
        )
    );
    let (out, _) = run_ok(as_bob().args(["doctor", "--format", "json"]));
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    let line = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["feature"] == "pg_cron")
        .unwrap()
        .clone();
    assert_eq!(line["status"], "partial", "{line}");
    assert!(
        line["needs"]
            .as_str()
            .unwrap()
            .contains("schedule_in_database"),
        "{line}"
    );
    // Granted, it works, and the job is bob's.
    psql_cron("GRANT EXECUTE ON FUNCTION cron.schedule_in_database(text,text,text,text,text,boolean) TO cron_bob").await;
    run_ok(as_bob().args([
        "schedule",
        "set",
        "bobs",
        "--cron",
        "0 3 * * *",
        "--engine",
        "pg_cron",
    ]));
    let (out, _) = run_ok(as_bob().args(["schedule", "list", "--format", "json"]));
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["owner"], "cron_bob", "{rows:#}");
    run_ok(as_bob().args(["schedule", "rm", "bobs"]));
}

/// The console: a DBA's pg_cron job in the views table, the detail pane and the schedules
/// pane; the `s` form hands an MV to pg_cron and `off` takes the job away again.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_shows_pg_cron_jobs_and_its_form_hands_over() {
    common::pg_cron_cluster();
    let (db, _s) = common::fresh_db_with(
        "cron_console",
        "CREATE SCHEMA rpt;
         CREATE MATERIALIZED VIEW rpt.dba_mv AS SELECT 1 AS one;
         CREATE MATERIALIZED VIEW rpt.handed AS SELECT 2 AS two;",
        true,
    )
    .await;
    let dba = job(
        "dba nightly",
        &db,
        "postgres",
        "*/5 * * * *",
        "REFRESH MATERIALIZED VIEW rpt.dba_mv",
    )
    .await;
    let command = format!(
        "{} -d '{}'; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop"),
        common::cluster().conninfo(&db)
    );
    let tmux = common::tmux::Tmux::start(&command);
    tmux.wait_for("rpt.handed");
    tmux.keys(&["6"]);
    let screen = tmux.wait_for(&format!("pg_cron '*/5 * * * *' (job {dba})"));
    assert!(screen.contains("6 schedules: 1"), "{screen}");
    tmux.keys(&["1", "/", "dba_mv", "Enter"]);
    // The detail pane wraps: each part on some line. The job and its next run arrive with
    // reads of their own, so a frame may show one before the other: wait for all.
    let parts = [
        "pg_cron: pg_cron job",
        "\"dba",
        "'*/5 * * * *'",
        "(GMT)",
        "next in",
    ];
    let next_run_shown = |screen: &str| {
        screen
            .lines()
            .find(|l| l.contains("│  rpt.dba_mv "))
            .is_some_and(|row| row.contains(" in "))
    };
    tmux.wait_until(
        "the pg_cron job in the detail pane and the next-run column",
        std::time::Duration::from_secs(20),
        |screen| parts.iter().all(|p| screen.contains(p)) && next_run_shown(screen),
    );
    tmux.keys(&["/", "Escape"]);
    tmux.wait_for("views 2/2");
    // One step at a time: under load a burst of keys can be read as one (an Escape and the
    // next `/` parse as Alt-/), and the new filter must start from an empty one.
    tmux.keys(&["/"]);
    tmux.keys(&["handed"]);
    tmux.wait_for("views 1/2");
    tmux.keys(&["Enter", "s"]);
    tmux.wait_for("schedule of rpt.handed");
    tmux.keys(&["cron 0 12 $ * * engine pg_cron"]);
    tmux.wait_for("needs pg_cron 1.6");
    tmux.keys(&["C-u", "cron */10 * * * * engine pg_cron", "Enter"]);
    tmux.wait_for("rpt.handed: pg_cron job");
    let cron = common::session("postgres").await;
    let made: Vec<String> = cron
        .client
        .query(
            "SELECT command FROM cron.job WHERE database = $1 AND jobname LIKE 'mvtop %'",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        made,
        ["CALL \"mvtop\".pg_cron_refresh('\"rpt\".\"handed\"', 'auto')"]
    );
    tmux.keys(&["6"]);
    tmux.wait_for("6 schedules: 2");
    tmux.keys(&["1", "s", "off", "Enter"]);
    tmux.wait_for("removed");
    let left: i64 = cron
        .client
        .query_one(
            "SELECT count(*) FROM cron.job WHERE database = $1 AND jobname LIKE 'mvtop %'",
            &[&db],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
    psql_cron(&format!("SELECT cron.unschedule({dba})")).await;
}
