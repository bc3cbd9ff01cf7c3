//! The console's I/O (`tui::io`) driven as the runtime drives it, effect by effect, against a
//! real server: a cancel or terminate does not wait behind a slow read on the monitoring
//! session.

mod common;

use std::time::{Duration, Instant};

use mvtop::catalog::Reread;
use mvtop::catalog::sessions::Signal;
use mvtop::ledger::Ledger;
use mvtop::pgconn::Session;
use mvtop::refresh::Executor;
use mvtop::tui::io::Io;
use mvtop::tui::msg::{Effect, Msg};
use tokio::sync::mpsc;

const FIXTURE: &str = r#"
CREATE TABLE t (id int PRIMARY KEY);
CREATE MATERIALIZED VIEW m AS SELECT count(*) AS n FROM t;
"#;

async fn pid_of(s: &Session) -> i32 {
    s.client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// The next message that is an inventory or a signal's answer, with the time it came.
async fn next_answer(results: &mut mpsc::Receiver<Msg>) -> (Msg, Instant) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), results.recv())
            .await
            .expect("an answer within 30 s")
            .expect("channel open");
        if matches!(msg, Msg::Inventory { .. } | Msg::Signalled(_)) {
            return (msg, Instant::now());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_does_not_wait_behind_a_slow_inventory_read() {
    let (db, admin) = common::fresh_db_with("signal_first", FIXTURE, true).await;
    // The inventory reads the ledger's statistics: with refresh_log locked, the read waits
    // on the monitoring session for its lock_timeout (500 ms) and then fails.
    let holder = common::session(&db).await;
    holder
        .client
        .batch_execute("BEGIN; LOCK mvtop.refresh_log IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let victim = common::session(&db).await;
    let victim_pid = pid_of(&victim).await;
    let sleeping =
        tokio::spawn(async move { victim.client.batch_execute("SELECT pg_sleep(60)").await });

    let connector = common::connector(&common::cluster().params(&db));
    let (executor, _jobs) = Executor::new(connector.clone(), Some(Ledger::default()), 1);
    let (results_tx, mut results) = mpsc::channel(64);
    let mut io = Io::new(connector, Ledger::default(), executor, results_tx);
    io.run(Effect::FetchInventory {
        generation: 1,
        again: Reread::Everything,
        definitions: false,
    });
    // Until the read waits for refresh_log's lock on the monitoring session.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let waiting: bool = admin
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                  WHERE NOT l.granted AND c.relname = 'refresh_log')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting {
            break;
        }
        assert!(Instant::now() < deadline, "the inventory read never waited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let asked = Instant::now();
    io.run(Effect::Signal {
        pid: victim_pid,
        signal: Signal::Cancel,
    });

    let (first, first_at) = next_answer(&mut results).await;
    let (second, _) = next_answer(&mut results).await;
    let Msg::Signalled(line) = first else {
        panic!("the signal's answer came after the inventory's: {second:?} after {first:?}");
    };
    assert!(line.is_ok(), "{line:?}");
    assert!(
        first_at - asked < Duration::from_millis(400),
        "the signal took {:?}",
        first_at - asked
    );
    assert!(
        matches!(second, Msg::Inventory { generation: 1, .. }),
        "{second:?}"
    );
    let cancelled = sleeping.await.unwrap();
    let e = cancelled.expect_err("the sleep was cancelled");
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{e:?}"
    );
    holder.client.batch_execute("ROLLBACK").await.unwrap();
}
