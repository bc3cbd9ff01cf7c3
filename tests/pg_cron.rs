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
    s.client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
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
    let sales = job("a", &db, "postgres", "0 3 * * *", "REFRESH MATERIALIZED VIEW \"Reporting\".\"Sales by Region\"").await;
    let top = job(
        "b",
        &db,
        "postgres",
        "*/5 * * * *",
        "/* nightly; */ refresh materialized view concurrently reporting.\"top\"\"x\" WITH DATA; -- REFRESH MATERIALIZED VIEW mv_plain",
    )
    .await;
    let ann_shadow = job("c", &db, "cron_ann", "@hourly", "REFRESH MATERIALIZED VIEW shadow").await;
    let pg_shadow = job("d", &db, "postgres", "@daily", "REFRESH MATERIALIZED VIEW shadow").await;
    let set_path = job(
        "e",
        &db,
        "postgres",
        "0 0 * * 0",
        "SET search_path TO \"Reporting\"; REFRESH MATERIALIZED VIEW shadow; RESET search_path; REFRESH MATERIALIZED VIEW shadow",
    )
    .await;
    let in_string = job("f", &db, "postgres", "0 1 * * *", "SELECT 'REFRESH MATERIALIZED VIEW mv_plain'; SELECT $x$ REFRESH MATERIALIZED VIEW mv_plain $x$").await;
    let do_block = job("g", &db, "postgres", "0 1 * * *", "DO $$BEGIN REFRESH MATERIALIZED VIEW mv_plain; END$$").await;
    let e_string = job(
        "h",
        &db,
        "postgres",
        "0 2 * * *",
        "SELECT E'it\\'s; REFRESH MATERIALIZED VIEW shadow'; REFRESH MATERIALIZED VIEW mv_plain WITH NO DATA",
    )
    .await;
    // Longer than 63 bytes: the server cuts it, and so does mvtop.
    let too_long = format!("REFRESH MATERIALIZED VIEW \"{}tail\"", long.replace('"', "\"\""));
    let long_job = job("i", &db, "postgres", "0 4 * * *", &too_long).await;
    let function = job("j", &db, "postgres", "0 5 * * *", "SELECT refresh_things('public.mv_plain')").await;
    let table = job("k", &db, "postgres", "0 5 * * *", "REFRESH MATERIALIZED VIEW not_an_mv").await;
    let broken = job("l", &db, "postgres", "0 5 * * *", "REFRESH MATERIALIZED VIEW mv_plain garbage").await;
    let elsewhere = job("m", "postgres", "postgres", "0 5 * * *", "REFRESH MATERIALIZED VIEW mv_plain").await;

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
    assert_eq!(seen.of_job(sales), set(&[("\"Reporting\".\"Sales by Region\"", "refresh")]));
    assert_eq!(seen.of_job(top), set(&[("reporting.\"top\"\"x\"", "refresh concurrently")]));
    assert_eq!(seen.of_job(ann_shadow), set(&[("\"Reporting\".shadow", "refresh")]));
    assert_eq!(seen.of_job(pg_shadow), set(&[("public.shadow", "refresh")]));
    assert_eq!(
        seen.of_job(set_path),
        set(&[("\"Reporting\".shadow", "refresh"), ("public.shadow", "refresh")])
    );
    assert_eq!(seen.of_job(in_string), set(&[]));
    assert_eq!(seen.of_job(do_block), set(&[("public.mv_plain", "may")]));
    assert_eq!(seen.of_job(e_string), set(&[("public.mv_plain", "refresh no data")]));
    assert_eq!(seen.of_job(long_job), set(&[(long_q.as_str(), "refresh")]));
    assert_eq!(seen.of_job(function), set(&[("public.mv_plain", "may")]));
    assert_eq!(seen.of_job(table), set(&[]));
    assert_eq!(seen.of_job(broken), set(&[]));
    assert_eq!(seen.of_job(elsewhere), set(&[]));
    let notes = seen.refreshes.notes.join("\n");
    assert!(notes.contains(&format!("pg_cron job {table} refreshes not_an_mv, which is not a materialized view")), "{notes}");
    assert!(notes.contains(&format!("pg_cron job {broken}: the server would refuse")), "{notes}");
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
    let id = job("own", "postgres", "postgres", "0 3 * * *", "REFRESH MATERIALIZED VIEW \"own db\".\"mv ü\"").await;
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
            let rows = s.client.query(&format!("EXPLAIN {sql}"), &[]).await.unwrap();
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
        assert!(start.elapsed() < within, "no run of job {jobid} within {within:?}");
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
    let id = job("fails", &db, "postgres", "* * * * *", "REFRESH MATERIALIZED VIEW \"Fails ü\"").await;
    let run = wait_for_run(id, A_RUN).await;
    assert_eq!(run.status, "failed");
    assert!(run.return_message.as_deref().unwrap_or("").contains("division by zero"), "{run:?}");
    let seen = seen(&db).await;
    let runs = [&run];
    let records = mvtop::pgcron::runs::records(&runs, &seen.refreshes, &|oid| {
        Some(("public".into(), seen.names.get(&oid)?.clone()))
    });
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, "failed");
    assert_eq!(records[0].source, "pg_cron");
    assert!(records[0].error.as_deref().unwrap().contains("division by zero"));
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
    let id = job("once", &db, "postgres", "* * * * *", "REFRESH MATERIALIZED VIEW counted").await;
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
    psql_cron(&format!("SELECT cron.unschedule({id})")).await;
    let _ = &mut s;
}
