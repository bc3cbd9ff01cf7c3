//! What roles can and cannot do: the ledger's event trigger and tables against an
//! unprivileged role (no escalation, no forged history, no schedule changes), a role with
//! only pg_monitor (reads everything, refreshes nothing, says why), a role with no rights
//! (sees what it may, no crash on what it may not), and `mvtop doctor` for each.

mod common;

use mvtop::catalog::inventory::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::ledger::{Ledger, Retention};
use mvtop::pgconn::{Session, SessionSettings};
use tokio_postgres::error::SqlState;

const KEEP: Retention = Retention {
    keep_runs_per_mv: None,
    keep_days: None,
};

/// A database with the ledger (event triggers included, as superuser), an MV of the
/// superuser's in `rpt` (USAGE granted to all), one in `secret` (no USAGE for others), and
/// a victim table.
async fn setup(tag: &str) -> (String, Session) {
    let (db, mut s) = common::fresh_db(tag).await;
    s.client
        .batch_execute(
            "CREATE TABLE public.victim (id int); INSERT INTO public.victim VALUES (1);
             CREATE SCHEMA rpt; GRANT USAGE ON SCHEMA rpt TO PUBLIC;
             CREATE TABLE rpt.t (id int PRIMARY KEY);
             INSERT INTO rpt.t SELECT generate_series(1, 10);
             CREATE MATERIALIZED VIEW rpt.admin_mv AS SELECT count(*) AS n FROM rpt.t;
             CREATE SCHEMA secret;
             CREATE MATERIALIZED VIEW secret.hidden AS SELECT 1 AS x;",
        )
        .await
        .unwrap();
    let report = Ledger::default()
        .install(&mut s.client, KEEP)
        .await
        .expect("install");
    assert_eq!(
        report.event_triggers,
        mvtop::ledger::EventTriggers::Installed
    );
    (db, s)
}

/// A new login role (cluster-wide, so named after the database) with CONNECT only.
async fn role(s: &Session, db: &str, suffix: &str, grants: &str) -> String {
    let role = format!("{db}_{suffix}");
    s.client
        .batch_execute(&format!(
            "CREATE ROLE \"{role}\" LOGIN; GRANT CONNECT ON DATABASE \"{db}\" TO \"{role}\"; {}",
            grants.replace("{role}", &format!("\"{role}\""))
        ))
        .await
        .unwrap();
    role
}

fn conninfo_as(db: &str, role: &str) -> String {
    format!("{} user='{role}'", common::cluster().conninfo(db))
}

async fn session_as(db: &str, role: &str) -> Session {
    let mut params = common::cluster().params(db);
    params.set("user", role);
    common::connector(&params)
        .connect(&SessionSettings::MONITORING)
        .await
        .expect("session as role")
}

fn mvtop_as(db: &str, role: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mvtop"))
        .args(["-d", &conninfo_as(db, role)])
        .args(args)
        .output()
        .unwrap()
}

fn denied(result: Result<u64, tokio_postgres::Error>, what: &str) {
    let e = result.expect_err(what);
    assert_eq!(
        e.code(),
        Some(&SqlState::INSUFFICIENT_PRIVILEGE),
        "{what}: {e}"
    );
}

