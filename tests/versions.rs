//! The version suite: the same checks on every PostgreSQL major the machine has (the
//! system's server, plus those `MVTOP_TEST_PG_BINDIRS` names; `.ci/run` fetches 14, 16, 17
//! and 18), all majors at once: the inventory's cases, refreshes recorded by mvtop and by
//! the event trigger, a lock wait with its blocker and wait time, top's pg_stat_statements
//! deltas, a benchmark, a schedule the daemon runs, doctor, the console in tmux, and on 17+
//! a role granted MAINTAIN refreshing an MV it does not own.

mod common;

use std::time::Duration;

use common::versions::{Server, on_every_major};
use serde_json::Value;

const FIXTURE: &str = r#"
CREATE EXTENSION pg_stat_statements;
CREATE SCHEMA app;
CREATE SCHEMA rpt;
CREATE SCHEMA "Reporting";
GRANT USAGE ON SCHEMA rpt TO PUBLIC;
CREATE TABLE app.orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric NOT NULL);
CREATE TABLE app.customers (id int PRIMARY KEY, region text NOT NULL);
INSERT INTO app.customers SELECT g, (ARRAY['eu','us','apac'])[1+g%3] FROM generate_series(1,100) g;
INSERT INTO app.orders SELECT g, 1+g%100, g%500 FROM generate_series(1,5000) g;
CREATE VIEW app.v_orders AS SELECT o.id, o.amount, c.region FROM app.orders o JOIN app.customers c ON c.id = o.customer_id;
CREATE MATERIALIZED VIEW rpt.mv_region AS SELECT region, sum(amount) AS total, count(*) AS n FROM app.v_orders GROUP BY region;
CREATE UNIQUE INDEX mv_region_uk ON rpt.mv_region (region);
CREATE MATERIALIZED VIEW rpt.mv_top AS SELECT region, total FROM rpt.mv_region WHERE total > 0;
CREATE UNIQUE INDEX mv_top_partial ON rpt.mv_top (region) WHERE total > 0;
CREATE VIEW app.v_top AS SELECT region, total FROM rpt.mv_top;
CREATE MATERIALIZED VIEW rpt.mv_via_view AS SELECT region FROM app.v_top;
CREATE MATERIALIZED VIEW rpt.mv_expr AS SELECT id, 'k' || id AS k FROM app.orders WHERE id <= 100;
CREATE UNIQUE INDEX mv_expr_uk ON rpt.mv_expr (lower(k));
CREATE MATERIALIZED VIEW rpt.mv_incl AS SELECT id, customer_id FROM app.orders WHERE id <= 100;
CREATE UNIQUE INDEX mv_incl_uk ON rpt.mv_incl (id) INCLUDE (customer_id);
CREATE MATERIALIZED VIEW rpt.mv_empty AS SELECT id FROM app.orders WITH NO DATA;
CREATE UNIQUE INDEX mv_empty_uk ON rpt.mv_empty (id);
CREATE MATERIALIZED VIEW "Reporting"."Sales by Region" AS SELECT * FROM rpt.mv_region;
CREATE MATERIALIZED VIEW "Reporting"."top""customers_é" AS SELECT 1 AS x;
CREATE VIEW app.v_cyc AS SELECT 1 AS x;
CREATE MATERIALIZED VIEW rpt.mv_cyc AS SELECT x FROM app.v_cyc;
CREATE OR REPLACE VIEW app.v_cyc AS SELECT x FROM rpt.mv_cyc;
"#;

/// A new database on `server` with the fixture (and the ledger when asked).
async fn setup(server: &Server, tag: &str, ledger: bool) -> (String, mvtop::pgconn::Session) {
    common::fresh_db_with_on(&server.cluster, tag, FIXTURE, ledger).await
}

fn mvtop(server: &Server, db: &str, args: &[&str]) -> std::process::Output {
    common::mvtop_on(&server.cluster, db)
        .args(args)
        .output()
        .unwrap()
}

fn json(server: &Server, db: &str, args: &[&str]) -> Value {
    common::json_of(&mvtop(server, db, args))
}

