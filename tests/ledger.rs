//! The refresh ledger against a real cluster: install, upgrade as a no-op, event triggers
//! recording refreshes from any client, statistics in the inventory, history, retention,
//! uninstall, and bookkeeping that never breaks a user's REFRESH.

mod common;

use mvtop::catalog::{Inventory, StatsSource};
use mvtop::inventory::FetchOptions;
use mvtop::ledger::{EventTriggers, HistoryFilter, LATEST_VERSION, Ledger, Retention};
use mvtop::pgconn::{Session, SessionSettings};

const FIXTURE: &str = r#"
CREATE SCHEMA rpt;
CREATE SCHEMA "Reporting";
CREATE TABLE rpt.t (id int PRIMARY KEY, v int);
INSERT INTO rpt.t SELECT g, g % 7 FROM generate_series(1, 2000) g;
CREATE MATERIALIZED VIEW rpt.by_v AS SELECT v, count(*) AS n FROM rpt.t GROUP BY v;
CREATE UNIQUE INDEX by_v_uk ON rpt.by_v (v);
CREATE MATERIALIZED VIEW "Reporting"."Sales by Region" AS SELECT sum(n) AS n FROM rpt.by_v;
"#;

const KEEP: Retention = Retention {
    keep_runs_per_mv: None,
    keep_days: None,
};

async fn setup(tag: &str) -> (String, Session) {
    let (db, s) = common::fresh_db(tag).await;
    s.client.batch_execute(FIXTURE).await.expect("fixture");
    (db, s)
}

#[tokio::test]
async fn install_is_versioned_and_idempotent_and_uninstall_removes_it_all() {
    let (_db, mut s) = setup("install").await;
    let ledger = Ledger::default();
    assert_eq!(ledger.installed_version(&s.client).await.unwrap(), None);
    let first = ledger.install(&mut s.client, KEEP).await.unwrap();
    assert_eq!(first.from_version, None);
    assert_eq!(first.to_version, LATEST_VERSION);
    assert_eq!(first.event_triggers, EventTriggers::Installed);
    let again = ledger.install(&mut s.client, KEEP).await.unwrap();
    assert_eq!(again.from_version, Some(LATEST_VERSION));
    assert_eq!(
        ledger.installed_version(&s.client).await.unwrap(),
        Some(LATEST_VERSION)
    );
    let versions: i64 = s
        .client
        .query_one("SELECT count(*) FROM mvtop.version", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        versions,
        mvtop::ledger::MIGRATION_COUNT as i64,
        "a second install applies nothing"
    );

    assert!(ledger.uninstall(&mut s.client).await.unwrap());
    let left: i64 = s
        .client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'mvtop')
                  + (SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'mvtop%')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    assert!(!ledger.uninstall(&mut s.client).await.unwrap());
    s.client
        .batch_execute("REFRESH MATERIALIZED VIEW rpt.by_v")
        .await
        .expect("REFRESH works after uninstall");
}

