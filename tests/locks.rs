//! Lock waits against a real server: real blocking scenarios, and what `mvtop locks` and the
//! console's poll report about them.

mod common;

use std::time::{Duration, Instant};

use mvtop::catalog::locks::{mv_locks, wait_tree};
use mvtop::catalog::sessions::{self, Sessions, Signal, signal_backend};
use mvtop::pgconn::{Session, SessionSettings};
use serde_json::Value;
use tokio::task::JoinHandle;

const FIXTURE: &str = r#"
CREATE SCHEMA "Reporting";
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 100) g;
CREATE MATERIALIZED VIEW "Reporting"."Sales by Region" AS SELECT v, count(*) AS n FROM t GROUP BY v;
-- Sleeps as long as the session's mvtop_test.nap says: a refresh that takes its time.
CREATE FUNCTION nap() RETURNS int LANGUAGE sql VOLATILE
  AS $$ SELECT 1 FROM pg_sleep(coalesce(current_setting('mvtop_test.nap', true), '0')::float8) $$;
CREATE MATERIALIZED VIEW slow AS SELECT nap() AS n;
CREATE TABLE a (id int);
CREATE TABLE b (id int);
"#;

/// A session on `db` named `app`, that waits for locks as long as it takes.
async fn open(db: &str, app: &str) -> (Session, i32) {
    let s = common::session(db).await;
    s.client
        .batch_execute(&format!(
            "SET lock_timeout = 0; SET statement_timeout = '120s'; SET application_name = '{app}'"
        ))
        .await
        .unwrap();
    let pid: i32 = s
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    (s, pid)
}

/// Runs `sql` on `s` in the background (it is going to wait).
fn background(s: Session, sql: &str) -> JoinHandle<(Session, Result<(), tokio_postgres::Error>)> {
    let sql = sql.to_string();
    tokio::spawn(async move {
        let r = s.client.batch_execute(&sql).await;
        (s, r)
    })
}

