//! What a refresh cost, on a real cluster: the readers a plain refresh blocked against what
//! they measured themselves, the WAL against pg_stat_statements' own delta, a server
//! without pg_stat_statements, failed runs, and a ledger of the previous version upgraded
//! with its rows still read.

mod common;

use std::time::{Duration, Instant};

use mvtop::catalog::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::ledger::{HistoryFilter, Ledger, RefreshRecord, Retention};
use mvtop::pgconn::{Connector, Session, SessionSettings};
use mvtop::refresh::{
    Concurrently, Executor, JobEvent, JobSpec, JobState, Limits, Outcome, OutcomeKind, Source,
    Target, choose_mode,
};
use tokio::sync::mpsc::UnboundedReceiver;

const SCHEMA: &str = r#"
CREATE SCHEMA app;
CREATE SCHEMA rpt;
CREATE FUNCTION app.slow(secs float8) RETURNS int LANGUAGE sql VOLATILE AS
  $$ SELECT 1 FROM pg_sleep(secs) $$;
CREATE TABLE app.t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO app.t SELECT g, g % 1000 FROM generate_series(1, 100000) g;
CREATE MATERIALIZED VIEW rpt.wide AS SELECT id, v, md5(id::text) AS h FROM app.t;
CREATE UNIQUE INDEX wide_uk ON rpt.wide (id);
CREATE MATERIALIZED VIEW rpt.slow AS SELECT g AS id FROM generate_series(1, 2) g WHERE app.slow(1.0) = 1;
CREATE MATERIALIZED VIEW rpt.divides AS SELECT 100 / v AS x FROM app.t WHERE id < 5;
"#;

async fn setup(tag: &str, pss: bool) -> (String, Session, Connector) {
    let fixture = if pss {
        format!("CREATE EXTENSION pg_stat_statements;{SCHEMA}")
    } else {
        SCHEMA.to_string()
    };
    let (db, s) = common::fresh_db_with(tag, &fixture, true).await;
    let connector = common::connector(&common::cluster().params(&db));
    (db, s, connector)
}

async fn target(s: &Session, name: &str) -> Target {
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    Target::from(mvtop::catalog::names::find_in(&inv.views, name).unwrap())
}

fn spec(target: Target, concurrently: Concurrently) -> JobSpec {
    let mode = choose_mode(&target, concurrently, true).unwrap();
    JobSpec {
        target,
        mode,
        source: Source::Cli,
        limits: Limits::default(),
    }
}

async fn finished(events: &mut UnboundedReceiver<JobEvent>, id: u64) -> Outcome {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("the job finishes")
            .expect("events");
        if event.id == id
            && let JobState::Finished(outcome) = event.state
        {
            return outcome;
        }
    }
}

async fn last_run(s: &Session) -> RefreshRecord {
    let runs = Ledger::default()
        .history(&s.client, &HistoryFilter::default())
        .await
        .unwrap();
    runs.into_iter().next().expect("a recorded run")
}

/// pg_stat_statements' own WAL and call counters of one exact statement text.
async fn pss_wal(s: &Session, text: &str) -> (i64, i64) {
    let row = s
        .client
        .query_opt(
            "SELECT wal_bytes::int8, calls FROM pg_stat_statements WHERE query = $1 AND toplevel
             AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[&text],
        )
        .await
        .unwrap();
    row.map_or((0, 0), |r| (r.get(0), r.get(1)))
}