fn find<'a>(items: &'a Value, key: &str, value: &str) -> &'a Value {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .find(|v| v[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {items:#}"))
}

#[test]
fn the_inventory_cases() {
    on_every_major("the inventory cases", async |server| {
        let (db, s) = setup(server, "inventory", false).await;
        let list = json(server, &db, &["list", "--format", "json"]);
        assert_eq!(list.as_array().unwrap().len(), 9, "{list:#}");
        let region = find(&list, "qualified_name", "rpt.mv_region");
        assert_eq!(region["concurrent_ready"], true);
        assert_eq!(region["unique_index"], "mv_region_uk");
        assert!(region["total_bytes"].as_i64().unwrap() > 0);
        assert_eq!(region["depends_on"], serde_json::json!(["app.v_orders"]));
        assert_eq!(region["refresh_level"], 0);
        assert_eq!(region["downstream_mvs"].as_array().unwrap().len(), 2);
        let incl = find(&list, "qualified_name", "rpt.mv_incl");
        assert_eq!(incl["concurrent_ready"], true, "INCLUDE columns qualify");
        for no in ["rpt.mv_top", "rpt.mv_expr"] {
            assert_eq!(
                find(&list, "qualified_name", no)["concurrent_ready"],
                false,
                "{no}"
            );
        }
        let via = find(&list, "qualified_name", "rpt.mv_via_view");
        assert_eq!(via["upstream_mvs"], serde_json::json!(["rpt.mv_top"]));
        assert_eq!(via["refresh_level"], 2);
        let empty = find(&list, "qualified_name", "rpt.mv_empty");
        assert_eq!(empty["populated"], false);
        assert_eq!(empty["status"], "never_populated");
        let sales = find(&list, "qualified_name", r#""Reporting"."Sales by Region""#);
        assert_eq!(sales["name"], "Sales by Region");
        find(&list, "name", "top\"customers_é");
        assert_eq!(
            find(&list, "qualified_name", "rpt.mv_cyc")["in_cycle"],
            true
        );
        // The claim matches what the server accepts.
        for v in list.as_array().unwrap() {
            let sql = format!(
                "REFRESH MATERIALIZED VIEW CONCURRENTLY {}",
                v["qualified_name"].as_str().unwrap()
            );
            let accepted = s.client.batch_execute(&sql).await.is_ok();
            assert_eq!(
                Value::Bool(accepted),
                v["concurrent_ready"],
                "{}",
                v["qualified_name"]
            );
        }
    });
}

#[test]
fn refreshes_recorded_by_mvtop_and_by_the_event_trigger() {
    on_every_major("refreshes recorded", async |server| {
        let (db, _s) = setup(server, "recorded", false).await;
        let install = mvtop(server, &db, &["install"]);
        let said = String::from_utf8_lossy(&install.stdout);
        assert!(install.status.success(), "{install:?}");
        assert!(said.contains("refreshes made by any client"), "{said}");
        let refresh = json(
            server,
            &db,
            &[
                "refresh",
                "--format",
                "json",
                r#""Reporting"."Sales by Region""#,
            ],
        );
        assert_eq!(refresh[0]["outcome"], "ok", "{refresh:#}");
        let other = common::session_on(&server.cluster, &db).await;
        other
            .client
            .batch_execute("SET application_name = 'cron'; REFRESH MATERIALIZED VIEW rpt.mv_top")
            .await
            .unwrap();
        let runs = json(server, &db, &["history", "--format", "json"]);
        assert_eq!(runs.as_array().unwrap().len(), 2, "{runs:#}");
        let mine = find(&runs, "name", "Sales by Region");
        assert_eq!(
            (&mine["source"], &mine["outcome"]),
            (&"cli".into(), &"ok".into())
        );
        let theirs = find(&runs, "name", "mv_top");
        assert_eq!(theirs["source"], "external");
        assert_eq!(theirs["client_application"], "cron");
        assert!(theirs["duration_ms"].as_f64().unwrap() >= 0.0);
        let list = json(server, &db, &["list", "--format", "json"]);
        let top = find(&list, "qualified_name", "rpt.mv_top");
        assert_eq!(top["refresh_stats_source"], "ledger");
        assert_eq!(top["refresh_count"], 1);
    });
}

#[test]
fn a_function_naming_a_table_without_its_schema() {
    on_every_major("the safe search_path of 17", async |server| {
        let (db, s) = setup(server, "searchpath", true).await;
        // Made while the function still qualified its table, as on a server upgraded to 17.
        s.client
            .batch_execute(
                "CREATE TABLE public.counted (x int); INSERT INTO public.counted VALUES (1);
                 CREATE FUNCTION public.n_counted() RETURNS bigint LANGUAGE sql STABLE
                   AS 'SELECT count(*) FROM public.counted';
                 CREATE MATERIALIZED VIEW rpt.mv_fn AS SELECT public.n_counted() AS n;
                 CREATE OR REPLACE FUNCTION public.n_counted() RETURNS bigint LANGUAGE sql
                   STABLE AS 'SELECT count(*) FROM counted';",
            )
            .await
            .unwrap();
        let out = mvtop(server, &db, &["refresh", "--format", "json", "rpt.mv_fn"]);
        let result = serde_json::from_slice::<Value>(&out.stdout).unwrap();
        let error = result[0]["error"].as_str().unwrap_or_default();
        if server.major >= 17 {
            assert_eq!(out.status.code(), Some(1), "{out:?}");
            assert_eq!(result[0]["outcome"], "failed");
            assert!(
                error.contains(r#"relation "counted" does not exist"#),
                "{error}"
            );
            assert!(
                error.contains("PostgreSQL 17+ refreshes with search_path"),
                "{error}"
            );
            let runs = json(server, &db, &["history", "rpt.mv_fn", "--format", "json"]);
            assert_eq!(runs[0]["error"], error, "recorded with the hint");
        } else {
            assert!(out.status.success(), "the caller's search_path: {out:?}");
            assert_eq!(result[0]["outcome"], "ok");
        }
    });
}

#[test]
fn a_lock_wait_with_its_blocker_and_wait_time() {
    on_every_major("a lock wait", async |server| {
        let (db, monitor) = setup(server, "lockwait", false).await;
        let holder = common::session_on(&server.cluster, &db).await;
        let holder_pid: i32 = holder
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        holder
            .client
            .batch_execute(
                "SET application_name = 'etl'; BEGIN; SELECT count(*) FROM rpt.mv_region",
            )
            .await
            .unwrap();
        let refresher = common::session_on(&server.cluster, &db).await;
        refresher
            .client
            .batch_execute("SET lock_timeout = 0; SET statement_timeout = 0")
            .await
            .unwrap();
        let refresh = tokio::spawn(async move {
            refresher
                .client
                .batch_execute("REFRESH MATERIALIZED VIEW rpt.mv_region")
                .await
        });
        for _ in 0..100 {
            let waiting = monitor
                .client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                    &[&db],
                )
                .await
                .unwrap()
                .get::<_, i64>(0);
            if waiting == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let locks = json(server, &db, &["locks", "--format", "json"]);
        let w = find(&locks, "database", &db);
        assert_eq!(w["wait_relation"], "rpt.mv_region");
        assert_eq!(w["wait_mode"], "AccessExclusiveLock");
        assert_eq!(w["refresh_of"], "rpt.mv_region");
        assert!(w["waiting_ms"].as_f64().unwrap() >= 300.0, "{w:#}");
        assert_eq!(w["waiting_estimated"], false, "pg_locks.waitstart from 14");
        let b = &w["blocked_by"][0];
        assert_eq!(b["pid"], holder_pid);
        assert_eq!(b["application"], "etl");
        assert_eq!(b["holds_modes"], serde_json::json!(["AccessShareLock"]));
        holder.client.batch_execute("COMMIT").await.unwrap();
        refresh.await.unwrap().unwrap();
    });
}

#[test]
fn top_with_pg_stat_statements_deltas() {
    on_every_major("top", async |server| {
        let (db, s) = setup(server, "top", false).await;
        s.client
            .batch_execute("SELECT pg_stat_statements_reset()")
            .await
            .unwrap();
        let child = common::mvtop_on(&server.cluster, &db)
            .args(["top", "--format", "json", "--interval", "3s"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let work = common::session_on(&server.cluster, &db).await;
        for i in 0..7 {
            work.client
                .query(
                    "SELECT count(*) FROM app.orders WHERE customer_id = $1",
                    &[&i],
                )
                .await
                .unwrap();
        }
        for _ in 0..2 {
            work.client
                .batch_execute("REFRESH MATERIALIZED VIEW rpt.mv_top")
                .await
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let report = common::json_of(&out);
        assert_eq!(report["statements_unavailable"], Value::Null, "{report:#}");
        let statements = &report["statements"];
        let counted = find(
            statements,
            "query",
            "SELECT count(*) FROM app.orders WHERE customer_id = $1",
        );
        assert_eq!(counted["calls"], 7, "only the calls of the window");
        assert_eq!(counted["rows"], 7);
        let refresh = find(statements, "refresh_of", "rpt.mv_top");
        assert_eq!(refresh["calls"], 2);
        assert!(refresh["mean_ms"].as_f64().unwrap() > 0.0);
        // The refresh averages of the inventory come from pg_stat_statements too.
        let list = json(server, &db, &["list", "--format", "json"]);
        let top = find(&list, "qualified_name", "rpt.mv_top");
        assert_eq!(top["refresh_stats_source"], "pg_stat_statements", "{top:#}");
        assert_eq!(top["refresh_count"], 2);
    });
}

#[test]
fn a_benchmark() {
    on_every_major("a benchmark", async |server| {
        let (db, _s) = setup(server, "bench", true).await;
        let report = json(
            server,
            &db,
            &[
                "bench",
                "rpt.mv_region",
                "--runs",
                "2",
                "--warmup",
                "0",
                "--with-refresh",
                "--format",
                "json",
            ],
        );
        assert_eq!(report["target"]["kind"], "materialized_view");
        assert_eq!(report["view_ms"]["runs"], 2);
        assert_eq!(report["mv_ms"]["runs"], 2);
        assert_eq!(report["refresh_ms"]["runs"], 2);
        assert!(report["speedup"].as_f64().unwrap() > 0.0, "{report:#}");
        let case = &report["cases"][0];
        assert!(
            case["server_ms"]["median"].as_f64().unwrap() >= 0.0,
            "{case:#}"
        );
        assert_eq!(case["rows"], 3);
        // A plain view: a temporary MV of it, rolled back.
        let view = json(
            server,
            &db,
            &[
                "bench",
                "app.v_orders",
                "--runs",
                "1",
                "--warmup",
                "0",
                "--format",
                "json",
            ],
        );
        assert_eq!(view["target"]["kind"], "view");
        assert_eq!(view["create_ms"]["runs"], 1);
    });
}

#[test]
fn a_schedule_the_daemon_runs() {
    on_every_major("a schedule", async |server| {
        let (db, _s) = setup(server, "schedule", true).await;
        let set = mvtop(
            server,
            &db,
            &["schedule", "set", "rpt.mv_region", "--every", "1s"],
        );
        assert!(set.status.success(), "{set:?}");
        let daemon = common::daemon::Daemon::start(common::mvtop_on(&server.cluster, &db), &[]);
        daemon.wait_for_event("finished", 0, Duration::from_secs(30));
        let (status, log) = daemon.terminate();
        assert!(status.success(), "{log:?}");
        let finished = log.iter().find(|l| l["event"] == "finished").unwrap();
        assert_eq!(finished["outcome"], "ok", "{finished}");
        let runs = json(
            server,
            &db,
            &["history", "rpt.mv_region", "--format", "json"],
        );
        let run = &runs[0];
        assert_eq!(
            (&run["source"], &run["outcome"]),
            (&"schedule".into(), &"ok".into())
        );
        let schedules = json(server, &db, &["schedule", "list", "--format", "json"]);
        assert!(schedules[0]["next_run"].is_string(), "{schedules:#}");
    });
}

/// doctor's checks by feature.
fn doctor(server: &Server, db: &str, user: &str) -> std::collections::HashMap<String, Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mvtop"))
        .args([
            "-d",
            &format!("{} user='{user}'", server.cluster.conninfo(db)),
            "doctor",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    common::json_of(&out)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["feature"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

#[test]
fn doctor_and_the_maintain_privilege() {
    on_every_major("doctor", async |server| {
        let (db, s) = setup(server, "doctor", true).await;
        let checks = doctor(server, &db, "postgres");
        for feature in [
            "refresh",
            "ledger read",
            "event triggers",
            "pg_stat_statements",
        ] {
            assert_eq!(
                checks[feature]["status"], "ok",
                "{feature}: {}",
                checks[feature]
            );
        }
        let role = format!("{db}_maint");
        s.client
            .batch_execute(&format!(
                "CREATE ROLE \"{role}\" LOGIN; GRANT CONNECT ON DATABASE \"{db}\" TO \"{role}\";"
            ))
            .await
            .unwrap();
        let grant = s
            .client
            .batch_execute(&format!("GRANT MAINTAIN ON rpt.mv_region TO \"{role}\""))
            .await;
        let as_role = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_mvtop"))
                .args([
                    "-d",
                    &format!("{} user='{role}'", server.cluster.conninfo(&db)),
                ])
                .args(args)
                .output()
                .unwrap()
        };
        let refresh = as_role(&["refresh", "--concurrently", "never", "rpt.mv_region"]);
        let said = String::from_utf8_lossy(&refresh.stdout);
        let checks = doctor(server, &db, &role);
        let refresh_check = &checks["refresh"];
        if server.major >= 17 {
            grant.expect("MAINTAIN exists from 17");
            assert!(refresh.status.success(), "{refresh:?}");
            let runs = json(
                server,
                &db,
                &["history", "rpt.mv_region", "--format", "json"],
            );
            assert_eq!(runs[0]["db_user"], role.as_str(), "{runs:#}");
            assert_eq!(runs[0]["outcome"], "ok");
            assert_eq!(refresh_check["status"], "partial", "{refresh_check}");
            let detail = refresh_check["detail"].as_str().unwrap();
            assert!(detail.contains("1 through MAINTAIN"), "{detail}");
        } else {
            let e = grant.expect_err("no MAINTAIN before 17");
            let e = e.as_db_error().map(|d| d.message().to_string());
            assert!(
                e.as_deref().is_some_and(|m| m.contains("maintain")),
                "{e:?}"
            );
            assert_eq!(refresh.status.code(), Some(1), "{refresh:?}");
            assert!(said.contains("only the owner of rpt.mv_region"), "{said}");
            assert_eq!(refresh_check["status"], "missing", "{refresh_check}");
        }
    });
}

#[test]
fn the_console_in_tmux() {
    on_every_major("the console", async |server| {
        let (db, s) = setup(server, "console", true).await;
        let conninfo = server.cluster.conninfo(&db);
        let tmux = common::tmux::Tmux::start(&format!(
            "{} -d '{conninfo}' --no-scheduler; echo MVTOP_EXITED $?; sleep 30",
            env!("CARGO_BIN_EXE_mvtop")
        ));
        let screen = tmux.wait_for_within("rpt.mv_region", Duration::from_secs(30));
        assert!(
            screen.contains(&format!("PG {}", server.version)),
            "{screen}"
        );
        assert!(screen.contains("primary"), "{screen}");
        assert!(screen.contains("ledger: yes"), "{screen}");
        tmux.keys(&["/", "mv_region", "Enter", "r"]);
        tmux.wait_for_within(
            "refreshed rpt.mv_region (concurrently)",
            Duration::from_secs(30),
        );
        let runs = s
            .client
            .query("SELECT source, outcome FROM mvtop.refresh_log", &[])
            .await
            .unwrap();
        let runs: Vec<(String, String)> = runs.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(runs, [("console".to_string(), "ok".to_string())]);
        // The locks and statements panes open on every major.
        tmux.keys(&["Escape", "4"]);
        tmux.wait_for(" 4 locks: ");
        tmux.keys(&["5"]);
        tmux.wait_for(" 5 running: ");
        tmux.keys(&["q"]);
        tmux.wait_for("MVTOP_EXITED 0");
    });
}