#[tokio::test]
async fn refreshes_from_any_client_are_recorded_with_their_duration() {
    let (db, mut s) = setup("external").await;
    let ledger = Ledger::default();
    ledger.install(&mut s.client, KEEP).await.unwrap();
    let other = common::session(&db).await;
    other
        .client
        .batch_execute(
            r#"SET application_name = 'nightly-cron';
               REFRESH MATERIALIZED VIEW CONCURRENTLY rpt.by_v;
               REFRESH MATERIALIZED VIEW "Reporting"."Sales by Region";"#,
        )
        .await
        .unwrap();
    let runs = ledger
        .history(&s.client, &HistoryFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let sales = runs.iter().find(|r| r.name == "Sales by Region").unwrap();
    assert_eq!(sales.schema, "Reporting");
    assert_eq!(sales.source, "external");
    assert_eq!(sales.outcome, "ok");
    assert_eq!(sales.client_application.as_deref(), Some("nightly-cron"));
    assert!(sales.duration_ms.unwrap() >= 0.0);
    assert!(sales.with_data);
    let by_v = runs.iter().find(|r| r.name == "by_v").unwrap();
    assert!(by_v.duration_ms.unwrap() > 0.0);
    // Both statements came in one batch, so the trigger sees the batch's text: the
    // CONCURRENTLY flag is a best effort for external runs (mvtop's own are exact).
    let with = FetchOptions::default();
    let inv = Inventory::fetch(&s.client, async || None, with)
        .await
        .unwrap();
    let mv = inv
        .views
        .iter()
        .find(|v| v.name == "Sales by Region")
        .unwrap();
    assert_eq!(mv.refresh_stats_source, Some(StatsSource::Ledger));
    assert_eq!(mv.last_refresh_source, Some(StatsSource::Ledger));
    assert_eq!(mv.refresh_count, Some(1));
    assert_eq!(mv.refresh_failures, Some(0));
    assert_eq!(mv.last_refresh, sales.finished_at);
}

#[tokio::test]
async fn bookkeeping_never_breaks_a_users_refresh() {
    let (_db, mut s) = setup("broken").await;
    let ledger = Ledger::default();
    ledger.install(&mut s.client, KEEP).await.unwrap();
    s.client
        .batch_execute("ALTER TABLE mvtop.refresh_log ADD CONSTRAINT nothing_fits CHECK (false)")
        .await
        .unwrap();
    s.client
        .batch_execute("REFRESH MATERIALIZED VIEW rpt.by_v")
        .await
        .expect("the refresh must succeed even when recording it fails");
}

#[tokio::test]
async fn a_role_that_may_not_create_event_triggers_gets_the_rest() {
    let (db, s) = setup("unprivileged").await;
    s.client
        .batch_execute(&format!(
            "CREATE ROLE ledger_owner LOGIN; GRANT CREATE ON DATABASE \"{db}\" TO ledger_owner;"
        ))
        .await
        .unwrap();
    let mut params = common::cluster().params(&db);
    params.set("user", "ledger_owner");
    let mut owner = common::connector(&params)
        .connect(&SessionSettings::MONITORING)
        .await
        .unwrap();
    let report = Ledger::default()
        .install(&mut owner.client, KEEP)
        .await
        .unwrap();
    assert!(
        matches!(report.event_triggers, EventTriggers::NotPermitted(ref why) if why.contains("superuser"))
    );
    assert_eq!(
        Ledger::default()
            .installed_version(&owner.client)
            .await
            .unwrap(),
        Some(LATEST_VERSION)
    );
}

#[tokio::test]
async fn retention_keeps_the_last_runs_per_mv() {
    let (_db, mut s) = setup("retention").await;
    let ledger = Ledger::new("Refresh Ledger");
    let keep_two = Retention {
        keep_runs_per_mv: Some(2),
        keep_days: Some(30),
    };
    ledger.install(&mut s.client, keep_two).await.unwrap();
    for _ in 0..4 {
        s.client
            .batch_execute("REFRESH MATERIALIZED VIEW rpt.by_v")
            .await
            .unwrap();
    }
    s.client
        .batch_execute(
            r#"INSERT INTO "Refresh Ledger".refresh_log
                 (mv_oid, mv_schema, mv_name, started_at, concurrent, source, outcome)
               SELECT 'rpt.by_v'::regclass, 'rpt', 'by_v', now() - interval '40 days', false, 'cli', 'ok'"#,
        )
        .await
        .unwrap();
    let removed = ledger.prune(&s.client).await.unwrap();
    assert_eq!(
        removed, 3,
        "two of four refreshes beyond the last two, one too old"
    );
    let runs = ledger
        .history(&s.client, &HistoryFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
}

#[tokio::test]
async fn history_from_the_command_line() {
    let (db, mut s) = setup("history_cli").await;
    let out = common::mvtop(&db).arg("history").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mvtop install"));

    let install = common::mvtop(&db).arg("install").output().unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let installed = format!("installed the mvtop ledger (version {LATEST_VERSION})");
    assert!(String::from_utf8_lossy(&install.stdout).contains(&installed));
    let again = common::mvtop(&db).arg("install").output().unwrap();
    let current = format!("is current (version {LATEST_VERSION})");
    assert!(String::from_utf8_lossy(&again.stdout).contains(&current));

    s.client
        .batch_execute(r#"REFRESH MATERIALIZED VIEW rpt.by_v; REFRESH MATERIALIZED VIEW "Reporting"."Sales by Region""#)
        .await
        .unwrap();
    let _ = &mut s;
    let out = common::mvtop(&db)
        .args([
            "history",
            r#""Reporting"."Sales by Region""#,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let runs = common::json_of(&out);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["name"], "Sales by Region");
    assert_eq!(runs[0]["source"], "external");
    let all = common::mvtop(&db)
        .args(["history", "--since", "1h", "--limit", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&all.stdout);
    assert!(text.ends_with("(1 row)\n"), "{text}");
    let unknown = common::mvtop(&db)
        .args(["history", "rpt.nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("materialized view rpt.nope does not exist")
    );
    let list = common::mvtop(&db)
        .args(["list", "--format", "json", "by_v"])
        .output()
        .unwrap();
    let list = common::json_of(&list);
    assert_eq!(list[0]["refresh_stats_source"], "ledger");
    let removed = common::mvtop(&db).arg("uninstall").output().unwrap();
    assert!(String::from_utf8_lossy(&removed.stdout).contains("removed the mvtop ledger"));
}

#[tokio::test]
async fn an_older_ledger_is_told_apart_from_none() {
    let (_db, mut s) = setup("outdated").await;
    let ledger = Ledger::default();
    ledger.install(&mut s.client, KEEP).await.unwrap();
    let facts = mvtop::catalog::ServerFacts::fetch(&s.client, &ledger)
        .await
        .unwrap();
    assert!(facts.ledger_installed && !facts.ledger_outdated);
    // As if the latest migration had not run yet.
    s.client
        .execute(
            "DELETE FROM mvtop.version WHERE version = $1",
            &[&LATEST_VERSION],
        )
        .await
        .unwrap();
    let inv = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    assert!(!inv.facts.ledger_installed && inv.facts.ledger_outdated);
    assert!(
        inv.hints.iter().any(|h| h.contains("older version")),
        "{:?}",
        inv.hints
    );
}