#[tokio::test]
async fn a_plain_refresh_records_the_readers_it_blocked_as_they_measured_it() {
    let (db, s, connector) = setup("blocked", true).await;
    let (executor, mut events) = Executor::new(connector.clone(), Some(Ledger::default()), 2);
    let t = target(&s, "rpt.slow").await;
    let oid = t.oid;
    let id = executor.submit(spec(t, Concurrently::Never));
    // Wait until the refresh holds its ACCESS EXCLUSIVE lock, then queue two readers.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let held: i64 = s
            .client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE relation = $1
                 AND mode = 'AccessExclusiveLock' AND granted",
                &[&oid],
            )
            .await
            .unwrap()
            .get(0);
        if held > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the refresh never took its lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut readers = Vec::new();
    for i in 0..2 {
        let connector = connector.clone();
        readers.push(tokio::spawn(async move {
            let r = connector
                .connect(&SessionSettings::MONITORING)
                .await
                .unwrap();
            r.client
                .batch_execute(&format!(
                    "SET lock_timeout = 0; SET application_name = 'reader_{i}'"
                ))
                .await
                .unwrap();
            // Each reader times its own SELECT, client-side.
            let started = Instant::now();
            r.client
                .query_one("SELECT count(*) FROM rpt.slow", &[])
                .await
                .unwrap();
            started.elapsed().as_secs_f64() * 1000.0
        }));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
    let mut measured = 0.0;
    for r in readers {
        measured += r.await.unwrap();
    }
    let run = last_run(&s).await;
    let c = &run.cost;
    assert_eq!(c.blocked_sessions, Some(2), "{c:?}");
    let total = c.blocked_total_ms.unwrap();
    println!("blocked: recorded {total:.1} ms in total, the readers measured {measured:.1} ms");
    assert!(
        (total - measured).abs() <= measured * 0.10,
        "recorded {total} ms, measured {measured} ms"
    );
    assert!(c.blocked_longest_ms.unwrap() <= total);
    assert!(c.blocked_longest_ms.unwrap() > total / 2.0);
    let who = c.blocked_who.as_ref().unwrap();
    let mut apps: Vec<&str> = who.iter().map(|w| w.application.as_str()).collect();
    apps.sort();
    assert_eq!(apps, ["reader_0", "reader_1"]);
    assert!(who.iter().all(|w| w.sessions == 1 && !w.user.is_empty()));
    // The same figures in the inventory (list JSON, console) and `mvtop history`.
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let v = mvtop::catalog::names::find_in(&inv.views, "rpt.slow").unwrap();
    let summary = v.refresh_cost.as_ref().expect("a cost summary");
    assert_eq!(summary.last_plain_blocked.unwrap().sessions, 2);
    let out = common::mvtop(&db)
        .args(["history", "rpt.slow", "--format", "json"])
        .output()
        .unwrap();
    let json = common::json_of(&out);
    assert_eq!(json[0]["blocked_sessions"], 2);
    assert!(json[0]["blocked_who"].is_array());
}

#[tokio::test]
async fn the_wal_recorded_is_pg_stat_statements_own_delta() {
    let (db, s, connector) = setup("wal", true).await;
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 1);
    let t = target(&s, "rpt.wide").await;
    for conc in [
        Concurrently::Never,
        Concurrently::Always,
        Concurrently::Never,
    ] {
        let job = spec(t.clone(), conc);
        let text = mvtop::refresh::statement(&job.target, job.mode);
        let (wal_before, calls_before) = pss_wal(&s, &text).await;
        let id = executor.submit(job);
        let outcome = finished(&mut events, id).await;
        assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
        let (wal_after, calls_after) = pss_wal(&s, &text).await;
        assert_eq!(calls_after - calls_before, 1);
        let theirs = wal_after - wal_before;
        let run = last_run(&s).await;
        let ours = run.cost.wal_bytes.expect("WAL measured");
        println!("{text}: mvtop {ours} B, pg_stat_statements {theirs} B");
        assert!(theirs > 0);
        assert!(
            (ours - theirs).abs() as f64 <= theirs as f64 * 0.01,
            "mvtop {ours} vs pg_stat_statements {theirs}"
        );
        assert_eq!(
            outcome.cost.wal_bytes,
            Some(ours),
            "the outcome carries it too"
        );
        assert_eq!(run.cost.cost_source.as_deref(), Some("pg_stat_statements"));
        assert_eq!(run.cost.cost_note, None);
        assert_eq!(run.cost.rows_processed, Some(100_000));
        let hit = run.cost.shared_hit_bytes.unwrap() + run.cost.shared_read_bytes.unwrap();
        assert!(hit > 0 && hit % 8192 == 0, "{hit}");
        assert!(run.cost.temp_bytes.is_some());
        // Nobody read it meanwhile: sampled, and zero.
        assert_eq!(run.cost.blocked_sessions, Some(0));
    }
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let v = mvtop::catalog::names::find_in(&inv.views, "rpt.wide").unwrap();
    let c = v.refresh_cost.as_ref().unwrap();
    assert_eq!((c.plain_wal_runs, c.concurrently_wal_runs), (2, 1));
    assert!(
        c.concurrently_avg_wal_bytes.unwrap() < c.plain_avg_wal_bytes.unwrap(),
        "nothing changed: CONCURRENTLY writes less WAL than a rewrite ({c:?})"
    );
    let out = common::mvtop(&db)
        .args(["list", "--format", "json", "rpt.wide"])
        .output()
        .unwrap();
    let json = common::json_of(&out);
    assert!(
        json[0]["refresh_cost"]["last"]["wal_bytes"]
            .as_i64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn without_pg_stat_statements_the_figures_are_null_with_the_reason() {
    let (_db, s, connector) = setup("no_pss", false).await;
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 1);
    let t = target(&s, "rpt.wide").await;
    let id = executor.submit(spec(t, Concurrently::Never));
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
    let run = last_run(&s).await;
    let c = &run.cost;
    assert_eq!(
        (
            c.wal_bytes,
            c.temp_bytes,
            c.shared_read_bytes,
            c.rows_processed
        ),
        (None, None, None, None)
    );
    assert_eq!(c.cost_source, None);
    let note = c.cost_note.clone().unwrap();
    assert!(
        note.contains("pg_stat_statements is not installed"),
        "{note}"
    );
    // The blocked figures do not depend on it.
    assert_eq!(c.blocked_sessions, Some(0));
    // A failed refresh is recorded too, its I/O unknown and said why.
    s.client
        .batch_execute("UPDATE app.t SET v = 0 WHERE id = 1")
        .await
        .unwrap();
    let t = target(&s, "rpt.divides").await;
    let id = executor.submit(spec(t, Concurrently::Never));
    let outcome = finished(&mut events, id).await;
    assert_eq!(outcome.kind, OutcomeKind::Failed);
    let run = last_run(&s).await;
    assert_eq!(run.outcome, "failed");
    assert_eq!(run.cost.wal_bytes, None);
    assert!(run.cost.cost_note.unwrap().contains("ended failed"));
}