/// Until `pid` waits for a heavyweight lock.
async fn until_waiting(monitor: &Session, pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let waiting: bool = monitor
            .client
            .query_one(
                "SELECT coalesce(bool_or(wait_event_type = 'Lock'), false) FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0);
        if waiting {
            return;
        }
        assert!(Instant::now() < deadline, "pid {pid} never waited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The waits `mvtop locks` reports in database `db` (other tests share the cluster).
fn locks_json(db: &str) -> Vec<Value> {
    let out = common::mvtop(db)
        .args(["locks", "--format", "json"])
        .output()
        .unwrap();
    let all = common::json_of(&out);
    all.as_array()
        .expect("an array")
        .iter()
        .filter(|w| w["database"] == db)
        .cloned()
        .collect()
}

fn wait_of(waits: &[Value], pid: i32) -> &Value {
    waits
        .iter()
        .find(|w| w["pid"] == pid)
        .unwrap_or_else(|| panic!("no wait of pid {pid} in {waits:#?}"))
}

async fn poll(monitor: &Session) -> Sessions {
    let mut statement = sessions::prepare(&monitor.client).await.unwrap();
    Sessions::fetch(&monitor.client, &mut statement)
        .await
        .unwrap()
}

async fn setup(tag: &str) -> (String, Session) {
    let (db, s) = common::fresh_db(tag).await;
    s.client.batch_execute(FIXTURE).await.unwrap();
    (db, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_in_transaction_session_blocking_a_plain_refresh() {
    let (db, monitor) = setup("idle_blocks_refresh").await;
    let (etl, etl_pid) = open(&db, "etl").await;
    etl.client
        .batch_execute(r#"BEGIN; SELECT count(*) FROM "Reporting"."Sales by Region""#)
        .await
        .unwrap();
    let (refresher, refresh_pid) = open(&db, "refresher").await;
    let refresh = background(
        refresher,
        r#"REFRESH MATERIALIZED VIEW "Reporting"."Sales by Region""#,
    );
    until_waiting(&monitor, refresh_pid).await;

    let waits = locks_json(&db);
    assert_eq!(waits.len(), 1, "{waits:#?}");
    let w = wait_of(&waits, refresh_pid);
    assert_eq!(w["application"], "refresher");
    assert_eq!(w["database"], db.as_str());
    assert_eq!(w["wait_relation"], r#""Reporting"."Sales by Region""#);
    assert_eq!(w["wait_mode"], "AccessExclusiveLock");
    assert_eq!(w["wait_on_mv"], true);
    assert_eq!(w["refresh_of"], r#""Reporting"."Sales by Region""#);
    assert!(w["waiting_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(w["waiting_estimated"], false, "PG 15 has waitstart");
    let b = &w["blocked_by"][0];
    assert_eq!(b["pid"], etl_pid);
    assert_eq!(b["application"], "etl");
    assert_eq!(b["state"], "idle in transaction");
    assert_eq!(b["holds_modes"], serde_json::json!(["AccessShareLock"]));
    assert!(b["xact_age_ms"].as_f64().unwrap() >= w["waiting_ms"].as_f64().unwrap());
    assert!(b["query"].as_str().unwrap().contains("count(*)"));

    // The console's view: the MV's refresh waits behind the idle session.
    let sessions = poll(&monitor).await;
    let oid: u32 = monitor
        .client
        .query_one(
            r#"SELECT '"Reporting"."Sales by Region"'::regclass::oid"#,
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(mv_locks(&sessions)[&oid].refresh_waits_behind, [etl_pid]);
    let phrase = mvtop::catalog::locks::describe(Some(&sessions), etl_pid);
    assert!(phrase.contains("etl, idle in transaction"), "{phrase}");

    etl.client.batch_execute("COMMIT").await.unwrap();
    let (_, done) = refresh.await.unwrap();
    done.unwrap();
    assert!(locks_json(&db).is_empty(), "the wait is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_refresh_blocking_two_readers() {
    let (db, monitor) = setup("refresh_blocks_readers").await;
    let (refresher, refresh_pid) = open(&db, "refresher").await;
    refresher
        .client
        .batch_execute("SET mvtop_test.nap = '60'")
        .await
        .unwrap();
    let refresh = background(refresher, "REFRESH MATERIALIZED VIEW slow");
    // The refresh holds its ACCESS EXCLUSIVE lock once it sleeps.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !monitor
        .client
        .query_one(
            "SELECT count(*) > 0 FROM pg_locks WHERE pid = $1 AND relation = 'slow'::regclass \
             AND mode = 'AccessExclusiveLock' AND granted",
            &[&refresh_pid],
        )
        .await
        .unwrap()
        .get::<_, bool>(0)
    {
        assert!(Instant::now() < deadline, "the refresh never took its lock");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut readers = Vec::new();
    for app in ["reader_1", "reader_2"] {
        let (s, pid) = open(&db, app).await;
        readers.push((pid, background(s, "SELECT * FROM slow")));
        until_waiting(&monitor, pid).await;
    }

    let waits = locks_json(&db);
    assert_eq!(waits.len(), 2, "{waits:#?}");
    for (pid, _) in &readers {
        let w = wait_of(&waits, *pid);
        assert_eq!(w["wait_relation"], "public.slow");
        assert_eq!(w["wait_mode"], "AccessShareLock");
        assert_eq!(w["wait_on_mv"], true);
        let b = &w["blocked_by"][0];
        assert_eq!(b["pid"], refresh_pid);
        assert_eq!(b["state"], "active");
        // A plain refresh takes the MV's lock in more than one mode; ACCESS EXCLUSIVE is
        // the one every reader waits for.
        let holds = b["holds_modes"].as_array().unwrap();
        assert!(holds.contains(&"AccessExclusiveLock".into()), "{holds:?}");
        assert_eq!(b["query"], "REFRESH MATERIALIZED VIEW slow");
    }
    let sessions = poll(&monitor).await;
    let oid: u32 = monitor
        .client
        .query_one("SELECT 'slow'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    let m = &mv_locks(&sessions)[&oid];
    assert_eq!(m.waiters, 2);
    assert!(m.blocked_by_refresh);
    assert!(m.longest_wait_ms > 0.0);

    let table = common::mvtop(&db).arg("locks").output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("public.slow [MV]"), "{text}");
    assert!(text.contains(&format!(" {refresh_pid} | active")), "{text}");
    assert!(text.contains("AccessExclusiveLock"), "{text}");

    // Cancelling the refresh lets both readers through.
    let line = signal_backend(&monitor.client, refresh_pid, Signal::Cancel).await;
    assert_eq!(line, Ok(format!("pid {refresh_pid}: query cancelled")));
    let (_, r) = refresh.await.unwrap();
    assert_eq!(
        r.unwrap_err().code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED)
    );
    for (_, reader) in readers {
        reader.await.unwrap().1.unwrap();
    }
    assert!(locks_json(&db).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_a_blocks_b_blocks_c() {
    let (db, monitor) = setup("chain").await;
    let (a, a_pid) = open(&db, "A").await;
    a.client
        .batch_execute("BEGIN; LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let (b, b_pid) = open(&db, "B").await;
    b.client
        .batch_execute("BEGIN; LOCK TABLE b IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let b_task = background(b, "LOCK TABLE a IN ACCESS EXCLUSIVE MODE");
    until_waiting(&monitor, b_pid).await;
    let (c, c_pid) = open(&db, "C").await;
    let c_task = background(c, "SELECT * FROM b");
    until_waiting(&monitor, c_pid).await;

    let waits = locks_json(&db);
    assert_eq!(waits.len(), 2, "{waits:#?}");
    let b_wait = wait_of(&waits, b_pid);
    assert_eq!(b_wait["wait_relation"], "public.a");
    assert_eq!(b_wait["blocked_by"][0]["pid"], a_pid);
    assert_eq!(b_wait["blocked_by"][0]["waiting"], false);
    assert_eq!(b_wait["blocked_by"][0]["state"], "idle in transaction");
    let c_wait = wait_of(&waits, c_pid);
    assert_eq!(c_wait["wait_relation"], "public.b");
    assert_eq!(c_wait["blocked_by"][0]["pid"], b_pid);
    assert_eq!(c_wait["blocked_by"][0]["waiting"], true, "B waits itself");
    assert_eq!(
        c_wait["blocked_by"][0]["holds_modes"],
        serde_json::json!(["AccessExclusiveLock"])
    );

    let mut here = poll(&monitor).await;
    here.rows
        .retain(|r| r.database.as_deref() == Some(db.as_str()));
    let tree: Vec<(i32, usize)> = wait_tree(&here).iter().map(|l| (l.pid, l.depth)).collect();
    assert_eq!(tree, [(a_pid, 0), (b_pid, 1), (c_pid, 2)]);

    a.client.batch_execute("COMMIT").await.unwrap();
    let (b, r) = b_task.await.unwrap();
    r.unwrap();
    b.client.batch_execute("COMMIT").await.unwrap();
    c_task.await.unwrap().1.unwrap();
    assert!(locks_json(&db).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_and_a_terminated_blocker() {
    let (db, monitor) = setup("signals").await;
    // Cancel: the blocker's statement holds the lock while it runs; cancelling ends it.
    let (busy, busy_pid) = open(&db, "busy").await;
    let busy_task = background(busy, "SELECT count(*), pg_sleep(60) FROM t");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !monitor
        .client
        .query_one(
            "SELECT count(*) > 0 FROM pg_locks WHERE pid = $1 AND relation = 't'::regclass AND granted",
            &[&busy_pid],
        )
        .await
        .unwrap()
        .get::<_, bool>(0)
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ddl, ddl_pid) = open(&db, "ddl").await;
    let ddl_task = background(ddl, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; COMMIT");
    until_waiting(&monitor, ddl_pid).await;
    assert_eq!(
        wait_of(&locks_json(&db), ddl_pid)["blocked_by"][0]["pid"],
        busy_pid
    );

    // A role without the right is refused, in one line.
    monitor
        .client
        .batch_execute("CREATE ROLE plain_role LOGIN")
        .await
        .unwrap();
    let mut params = common::cluster().params(&db);
    params.set("user", "plain_role");
    let plain = common::connector(&params)
        .connect(&SessionSettings::MONITORING)
        .await
        .unwrap();
    let refused = signal_backend(&plain.client, busy_pid, Signal::Cancel)
        .await
        .unwrap_err();
    assert!(
        refused.starts_with(&format!("pid {busy_pid}: ")),
        "{refused}"
    );
    assert!(refused.contains("permission denied: "), "{refused}");
    assert!(!refused.contains('\n'));

    let line = signal_backend(&monitor.client, busy_pid, Signal::Cancel).await;
    assert_eq!(line, Ok(format!("pid {busy_pid}: query cancelled")));
    let (busy, r) = busy_task.await.unwrap();
    assert_eq!(
        r.unwrap_err().code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED)
    );
    ddl_task.await.unwrap().1.unwrap();
    busy.client.batch_execute("SELECT 1").await.unwrap();

    // Terminate: an idle-in-transaction blocker is ended, its transaction rolled back.
    let (idle, idle_pid) = open(&db, "idle").await;
    idle.client
        .batch_execute("BEGIN; UPDATE t SET v = -1 WHERE id = 1")
        .await
        .unwrap();
    let (writer, writer_pid) = open(&db, "writer").await;
    let writer_task = background(writer, "UPDATE t SET v = 2 WHERE id = 1");
    until_waiting(&monitor, writer_pid).await;
    let w = wait_of(&locks_json(&db), writer_pid).clone();
    assert_eq!(w["wait_locktype"], "transactionid");
    assert_eq!(
        w["wait_relation"], "public.t",
        "the row's table, not just a transaction id"
    );
    assert_eq!(w["blocked_by"][0]["pid"], idle_pid);
    assert_eq!(
        w["blocked_by"][0]["holds_modes"],
        serde_json::json!(["RowExclusiveLock"])
    );
    let line = signal_backend(&monitor.client, idle_pid, Signal::Terminate).await;
    assert_eq!(line, Ok(format!("pid {idle_pid}: session terminated")));
    writer_task.await.unwrap().1.unwrap();
    assert!(idle.client.batch_execute("SELECT 1").await.is_err(), "gone");
    let v: i32 = monitor
        .client
        .query_one("SELECT v FROM t WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 2, "the terminated transaction rolled back");
    let gone = signal_backend(&monitor.client, idle_pid, Signal::Terminate).await;
    assert_eq!(
        gone,
        Err(format!(
            "pid {idle_pid}: no such session any more (nothing was signalled)"
        ))
    );
    assert!(locks_json(&db).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_one_array_per_snapshot() {
    let (db, _s) = setup("watch").await;
    let mut child = common::mvtop(&db)
        .args(["locks", "--format", "json", "--watch", "300ms"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "{text}");
    for line in lines {
        let v: Value = serde_json::from_str(line).expect("one JSON array per line");
        assert!(v.is_array(), "{line}");
    }
}
