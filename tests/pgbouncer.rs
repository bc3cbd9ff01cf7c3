//! Through PgBouncer (Debian's, started here from a config the harness writes). In session
//! mode everything works: list, refresh (its advisory lock and cancel too), history, locks,
//! top, doctor, bench, a schedule the daemon runs, the console. In transaction and
//! statement mode mvtop says at start, in one line, why it cannot run, and runs nothing.

mod common;

use std::time::{Duration, Instant};

use common::pgbouncer::PgBouncer;
use mvtop::catalog::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::ledger::Ledger;
use mvtop::pgconn::pooler::{Pooling, TRANSACTION_POOLING, pooling};
use mvtop::pgconn::{Session, SessionSettings};
use mvtop::refresh::{
    Concurrently, Executor, JobEvent, JobSpec, JobState, Limits, Outcome, OutcomeKind, Source,
    Target, choose_mode,
};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

const FIXTURE: &str = r#"
CREATE EXTENSION pg_stat_statements;
CREATE SCHEMA rpt;
CREATE FUNCTION rpt.nap(secs float8) RETURNS int LANGUAGE sql VOLATILE AS
  $$ SELECT 1 FROM pg_sleep(secs) $$;
CREATE TABLE rpt.t (id int PRIMARY KEY, v int);
INSERT INTO rpt.t SELECT g, g % 7 FROM generate_series(1, 2000) g;
CREATE MATERIALIZED VIEW rpt.by_v AS SELECT v, count(*) AS n FROM rpt.t GROUP BY v;
CREATE UNIQUE INDEX by_v_uk ON rpt.by_v (v);
CREATE MATERIALIZED VIEW rpt.slow AS SELECT rpt.nap(20) AS n WITH NO DATA;
"#;

