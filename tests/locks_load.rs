//! 300 connections, 50 of them waiting for locks in ten chains of five: `mvtop locks` and
//! the console's locks pane report every wait with its right blocker, and the sessions
//! poll stays cheap (its server-side time from pg_stat_statements is printed).
//!
//! A cluster of its own: it needs max_connections above the default 100.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mvtop::cluster::ClusterOptions;
use mvtop::pgconn::Session;

const CHAINS: usize = 10;
const DEPTH: usize = 5;
const CONNECTIONS: usize = 300;

fn big_cluster() -> &'static mvtop::cluster::Cluster {
    common::cluster_with(|| ClusterOptions {
        settings: vec![("max_connections".into(), "400".into())],
        ..ClusterOptions::default()
    })
}

async fn named(db: &str, app: &str) -> (Session, i32) {
    let s = common::session(db).await;
    s.client
        .batch_execute(&format!(
            "SET lock_timeout = 0; SET statement_timeout = 0; SET application_name = '{app}'"
        ))
        .await
        .unwrap();
    let pid = s
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    (s, pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_waits_in_chains_among_300_connections_are_all_reported_right() {
    big_cluster();
    let (db, s) = common::fresh_db("locks_load").await;
    let mut ddl = String::from("CREATE EXTENSION pg_stat_statements;");
    for i in 0..CHAINS {
        for k in 0..=DEPTH {
            ddl.push_str(&format!("CREATE TABLE c{i}_{k} (x int);"));
        }
    }
    s.client.batch_execute(&ddl).await.unwrap();

    // Each chain: holder 0 idles in a transaction holding c_i_0; session k holds c_i_k and
    // waits for c_i_(k-1), held by session k-1, itself waiting: 0 <- 1 <- 2 <- 3 <- 4 <- 5.
    let mut blocker_of: HashMap<i32, i32> = HashMap::new();
    let mut keep = Vec::new();
    let mut waits = Vec::new();
    for i in 0..CHAINS {
        let (holder, mut ahead) = named(&db, &format!("chain{i}_0")).await;
        holder
            .client
            .batch_execute(&format!("BEGIN; LOCK TABLE c{i}_0"))
            .await
            .unwrap();
        keep.push(holder);
        for k in 1..=DEPTH {
            let (s_k, pid) = named(&db, &format!("chain{i}_{k}")).await;
            s_k.client
                .batch_execute(&format!("BEGIN; LOCK TABLE c{i}_{k}"))
                .await
                .unwrap();
            let wait = format!("LOCK TABLE c{i}_{}", k - 1);
            waits.push(tokio::spawn(async move {
                let r = s_k.client.batch_execute(&wait).await;
                (s_k, r)
            }));
            blocker_of.insert(pid, ahead);
            ahead = pid;
        }
    }
    let filler_count = CONNECTIONS - CHAINS * (DEPTH + 1);
    for _ in 0..filler_count {
        keep.push(common::session(&db).await);
    }
    let start = Instant::now();
    loop {
        let n: i64 = s
            .client
            .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
            .await
            .unwrap()
            .get(0);
        if n == (CHAINS * DEPTH) as i64 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{n} waits");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let backends: i64 = s
        .client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(backends >= CONNECTIONS as i64, "{backends} connections");

    // The command line: all 50, each behind the session ahead of it in its chain.
    let t = Instant::now();
    let out = common::mvtop(&db)
        .args(["locks", "--format", "json"])
        .output()
        .unwrap();
    let cli_ms = t.elapsed().as_millis();
    let all = common::json_of(&out);
    let reported = all.as_array().unwrap();
    assert_eq!(reported.len(), CHAINS * DEPTH, "every wait: {all}");
    for w in reported {
        let pid = w["pid"].as_i64().unwrap() as i32;
        let want = blocker_of[&pid];
        let blockers = w["blocked_by"].as_array().unwrap();
        assert_eq!(blockers.len(), 1, "{w}");
        assert_eq!(blockers[0]["pid"], want, "{w}");
        // The one ahead waits too, except the idle holder at the head of the chain.
        let head = !blocker_of.contains_key(&want);
        assert_eq!(blockers[0]["waiting"], !head, "{w}");
        if head {
            assert_eq!(blockers[0]["state"], "idle in transaction", "{w}");
        }
    }

    // The console's locks pane, polling every second.
    let conninfo = big_cluster().conninfo(&db);
    let console = common::tmux::Tmux::start(&format!(
        "{} -d '{conninfo}' --interval 1; echo MVTOP_EXITED $?; sleep 60",
        env!("CARGO_BIN_EXE_mvtop")
    ));
    console.wait_for_within("no materialized views", Duration::from_secs(30));
    console.keys(&["4"]);
    console.wait_for_within("4 locks: 50 waiting", Duration::from_secs(30));
    // Let it poll a while, then read what its sessions poll cost the server.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let screen = console.wait_for_within("4 locks: 50 waiting", Duration::from_secs(5));
    assert!(!screen.contains("CONNECTION LOST"), "{screen}");
    // Two statements: the cheap half every tick, the lock details (pg_blocking_pids)
    // when the set of waiters changes or its details are old.
    let mut figures = Vec::new();
    for (half, pattern) in [
        ("activity", "%cheap half of the sessions poll%"),
        ("lock details", "%pg_blocking_pids%"),
    ] {
        let row = s
            .client
            .query_one(
                "SELECT coalesce(sum(calls), 0)::int8,
                        coalesce(sum(total_exec_time) / nullif(sum(calls), 0), 0)::float8,
                        coalesce(max(max_exec_time), 0)::float8
                 FROM pg_stat_statements
                 WHERE query LIKE $1 AND query NOT LIKE '%pg_stat_statements%'",
                &[&pattern],
            )
            .await
            .unwrap();
        let (calls, mean_ms, max_ms): (i64, f64, f64) = (row.get(0), row.get(1), row.get(2));
        eprintln!(
            "sessions poll, {half}: {calls} calls, mean {mean_ms:.2} ms, max {max_ms:.2} ms \
             server-side ({backends} connections, {} waits)",
            CHAINS * DEPTH
        );
        figures.push((calls, max_ms));
    }
    eprintln!("mvtop locks --format json: {cli_ms} ms end to end");
    assert!(figures[0].0 >= 5, "it polled every second: {figures:?}");
    assert!(figures[1].0 >= 1, "the details were read: {figures:?}");
    // Time-boxed: each run far below the 1 s tick (and the session's 30 s timeout).
    assert!(figures.iter().all(|&(_, max)| max < 1_000.0), "{figures:?}");
    console.keys(&["q"]);
    console.wait_for_within("MVTOP_EXITED 0", Duration::from_secs(10));
    drop(keep);
    for w in waits {
        w.abort();
    }
}
