//! The console's pulse against a real cluster: at rest it computes neither the MVs'
//! fingerprint nor the base tables' counters, and it still sees every change that matters.

mod common;

use std::time::{Duration, Instant};

use mvtop::catalog::pulse::{Baseline, Fingerprint, Pulse, PulseStatements};

const FIXTURE: &str = r#"
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, g FROM generate_series(1, 100) g;
CREATE VIEW v AS SELECT id, v FROM t;
CREATE MATERIALIZED VIEW mv_a AS SELECT id, v FROM v;
CREATE MATERIALIZED VIEW "MV b" AS SELECT count(*) AS n FROM t;
"#;

/// Pulses until `done` holds, from `since`. A backend's statistics reach the others when it
/// goes idle, at most once a second, else 10 s later (the tests force the flush: see
/// `flushed`).
async fn pulse_until(
    s: &mvtop::pgconn::Session,
    statements: &PulseStatements,
    tables: &[u32],
    since: Baseline,
    done: impl Fn(&Pulse) -> bool,
) -> Pulse {
    let start = Instant::now();
    loop {
        let p = Pulse::fetch(&s.client, statements, tables, since)
            .await
            .unwrap();
        if done(&p) || start.elapsed() > Duration::from_secs(10) {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `sql` on `s` and has its statistics flushed as it goes idle (PostgreSQL 15+).
async fn flushed(s: &mvtop::pgconn::Session, sql: &str) {
    s.client.batch_execute(sql).await.unwrap();
    s.client
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .await
        .unwrap();
}

#[tokio::test]
async fn at_rest_the_pulse_reads_nothing_per_mv_and_sees_writes_ddl_and_locks() {
    let (db, s) = common::fresh_db_with("pulse", FIXTURE, false).await;
    let statements = PulseStatements::prepare(&s.client).await.unwrap();
    let table: u32 = s
        .client
        .query_one("SELECT 't'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    let tables = [table];

    // The first pulse has no baseline: it computes everything (once the fixture's own
    // writes reached the statistics).
    let first = pulse_until(&s, &statements, &tables, Baseline::default(), |p| {
        p.writes
            .as_ref()
            .is_some_and(|w| w.get(&tables[0]) == Some(&100))
    })
    .await;
    let known: Fingerprint = first.fingerprint.clone().expect("computed");
    assert_eq!(known.mv_count, 2);
    assert!(
        first
            .writes
            .as_ref()
            .is_some_and(|w| w.contains_key(&table))
    );

    // Nothing happened since: neither is computed.
    let rest = pulse_until(&s, &statements, &tables, first.baseline, |p| {
        p.fingerprint.is_none() && p.writes.is_none()
    })
    .await;
    assert_eq!(
        (rest.fingerprint.clone(), rest.writes.clone()),
        (None, None)
    );

    // Another client writes a base table: its counters are read again, no fingerprint.
    let other = common::session(&db).await;
    flushed(&other, "INSERT INTO t VALUES (1000, 1)").await;
    let before = first.writes.as_ref().unwrap()[&table];
    let written = pulse_until(&s, &statements, &tables, rest.baseline, |p| {
        p.writes.is_some()
    })
    .await;
    assert_eq!(written.writes.as_ref().map(|w| w[&table]), Some(before + 1));
    assert_eq!(written.fingerprint, None, "a write is no DDL");

    // Another client refreshes an MV: the fingerprint is computed, and it moved.
    flushed(&other, "REFRESH MATERIALIZED VIEW \"MV b\"").await;
    let refreshed = pulse_until(&s, &statements, &tables, written.baseline, |p| {
        p.fingerprint.is_some()
    })
    .await;
    let now = refreshed.fingerprint.clone().expect("computed after DDL");
    assert!(known.moved_to(&now), "{known:?} -> {now:?}");

    // A view an MV reads is redefined: no MV row changes, the definitions' counter does.
    flushed(
        &other,
        "CREATE OR REPLACE VIEW v AS SELECT id, v FROM t WHERE id > 0",
    )
    .await;
    let redefined = pulse_until(&s, &statements, &tables, refreshed.baseline, |p| {
        p.fingerprint.is_some()
    })
    .await;
    let after = redefined.fingerprint.clone().expect("computed after DDL");
    assert_eq!(
        (after.mv_count, &after.xmin_sum),
        (now.mv_count, &now.xmin_sum)
    );
    assert!(now.moved_to(&after), "{now:?} -> {after:?}");

    // On a standby the fingerprint is asked for every time.
    let always = Baseline {
        always_fingerprint: true,
        ..redefined.baseline
    };
    let asked = Pulse::fetch(&s.client, &statements, &tables, always)
        .await
        .unwrap();
    assert!(asked.fingerprint.is_some());

    // A session reading an MV in an open transaction holds it.
    let reader = common::session(&db).await;
    reader
        .client
        .batch_execute("BEGIN; SELECT * FROM mv_a")
        .await
        .unwrap();
    let pid: i32 = reader
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let mv_a: u32 = s
        .client
        .query_one("SELECT 'mv_a'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    let held = Pulse::fetch(&s.client, &statements, &tables, redefined.baseline)
        .await
        .unwrap();
    assert_eq!(held.lock_holders.get(&mv_a), Some(&vec![pid]));
    assert!(held.refreshing.is_empty());
}