#[tokio::test]
async fn the_event_trigger_function_is_locked_down_and_cannot_be_hijacked() {
    let (db, s) = setup("sec_trigger").await;
    // As before PostgreSQL 15: everyone may create objects in public.
    let intruder = role(
        &s,
        &db,
        "intruder",
        "GRANT CREATE ON SCHEMA public TO PUBLIC; CREATE SCHEMA mine AUTHORIZATION {role};",
    )
    .await;

    let f = s
        .client
        .query_one(
            "SELECT p.prosecdef, p.proconfig::text, pg_get_userbyid(p.proowner)::text,
                    has_function_privilege($1, p.oid, 'EXECUTE'),
                    EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
             FROM pg_proc p WHERE p.oid = 'mvtop.record_external_refresh()'::regprocedure",
            &[&intruder],
        )
        .await
        .unwrap();
    assert!(f.get::<_, bool>(0), "SECURITY DEFINER");
    assert_eq!(
        f.get::<_, String>(1),
        "{\"search_path=pg_catalog, pg_temp\"}"
    );
    assert_eq!(
        f.get::<_, String>(2),
        "postgres",
        "owned by the installing role"
    );
    assert!(!f.get::<_, bool>(3), "not executable by others");
    assert!(!f.get::<_, bool>(4), "no EXECUTE for PUBLIC");

    // The intruder plants look-alikes of everything the function calls, in public and in
    // its own schema, puts them first on its search_path, and refreshes its own MV.
    let i = session_as(&db, &intruder).await;
    let plant = r#"
        CREATE TABLE public.pwned (what text);
        GRANT INSERT ON public.pwned TO PUBLIC;
        CREATE FUNCTION public.evil() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO public.pwned VALUES (current_user);
          EXECUTE format('ALTER ROLE %I SUPERUSER', session_user);
        END $$;
        CREATE FUNCTION public.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS
          $$ BEGIN PERFORM public.evil(); RETURN now(); END $$;
        CREATE FUNCTION public.pg_backend_pid() RETURNS int LANGUAGE plpgsql AS
          $$ BEGIN PERFORM public.evil(); RETURN 0; END $$;
        CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE plpgsql AS
          $$ BEGIN PERFORM public.evil(); RETURN 'off'; END $$;
        CREATE FUNCTION public.nullif(text, text) RETURNS text LANGUAGE plpgsql AS
          $$ BEGIN PERFORM public.evil(); RETURN NULL; END $$;
        CREATE FUNCTION public.regex_evil(text, text) RETURNS boolean LANGUAGE plpgsql AS
          $$ BEGIN PERFORM public.evil(); RETURN true; END $$;
        CREATE OPERATOR public.~* (LEFTARG = text, RIGHTARG = text, FUNCTION = public.regex_evil);
        CREATE TABLE mine.pg_class (oid oid, relname name);
        CREATE TABLE mine.refresh_log (x int);
        CREATE MATERIALIZED VIEW mine.own AS SELECT 1 AS x;
    "#;
    i.client.batch_execute(plant).await.expect("plant");
    i.client
        .batch_execute(
            "SET search_path = mine, public, pg_catalog;
             SET mvtop.refresh_started_at = '2000-01-01';
             REFRESH MATERIALIZED VIEW mine.own;",
        )
        .await
        .expect("its own refresh works");

    let pwned: i64 = s
        .client
        .query_one("SELECT count(*) FROM public.pwned", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pwned, 0, "a planted object ran inside the event trigger");
    let superuser: bool = s
        .client
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = $1",
            &[&intruder],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!superuser, "escalated");
    // The run is recorded, as the intruder's, at the real time.
    let row = s
        .client
        .query_one(
            "SELECT db_user, source, started_at > now() - interval '1 minute'
             FROM mvtop.refresh_log WHERE mv_schema = 'mine' AND mv_name = 'own'",
            &[],
        )
        .await
        .expect("one recorded run");
    assert_eq!(row.get::<_, String>(0), intruder);
    assert_eq!(row.get::<_, String>(1), "external");
    assert!(
        row.get::<_, bool>(2),
        "the start time came from the session"
    );

    // Calling the function directly is refused.
    let e = i
        .client
        .batch_execute("SELECT mvtop.record_external_refresh()")
        .await
        .unwrap_err();
    assert!(e.code().is_some(), "{e}");
    s.client
        .query_one("SELECT count(*) FROM public.victim", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unprivileged_role_cannot_forge_history_nor_change_schedules() {
    let (db, s) = setup("sec_forge").await;
    let intruder = role(
        &s,
        &db,
        "forger",
        "CREATE SCHEMA mine AUTHORIZATION {role};",
    )
    .await;
    mvtop_ok_as(
        &db,
        "postgres",
        &["schedule", "set", "rpt.admin_mv", "--every", "1h"],
    );
    let i = session_as(&db, &intruder).await;
    i.client
        .batch_execute("CREATE MATERIALIZED VIEW mine.own AS SELECT 1 AS x")
        .await
        .unwrap();
    let admin_mv: u32 = s
        .client
        .query_one("SELECT 'rpt.admin_mv'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    let own: u32 = i
        .client
        .query_one("SELECT 'mine.own'::regclass::oid", &[])
        .await
        .unwrap()
        .get(0);
    let insert = "INSERT INTO mvtop.refresh_log
        (mv_oid, mv_schema, mv_name, started_at, finished_at, duration_ms, concurrent,
         source, outcome, db_user, backend_pid, base_writes)
        VALUES ($1, 'rpt', 'admin_mv', now(), now() + interval '1 day', 1, false,
                'schedule', $2, 'postgres', 1, 999999)";

    // An 'ok' run of the admin's MV: refused (it would make a stale MV look fresh).
    denied(
        i.client.execute(insert, &[&admin_mv, &"ok"]).await,
        "forged ok run of someone else's MV",
    );
    // Of its own MV: allowed, but under its own name, pid and the MV's real name.
    i.client.execute(insert, &[&own, &"ok"]).await.unwrap();
    // A failure of the admin's MV: allowed (mvtop records refused refreshes), as the intruder.
    i.client
        .execute(insert, &[&admin_mv, &"failed"])
        .await
        .unwrap();
    let rows = s
        .client
        .query(
            "SELECT mv_schema, mv_name, db_user, backend_pid <> 1, outcome
             FROM mvtop.refresh_log ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let rows: Vec<(String, String, String, bool, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "mine".into(),
                "own".into(),
                intruder.clone(),
                true,
                "ok".into()
            ),
            (
                "rpt".into(),
                "admin_mv".into(),
                intruder.clone(),
                true,
                "failed".into()
            ),
        ]
    );
    // An 'ok' run of something that is not an MV (or no longer exists): refused.
    denied(
        i.client.execute(insert, &[&0u32, &"ok"]).await,
        "ok run of a missing MV",
    );
    // No rewriting of history, no retention or schedule changes.
    denied(
        i.client
            .execute("UPDATE mvtop.refresh_log SET outcome = 'ok'", &[])
            .await,
        "update the log",
    );
    denied(
        i.client.execute("DELETE FROM mvtop.refresh_log", &[]).await,
        "delete the log",
    );
    denied(
        i.client
            .execute("UPDATE mvtop.settings SET value = '0'", &[])
            .await,
        "change retention",
    );
    denied(
        i.client
            .execute("UPDATE mvtop.schedule SET every_ms = 1000", &[])
            .await,
        "change a schedule",
    );
    denied(
        i.client.execute("DELETE FROM mvtop.schedule", &[]).await,
        "remove a schedule",
    );
    denied(
        i.client
            .execute(
                "INSERT INTO mvtop.schedule (mv_schema, mv_name, kind, every_ms)
                 VALUES ('rpt', 'admin_mv', 'every', 1000)",
                &[],
            )
            .await,
        "add a schedule",
    );
    // Reading is fine; through mvtop the refusal is one line naming the rule.
    i.client
        .query("SELECT * FROM mvtop.schedule", &[])
        .await
        .unwrap();
    let out = mvtop_as(&db, &intruder, &["schedule", "rm", "rpt.admin_mv"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("only the ledger's owner"), "{err}");
    // Its own refresh through mvtop is recorded as before.
    let out = mvtop_as(&db, &intruder, &["refresh", "mine.own"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn mvtop_ok_as(db: &str, role: &str, args: &[&str]) -> String {
    let out = mvtop_as(db, role, args);
    assert!(
        out.status.success(),
        "mvtop {args:?} as {role}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_pg_monitor_role_reads_everything_and_is_told_why_it_may_not_refresh() {
    let (db, s) = setup("role_monitor").await;
    let monitor = role(&s, &db, "monitor", "GRANT pg_monitor TO {role};").await;
    let list: serde_json::Value =
        serde_json::from_str(&mvtop_ok_as(&db, &monitor, &["list", "--format", "json"])).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["qualified_name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"rpt.admin_mv"), "{names:?}");
    mvtop_ok_as(&db, &monitor, &["locks", "--format", "json"]);
    mvtop_ok_as(&db, &monitor, &["top", "--format", "json"]);
    mvtop_ok_as(&db, &monitor, &["history", "--format", "json"]);
    mvtop_ok_as(&db, &monitor, &["schedule", "list", "--format", "json"]);

    let out = mvtop_as(&db, &monitor, &["refresh", "rpt.admin_mv"]);
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("only the owner of rpt.admin_mv (postgres) may refresh it"),
        "{text}"
    );

    // The console's inventory as this role, then a refresh through the console's engine:
    // the job ends with the same sentence.
    let m = session_as(&db, &monitor).await;
    let inventory = Inventory::fetch(&m.client, async || None, FetchOptions::default())
        .await
        .expect("inventory as pg_monitor");
    assert!(inventory.views.iter().any(|v| v.name == "admin_mv"));
    console_refresh_is_refused_with_a_reason(&db, &monitor, inventory).await;
    s.client
        .query_one("SELECT count(*) FROM public.victim", &[])
        .await
        .unwrap();
}

/// Feeds the inventory to the console's update, presses `r` (and `y` if it asks), runs the
/// refresh the way the runtime does, and checks the message line.
async fn console_refresh_is_refused_with_a_reason(db: &str, role: &str, inventory: Inventory) {
    use mvtop::tui::msg::{Effect, Msg};
    use mvtop::tui::state::State;
    use mvtop::tui::update::update;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let mut state = State::new(
        role.into(),
        false,
        std::time::Duration::from_secs(2),
        chrono::Utc::now(),
    );
    let generation = state.polling.reads.supersede(chrono::Utc::now());
    update(
        &mut state,
        Msg::Inventory {
            generation,
            result: Ok(Box::new(inventory)),
        },
    );
    mvtop::tui::update::run_command(&mut state, "filter admin_mv");
    let mut effects = update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
    );
    effects.extend(update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)),
    ));
    let spec = effects
        .iter()
        .find_map(|e| match e {
            Effect::StartRefresh(spec) => Some(spec.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{effects:?} {:?}", state.message));
    let mut params = common::cluster().params(db);
    params.set("user", role);
    let connector = common::connector(&params);
    let (executor, mut events) =
        mvtop::refresh::executor::Executor::new(connector, Some(Ledger::default()), 1);
    executor.submit(spec);
    while let Some(event) = events.recv().await {
        let done = matches!(event.state, mvtop::refresh::JobState::Finished(_));
        update(&mut state, Msg::Job(event));
        if done {
            break;
        }
    }
    let message = state.message.clone().unwrap_or_default();
    assert!(
        message.contains("only the owner of rpt.admin_mv (postgres) may refresh it"),
        "{message}"
    );
}

#[tokio::test]
async fn a_role_with_no_rights_sees_what_it_may_and_nothing_breaks() {
    let (db, s) = setup("role_nobody").await;
    s.client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
             REVOKE ALL ON pg_stat_statements FROM PUBLIC;
             REFRESH MATERIALIZED VIEW rpt.admin_mv;",
        )
        .await
        .unwrap();
    let nobody = role(&s, &db, "nobody", "").await;
    let list: serde_json::Value =
        serde_json::from_str(&mvtop_ok_as(&db, &nobody, &["list", "--format", "json"])).unwrap();
    let listed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["qualified_name"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&"rpt.admin_mv"), "{listed:?}");
    // Averages come from the ledger (readable by all), not from the hidden statistics.
    // Statement timing that cannot be read is a one-line note, not a failure.
    let top: serde_json::Value =
        serde_json::from_str(&mvtop_ok_as(&db, &nobody, &["top", "--format", "json"])).unwrap();
    assert!(
        top["statements_unavailable"]
            .as_str()
            .is_some_and(|w| w.contains("permission denied")),
        "{top}"
    );
    for args in [
        &["list"][..],
        &["locks", "--format", "json"],
        &["top", "--format", "json"],
        &["history", "--format", "json"],
        &["schedule", "list", "--format", "json"],
        &["list", "--schema", "secret", "--format", "json"],
    ] {
        mvtop_ok_as(&db, &nobody, args);
    }
    // The MV in the schema it has no USAGE on: its name is in the catalog for everyone;
    // reading or refreshing it is a one-line error, not a crash.
    for args in [
        &["refresh", "secret.hidden"][..],
        &["bench", "--runs", "1", "--warmup", "0", "secret.hidden"],
        &["refresh", "rpt.admin_mv"],
    ] {
        let out = mvtop_as(&db, &nobody, args);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.trim().is_empty(), "{args:?}: says why");
    }
    let n = session_as(&db, &nobody).await;
    Inventory::fetch(&n.client, async || None, FetchOptions::default())
        .await
        .expect("inventory with no rights");
}

fn doctor(db: &str, role: &str) -> std::collections::HashMap<String, serde_json::Value> {
    let out = mvtop_as(db, role, &["doctor", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "doctor reports, it does not fail: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["role"], role);
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["feature"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

#[tokio::test]
async fn doctor_finds_everything_for_a_superuser_and_names_what_others_miss() {
    let (db, s) = setup("doctor").await;
    s.client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .unwrap();
    let checks = doctor(&db, "postgres");
    for (feature, c) in &checks {
        // This cluster has no pg_cron: its line says so (tests/pg_cron.rs has the rest).
        let want = if feature == "pg_cron" {
            "missing"
        } else {
            "ok"
        };
        assert_eq!(c["status"], want, "{feature}: {c}");
    }
    for feature in [
        "inventory",
        "sizes",
        "refresh",
        "ledger install",
        "event triggers",
        "ledger read",
        "schedules",
        "lock waits and others' queries",
        "cancel and terminate",
        "pg_stat_statements",
        "pg_cron",
    ] {
        assert!(checks.contains_key(feature), "{feature} not checked");
    }
    let table = mvtop_ok_as(&db, "postgres", &["doctor"]);
    assert!(table.starts_with("role postgres (superuser)"), "{table}");
    assert!(table.contains("(11 rows)"), "{table}");

    // A role with no rights but its own MV: it may refresh 1 of 3.
    let nobody = role(
        &s,
        &db,
        "nobody",
        "CREATE SCHEMA mine AUTHORIZATION {role};",
    )
    .await;
    session_as(&db, &nobody)
        .await
        .client
        .batch_execute("CREATE MATERIALIZED VIEW mine.own AS SELECT 1 AS x")
        .await
        .unwrap();
    let checks = doctor(&db, &nobody);
    let status = |f: &str| checks[f]["status"].as_str().unwrap().to_string();
    let detail = |f: &str| checks[f]["detail"].as_str().unwrap().to_string();
    let needs = |f: &str| checks[f]["needs"].as_str().unwrap_or("").to_string();
    assert_eq!(status("refresh"), "partial");
    assert!(
        detail("refresh")
            .contains("cannot refresh 2 of 3 materialized views: rpt.admin_mv, secret.hidden"),
        "{}",
        detail("refresh")
    );
    assert_eq!(status("inventory"), "partial", "secret has no USAGE");
    assert_eq!(status("ledger install"), "ok", "installed by postgres");
    assert_eq!(status("event triggers"), "ok", "installed by postgres");
    assert_eq!(status("ledger read"), "ok");
    assert_eq!(status("schedules"), "partial");
    assert!(detail("schedules").contains("(postgres)"));
    assert_eq!(status("lock waits and others' queries"), "partial");
    assert!(needs("lock waits and others' queries").contains("pg_read_all_stats"));
    assert_eq!(status("cancel and terminate"), "partial");
    assert!(needs("cancel and terminate").contains("pg_signal_backend"));
    assert_eq!(status("pg_stat_statements"), "partial");

    // Without the ledger: install is what it misses (no CREATE on the database).
    let (bare, bs) = common::fresh_db("doctor_bare").await;
    let nobody2 = role(&bs, &bare, "nobody", "").await;
    let checks = doctor(&bare, &nobody2);
    assert_eq!(checks["ledger install"]["status"], "missing");
    assert!(
        checks["ledger install"]["needs"]
            .as_str()
            .unwrap()
            .contains("GRANT CREATE ON DATABASE"),
        "{}",
        checks["ledger install"]
    );
    assert_eq!(checks["event triggers"]["status"], "missing");
    assert_eq!(checks["ledger read"]["status"], "missing");
    assert_eq!(checks["pg_stat_statements"]["status"], "missing");

    // It cannot connect: exit 2, one line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mvtop"))
        .args(["-d", &conninfo_as(&bare, "no_such_role"), "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
