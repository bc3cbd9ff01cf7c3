//! The demo database: a CI/build-service schema with MVs covering every case the console
//! shows, loaded into a throwaway cluster, with a light write load on its base tables.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_postgres::Client;

use crate::catalog::ident::quote_literal;
use crate::pgconn::{Connector, SessionSettings, one_line};

pub const DEMO_DB: &str = "mvtop_demo";
const SCHEMA_SQL: &str = include_str!("../assets/demo/schema.sql");
const WRITE_LOAD_SQL: &str = include_str!("../assets/demo/write_load.sql");

/// Loading is DDL and bulk inserts: no statement timeout, but never wait on a lock for long.
pub const LOADING: SessionSettings = SessionSettings {
    lock_timeout: Duration::from_secs(5),
    statement_timeout: Duration::from_secs(600),
    jit: false,
    parallel: false,
};

/// Creates the demo schema and data at `scale` (1 = default); returns how long it took.
pub async fn load(client: &Client, scale: u32) -> Result<Duration, tokio_postgres::Error> {
    let started = Instant::now();
    client
        .batch_execute(&format!(
            "SET mvtop.demo_scale = {};\n{SCHEMA_SQL}",
            quote_literal(&scale.to_string())
        ))
        .await?;
    Ok(started.elapsed())
}

/// Installs the ledger and a few schedules that show each policy: an interval, a cron
/// expression, and a change-driven one on tables the write load keeps writing; and a plain
/// refresh every minute, the one lock waits are shown on.
pub async fn schedule(client: &mut Client, ledger: &crate::ledger::Ledger) -> Result<(), String> {
    use crate::schedule::policy::PolicyInput;
    let keep = crate::ledger::Retention {
        keep_runs_per_mv: None,
        keep_days: None,
    };
    ledger
        .install(client, keep)
        .await
        .map_err(|e| one_line(&e))?;
    let every = |text: &str| PolicyInput {
        every: Some(text.into()),
        ..PolicyInput::default()
    };
    let plans = [
        ("reporting.builds_hourly", every("1m")),
        (
            "reporting.chroot_stats",
            PolicyInput {
                cron: Some("*/2 * * * *".into()),
                ..PolicyInput::default()
            },
        ),
        // No unique index: a plain refresh, which the idle reader of `spawn_lock_holder`
        // makes wait.
        ("reporting.project_leaderboard", every("1m")),
        (
            "reporting.test_runs_daily",
            PolicyInput {
                on_change: true,
                quiet: Some("20s".into()),
                max_stale: Some("2m".into()),
                ..PolicyInput::default()
            },
        ),
    ];
    for (name, input) in plans {
        let mv = crate::catalog::names::resolve_mv(client, name).await?;
        let auto = crate::refresh::Concurrently::Auto;
        crate::schedule::edit::set(client, ledger, mv.oid, &input, auto).await?;
    }
    Ok(())
}

/// Runs the write load every `every` on its own session until aborted; a failed round is
/// reported once through `on_error` and retried on the next tick.
pub fn spawn_write_load(
    connector: Connector,
    every: Duration,
    on_error: impl Fn(String) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut session = None;
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error = String::new();
        loop {
            ticker.tick().await;
            if session.is_none() {
                match connector.connect(&LOADING).await {
                    Ok(s) => session = Some(s),
                    Err(e) => {
                        report("demo write load", &mut last_error, e.to_string(), &on_error);
                        continue;
                    }
                }
            }
            let Some(s) = &session else { continue };
            if let Err(e) = s.client.batch_execute(WRITE_LOAD_SQL).await {
                if e.is_closed() {
                    session = None;
                }
                report("demo write load", &mut last_error, one_line(&e), &on_error);
            } else {
                last_error.clear();
            }
        }
    })
}

fn report(what: &str, last: &mut String, message: String, on_error: &impl Fn(String)) {
    if *last != message {
        on_error(format!("{what}: {message}"));
        *last = message;
    }
}

/// The MV the lock holder reads: scheduled every minute, refreshed plainly (no unique index).
pub const LOCKED_MV: &str = "reporting.project_leaderboard";

/// When the first idle reader comes, how long it holds its lock, how often it comes back.
pub struct LockHolding {
    pub first_after: Duration,
    pub hold: Duration,
    pub every: Duration,
}

/// The demo's usual reader: at once (the console's first scheduled refresh of the MV meets
/// it), holding for 75 s (longer than the MV's 1-minute schedule, so a scheduled refresh
/// always falls inside it), every 3 minutes.
pub const LOCK_HOLDING: LockHolding = LockHolding {
    first_after: Duration::ZERO,
    hold: Duration::from_secs(75),
    every: Duration::from_secs(180),
};

/// Now and then a report session reads `LOCKED_MV` and then sits idle in its transaction
/// (the everyday cause of a stuck plain REFRESH): its ACCESS SHARE lock makes the scheduled
/// refresh wait, and the readers after it queue behind the refresh. The console shows this in
/// the locks pane, as the `L` mark and in the jobs pane.
pub fn spawn_lock_holder(
    connector: Connector,
    timing: LockHolding,
    on_error: impl Fn(String) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_error = String::new();
        tokio::time::sleep(timing.first_after).await;
        let mut ticker = tokio::time::interval(timing.every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let held = async {
                let s = connector
                    .connect(&LOADING)
                    .await
                    .map_err(|e| e.to_string())?;
                let sql = [
                    "SET application_name = 'demo report (idle in transaction)'".to_string(),
                    format!("BEGIN; SELECT count(*) FROM {LOCKED_MV}"),
                ];
                for sql in sql {
                    s.client
                        .batch_execute(&sql)
                        .await
                        .map_err(|e| one_line(&e))?;
                }
                tokio::time::sleep(timing.hold).await;
                s.client
                    .batch_execute("ROLLBACK")
                    .await
                    .map_err(|e| one_line(&e))
            };
            match held.await {
                Ok(()) => last_error.clear(),
                Err(e) => report("demo lock holder", &mut last_error, e, &on_error),
            }
        }
    })
}