#[tokio::test]
async fn a_ledger_of_the_previous_version_is_upgraded_and_its_rows_still_read() {
    let (_db, mut s, connector) = setup("old_rows", true).await;
    // Back to version 4: the cost columns gone, a run recorded as version 4 recorded them.
    s.client
        .batch_execute(
            "ALTER TABLE mvtop.refresh_log
               DROP COLUMN wal_bytes, DROP COLUMN temp_bytes, DROP COLUMN shared_read_bytes,
               DROP COLUMN shared_hit_bytes, DROP COLUMN rows_processed, DROP COLUMN cost_source,
               DROP COLUMN cost_note, DROP COLUMN blocked_sessions,
               DROP COLUMN blocked_longest_ms, DROP COLUMN blocked_total_ms,
               DROP COLUMN blocked_who, DROP COLUMN blocked_note;
             DELETE FROM mvtop.version WHERE version = 5;
             INSERT INTO mvtop.refresh_log
               (mv_oid, mv_schema, mv_name, started_at, finished_at, duration_ms, concurrent,
                source, outcome)
             SELECT 'rpt.wide'::regclass, 'rpt', 'wide', now() - interval '1 hour',
                    now() - interval '1 hour', 120, false, 'cli', 'ok';",
        )
        .await
        .unwrap();
    let ledger = Ledger::default();
    assert_eq!(ledger.installed_version(&s.client).await.unwrap(), Some(4));
    let report = ledger
        .install(
            &mut s.client,
            Retention {
                keep_runs_per_mv: None,
                keep_days: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((report.from_version, report.to_version), (Some(4), 5));
    let old = last_run(&s).await;
    assert_eq!(old.duration_ms, Some(120.0));
    assert_eq!(old.cost, Default::default(), "old rows keep NULL");
    // A new run goes in with its figures beside it.
    let (executor, mut events) = Executor::new(connector, Some(Ledger::default()), 1);
    let t = target(&s, "rpt.wide").await;
    let id = executor.submit(spec(t, Concurrently::Never));
    assert_eq!(finished(&mut events, id).await.kind, OutcomeKind::Ok);
    let runs = ledger
        .history(&s.client, &HistoryFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs[0].cost.wal_bytes.is_some());
    assert_eq!(runs[1].cost.wal_bytes, None);
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let v = mvtop::catalog::names::find_in(&inv.views, "rpt.wide").unwrap();
    let c = v.refresh_cost.as_ref().unwrap();
    assert_eq!(
        c.plain_wal_runs, 1,
        "the old run has no WAL figure to average"
    );
}
