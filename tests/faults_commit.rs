//! The lost COMMIT: a proxy between the refresh and the server cuts the connection at the
//! refresh's COMMIT (after the server got it, before, or with it still on its way). The
//! outcome is looked up and recorded exactly once, or not at all where it truly cannot be
//! known; the MV's contents say what really happened.

mod common;

use std::time::{Duration, Instant};

use common::proxy::{CommitCutter, Cut};
use mvtop::catalog::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::ledger::Ledger;
use mvtop::pgconn::Session;
use mvtop::refresh::{
    Concurrently, Executor, JobSpec, JobState, Limits, Outcome, OutcomeKind, Recorded, Source,
    Target, choose_mode,
};

const FIXTURE: &str = r#"
CREATE SCHEMA app;
CREATE TABLE app.t (id int PRIMARY KEY);
INSERT INTO app.t SELECT generate_series(1, 10);
CREATE MATERIALIZED VIEW app.counted AS SELECT count(*) AS n FROM app.t;
INSERT INTO app.t SELECT generate_series(11, 25);
"#;

/// A database whose MV counts 10 rows of 25: a refresh that takes effect makes it 25.
async fn setup(tag: &str, ledger: bool) -> (String, Session) {
    common::fresh_db_with(tag, FIXTURE, ledger).await
}

async fn counted(s: &Session) -> i64 {
    s.client
        .query_one("SELECT n FROM app.counted", &[])
        .await
        .unwrap()
        .get(0)
}

/// (outcome, source, error) of every recorded run, read directly (not through the proxy).
async fn runs(s: &Session) -> Vec<(String, String, Option<String>)> {
    s.client
        .query(
            "SELECT outcome, source, error FROM mvtop.refresh_log ORDER BY started_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Refreshes app.counted through `proxy`; the job's outcome.
async fn refresh_through(proxy: &CommitCutter, s: &Session, db: &str, ledger: bool) -> Outcome {
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let target = Target::from(mvtop::catalog::names::find_in(&inv.views, "app.counted").unwrap());
    let connector = common::connector(&proxy.params(db));
    let (executor, mut events) = Executor::new(connector, ledger.then(Ledger::default), 1);
    let id = executor.submit(JobSpec {
        mode: choose_mode(&target, Concurrently::Never, true).unwrap(),
        target,
        source: Source::Cli,
        limits: Limits::default(),
    });
    loop {
        let event = tokio::time::timeout(Duration::from_secs(90), events.recv())
            .await
            .expect("the job finishes")
            .expect("events");
        if event.id == id
            && let JobState::Finished(outcome) = event.state
        {
            assert!(proxy.did_cut(), "the proxy met the COMMIT");
            return outcome;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_lost_after_the_commit_the_refresh_is_ok_and_recorded_once() {
    let (db, s) = setup("commit_answer_lost", true).await;
    let c = common::cluster();
    let proxy = CommitCutter::start(c.socket_dir(), c.port(), Cut::AnswerLost, false).await;
    let outcome = refresh_through(&proxy, &s, &db, true).await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.recorded, Recorded::Ledger);
    assert_eq!(counted(&s).await, 25, "it took effect");
    assert_eq!(runs(&s).await, [("ok".into(), "cli".into(), None)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_never_arrived_is_a_failure_recorded_once() {
    let (db, s) = setup("commit_request_lost", true).await;
    let c = common::cluster();
    let proxy = CommitCutter::start(c.socket_dir(), c.port(), Cut::RequestLost, false).await;
    let outcome = refresh_through(&proxy, &s, &db, true).await;
    assert_eq!(outcome.kind, OutcomeKind::Failed, "{outcome:?}");
    assert_eq!(outcome.recorded, Recorded::Ledger);
    let error = outcome.error.unwrap();
    assert!(
        error.starts_with("connection lost during COMMIT; the refresh did not take effect"),
        "{error}"
    );
    assert_eq!(counted(&s).await, 10, "it did not take effect");
    let recorded = runs(&s).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        (recorded[0].0.as_str(), recorded[0].2.as_deref()),
        ("failed", Some(error.as_str()))
    );
}

/// The answer is looked up while the COMMIT is still on its way to the server: the old
/// session is ended first, so the COMMIT that lands afterwards changes nothing, and the
/// one recorded outcome stays true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_still_on_its_way_cannot_make_a_second_outcome() {
    let (db, s) = setup("commit_delayed", true).await;
    let c = common::cluster();
    let delay = Duration::from_secs(3);
    let proxy =
        CommitCutter::start(c.socket_dir(), c.port(), Cut::RequestDelayed(delay), false).await;
    let start = Instant::now();
    let outcome = refresh_through(&proxy, &s, &db, true).await;
    assert!(
        start.elapsed() < delay,
        "looked up before the COMMIT landed"
    );
    assert_eq!(outcome.kind, OutcomeKind::Failed, "{outcome:?}");
    // Past the moment the delayed COMMIT reached the (ended) session.
    tokio::time::sleep(delay + Duration::from_secs(1)).await;
    assert_eq!(counted(&s).await, 10, "it did not take effect");
    let recorded = runs(&s).await;
    assert_eq!(recorded.len(), 1, "one outcome: {recorded:?}");
    assert_eq!(recorded[0].0, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_ledger_the_outcome_is_still_looked_up() {
    let (db, s) = setup("commit_no_ledger", false).await;
    let c = common::cluster();
    let proxy = CommitCutter::start(c.socket_dir(), c.port(), Cut::AnswerLost, false).await;
    let outcome = refresh_through(&proxy, &s, &db, false).await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{outcome:?}");
    assert_eq!(outcome.recorded, Recorded::Memory, "kept by the caller");
    assert_eq!(counted(&s).await, 25);
}

/// The answer lost and the server unreachable for longer than the outcome waits: unknown,
/// said so, and nothing recorded beyond what the transaction itself committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_lasting_partition_the_outcome_is_unknown_and_not_recorded_again() {
    let (db, s) = setup("commit_partition", true).await;
    let c = common::cluster();
    let proxy = CommitCutter::start(c.socket_dir(), c.port(), Cut::AnswerLost, true).await;
    let outcome = refresh_through(&proxy, &s, &db, true).await;
    assert_eq!(outcome.kind, OutcomeKind::Failed, "{outcome:?}");
    assert_eq!(outcome.recorded, Recorded::Nowhere);
    let error = outcome.error.unwrap();
    assert!(
        error.starts_with(
            "connection lost during COMMIT; whether the refresh took effect is unknown"
        ),
        "{error}"
    );
    // It did commit, with its own row: that row is the one record.
    assert_eq!(counted(&s).await, 25);
    assert_eq!(runs(&s).await, [("ok".into(), "cli".into(), None)]);
}