fn json(out: std::process::Output) -> Value {
    common::json_of(&out)
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

async fn through(bouncer: &PgBouncer, db: &str) -> Session {
    common::connector(&bouncer.params(db))
        .connect(&SessionSettings::MONITORING)
        .await
        .expect("a session through PgBouncer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_session_mode_every_command_works() {
    let (db, direct) = common::fresh_db_with("bouncer_session", FIXTURE, true).await;
    let mut bouncer = PgBouncer::start(common::cluster(), "session");
    let s = through(&bouncer, &db).await;
    let connector = common::connector(&bouncer.params(&db));
    assert_eq!(pooling(&connector, &s).await.unwrap(), Pooling::Own);

    let list = json(
        bouncer
            .mvtop(&db)
            .args(["list", "--format", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(list.as_array().unwrap().len(), 2, "{list:#}");
    let refresh = json(
        bouncer
            .mvtop(&db)
            .args(["refresh", "--format", "json", "rpt.by_v"])
            .output()
            .unwrap(),
    );
    assert_eq!(refresh[0]["outcome"], "ok", "{refresh:#}");
    assert_eq!(refresh[0]["mode"], "concurrently");

    // The per-MV advisory lock holds across a pooled session, and cancel reaches the server.
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let slow = Target::from(mvtop::catalog::names::find_in(&inv.views, "rpt.slow").unwrap());
    let spec = JobSpec {
        mode: choose_mode(&slow, Concurrently::Never, true).unwrap(),
        target: slow,
        source: Source::Cli,
        limits: Limits::default(),
    };
    let (executor, mut events) = Executor::new(connector.clone(), Some(Ledger::default()), 2);
    let first = executor.submit(spec.clone());
    loop {
        let e = events.recv().await.unwrap();
        if e.id == first && matches!(e.state, JobState::Running { .. }) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = bouncer
        .mvtop(&db)
        .args(["refresh", "rpt.slow"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("is already being refreshed by pid"), "{said}");
    let locks = json(
        bouncer
            .mvtop(&db)
            .args(["locks", "--format", "json"])
            .output()
            .unwrap(),
    );
    assert!(locks.is_array(), "{locks}");
    let top = json(
        bouncer
            .mvtop(&db)
            .args(["top", "--format", "json"])
            .output()
            .unwrap(),
    );
    let running = top["running"].as_array().unwrap();
    assert!(
        running
            .iter()
            .any(|r| r["refresh_of"].as_str().is_some_and(|n| n.contains("slow"))),
        "{running:#?}"
    );
    assert!(executor.cancel(first));
    let outcome = finished(&mut events, first).await;
    assert_eq!(outcome.kind, OutcomeKind::Cancelled, "{outcome:?}");
    // PgBouncer 1.18 exits when a cancel's client closes first (as tokio-postgres's did).
    assert_eq!(
        bouncer.exited(),
        None,
        "PgBouncer survived the cancel: {}",
        bouncer.log()
    );

    let doctor = json(
        bouncer
            .mvtop(&db)
            .args(["doctor", "--format", "json"])
            .output()
            .unwrap(),
    );
    let checks = doctor["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .filter(|c| c["feature"] == "refresh" || c["feature"] == "pg_stat_statements")
            .all(|c| c["status"] == "ok"),
        "{checks:#?}"
    );
    let bench = json(
        bouncer
            .mvtop(&db)
            .args([
                "bench", "rpt.by_v", "--runs", "2", "--warmup", "0", "--format", "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(bench["mv_ms"]["runs"], 2, "{bench:#}");

    // A schedule the daemon runs through PgBouncer.
    let set = bouncer
        .mvtop(&db)
        .args(["schedule", "set", "rpt.by_v", "--every", "1s"])
        .output()
        .unwrap();
    assert!(set.status.success(), "{set:?}");
    let daemon = common::daemon::Daemon::start(bouncer.mvtop(&db), &[]);
    daemon.wait_for_event("finished", 0, Duration::from_secs(20));
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log:?}");
    assert!(log.iter().all(|l| l["event"] != "problem"), "{log:?}");

    // The console: polls, refreshes, quits.
    let tmux = common::tmux::Tmux::start(&format!(
        "{} -d '{}' --interval 1 --no-scheduler; echo MVTOP_EXITED $?; sleep 30",
        env!("CARGO_BIN_EXE_mvtop"),
        bouncer.conninfo(&db)
    ));
    tmux.wait_for("rpt.by_v");
    tmux.keys(&["/", "by_v", "Enter", "r"]);
    tmux.wait_for("refreshed rpt.by_v (concurrently)");
    tmux.keys(&["q"]);
    tmux.wait_for("MVTOP_EXITED 0");
    let history: i64 = direct
        .client
        .query_one(
            "SELECT count(*) FROM mvtop.refresh_log WHERE outcome = 'ok' AND mv_name = 'by_v'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(history >= 3, "cli, schedule and console runs: {history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_transaction_and_statement_mode_mvtop_says_at_start_why_it_cannot_run() {
    let (db, direct) = common::fresh_db_with("bouncer_tx", FIXTURE, true).await;
    for mode in ["transaction", "statement"] {
        let bouncer = PgBouncer::start(common::cluster(), mode);
        let s = through(&bouncer, &db).await;
        let connector = common::connector(&bouncer.params(&db));
        let start = Instant::now();
        assert_eq!(
            pooling(&connector, &s).await.unwrap(),
            Pooling::PerTransaction,
            "{mode}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{mode}: a quick probe"
        );
        for args in [
            &["list"][..],
            &["refresh", "rpt.by_v"],
            &["daemon"],
            &["top"],
            &["doctor"],
            &[],
        ] {
            let out = bouncer
                .mvtop(&db)
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{mode} {args:?}: {out:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                stderr,
                format!("mvtop: error: {TRANSACTION_POOLING}\n"),
                "{mode} {args:?}: one line"
            );
            assert!(out.stdout.is_empty(), "{mode} {args:?}");
        }
    }
    let runs: i64 = direct
        .client
        .query_one("SELECT count(*) FROM mvtop.refresh_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 0, "nothing ran");
}
