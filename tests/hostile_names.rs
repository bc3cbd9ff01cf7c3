//! Hostile identifiers on every path that takes a name: `list`, `refresh`, `bench`,
//! `schedule set/list/rm`, `history`, the daemon, and the console's filter and copy.
//! Schemas and MVs with spaces, quotes, backslashes, `;`, `--`, `'`, unicode and 63-byte
//! names (NAMEDATALEN - 1, also made of 2-byte characters); injection attempts through
//! names must leave the victim table alone and refresh exactly the MV named.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use mvtop::catalog::inventory::Inventory;
use mvtop::inventory::FetchOptions;
use mvtop::pgconn::Session;

/// SQL's quoting, written out here rather than taken from the code under test.
fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// (schema, MV) pairs. Each MV reads `public.src` with its own filter `k = i`, so a refresh
/// of the wrong MV shows.
fn hostile() -> Vec<(String, String)> {
    let ascii63 = format!("long_{}", "x".repeat(58));
    let utf8_63 = format!("{}a", "é".repeat(31));
    assert_eq!(ascii63.len(), 63);
    assert_eq!(utf8_63.len(), 63);
    vec![
        (
            r#"x"; DROP TABLE victim; --"#.into(),
            r#"x'); DROP TABLE victim; --"#.into(),
        ),
        (
            r#"x'); DROP TABLE victim; --"#.into(),
            r#"x"; DROP TABLE victim; --"#.into(),
        ),
        (r"Back\slash ; -- 'q'".into(), r#"Sales "EU" é \ ;"#.into()),
        ("ünï cødé 東京".into(), "mv with  spaces".into()),
        (ascii63.clone(), utf8_63.clone()),
        (utf8_63, ascii63),
        // Decoys: what a name cut at a quote, a semicolon or a dot would find.
        ("x".into(), "x".into()),
        ("public".into(), "x".into()),
    ]
}

fn fixture() -> String {
    let mut sql = String::from(
        "CREATE TABLE public.victim (id int);
         INSERT INTO public.victim VALUES (1);
         CREATE TABLE public.src (k int NOT NULL, v int NOT NULL);
         INSERT INTO public.src SELECT g % 10, g FROM generate_series(1, 100) g;\n",
    );
    for (i, (schema, mv)) in hostile().iter().enumerate() {
        if schema != "public" {
            sql.push_str(&format!("CREATE SCHEMA IF NOT EXISTS {};\n", q(schema)));
        }
        sql.push_str(&format!(
            "CREATE MATERIALIZED VIEW {}.{} AS SELECT count(*) AS n FROM public.src WHERE k = {i};\n",
            q(schema),
            q(mv)
        ));
    }
    sql
}

async fn setup(tag: &str) -> (String, Session) {
    let (db, s) = common::fresh_db_with(tag, &fixture(), true).await;
    (db, s)
}

/// How the user types it: `"schema"."name"`.
fn typed(schema: &str, mv: &str) -> String {
    format!("{}.{}", q(schema), q(mv))
}

fn mvtop_ok(db: &str, args: &[&str]) -> String {
    let out = common::mvtop(db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mvtop {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_ok(db: &str, args: &[&str]) -> serde_json::Value {
    let out = mvtop_ok(db, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// The victim is there, and every MV's row count as stored now.
async fn counts(s: &Session) -> Vec<i64> {
    let victim: i64 = s
        .client
        .query_one("SELECT count(*) FROM public.victim", &[])
        .await
        .expect("the victim table survives")
        .get(0);
    assert_eq!(victim, 1);
    let mut out = Vec::new();
    for (schema, mv) in hostile() {
        let n: i64 = s
            .client
            .query_one(&format!("SELECT n FROM {}.{}", q(&schema), q(&mv)), &[])
            .await
            .unwrap()
            .get(0);
        out.push(n);
    }
    out
}

/// One more row for every MV's filter, so each refresh shows in its count.
async fn write_more(s: &Session) {
    s.client
        .batch_execute("INSERT INTO public.src SELECT g, 1000 FROM generate_series(0, 9) g")
        .await
        .unwrap();
}

#[tokio::test]
async fn list_refresh_history_and_bench_take_hostile_names_and_refresh_only_the_one_named() {
    let (db, s) = setup("hostile_cli").await;
    let names = hostile();

    let list = json_ok(&db, &["list", "--format", "json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), names.len(), "{list:?}");
    for (schema, mv) in &names {
        let found = list
            .iter()
            .find(|v| v["schema"] == schema.as_str() && v["name"] == mv.as_str())
            .unwrap_or_else(|| panic!("{schema}.{mv} not listed"));
        // The qualified name is valid SQL for this very MV.
        let qn = found["qualified_name"].as_str().unwrap();
        let n: i64 = s
            .client
            .query_one(&format!("SELECT count(*) FROM {qn}"), &[])
            .await
            .unwrap_or_else(|e| panic!("{qn}: {e}"))
            .get(0);
        assert_eq!(n, 1);
        // PATTERN: the name itself as a glob (case-insensitive) finds it.
        let by_pattern = json_ok(&db, &["list", "--format", "json", mv]);
        assert!(
            by_pattern
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["schema"] == schema.as_str() && v["name"] == mv.as_str()),
            "PATTERN {mv:?}: {by_pattern}"
        );
        // --schema narrows to the schema's MVs.
        let only = json_ok(&db, &["list", "--format", "json", "--schema", schema]);
        let only = only.as_array().unwrap();
        assert!(
            only.iter().all(|v| v["schema"] == schema.as_str()) && !only.is_empty(),
            "--schema {schema}: {only:?}"
        );
    }
    // The table output holds every name, escapes and all, without breaking a line.
    let table = mvtop_ok(&db, &["list"]);
    assert!(
        table.contains(&format!("({} rows)", names.len())),
        "{table}"
    );

    for (i, (schema, mv)) in names.iter().enumerate() {
        write_more(&s).await;
        let before = counts(&s).await;
        let name = typed(schema, mv);
        let out = json_ok(&db, &["refresh", "--format", "json", &name]);
        assert_eq!(out[0]["schema"], schema.as_str(), "{out}");
        assert_eq!(out[0]["name"], mv.as_str(), "{out}");
        assert_eq!(out[0]["outcome"], "ok", "{out}");
        let after = counts(&s).await;
        for (j, (b, a)) in before.iter().zip(&after).enumerate() {
            if i == j {
                assert!(a > b, "{name} was not refreshed: {b} -> {a}");
            } else {
                assert_eq!(a, b, "refreshing {name} refreshed {:?}", names[j]);
            }
        }
        let history = json_ok(&db, &["history", "--format", "json", &name]);
        let history = history.as_array().unwrap();
        assert_eq!(history.len(), 1, "{name}: {history:?}");
        assert_eq!(history[0]["schema"], schema.as_str());
        assert_eq!(history[0]["name"], mv.as_str());

        let bench = json_ok(
            &db,
            &[
                "bench", "--runs", "1", "--warmup", "0", "--format", "json", &name,
            ],
        );
        assert!(bench["mv_ms"]["median"].is_number(), "{name}: {bench}");
        // Both sides read the same row.
        let rows: Vec<i64> = bench["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["rows"].as_i64().unwrap())
            .collect();
        assert!(rows.iter().all(|r| *r == 1), "{name}: {bench}");
    }
    counts(&s).await;

    // A name typed unqualified where it is unique; a wrong one is a one-line error.
    let out = common::mvtop(&db)
        .args(["refresh", &q(r#"x"; DROP TABLE victim; --"#)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Longer than 63 bytes: cut where PostgreSQL cuts it (a character boundary), as psql
    // would find it.
    let ascii63 = format!("long_{}", "x".repeat(58));
    let utf8_63 = format!("{}a", "é".repeat(31));
    let typed_long = format!(
        "{}.{}",
        q(&format!("{ascii63}zzz")),
        q(&format!("{utf8_63}bcd"))
    );
    let out = json_ok(&db, &["refresh", "--format", "json", &typed_long]);
    assert_eq!(out[0]["schema"], ascii63.as_str(), "{out}");
    assert_eq!(out[0]["name"], utf8_63.as_str(), "{out}");
    let out = common::mvtop(&db)
        .args(["refresh", "x; DROP TABLE victim; --"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    counts(&s).await;
}

#[tokio::test]
async fn schedules_and_the_daemon_take_hostile_names() {
    let (db, s) = setup("hostile_sched").await;
    let names = hostile();
    for (schema, mv) in &names {
        mvtop_ok(
            &db,
            &["schedule", "set", &typed(schema, mv), "--every", "1s"],
        );
    }
    let list = json_ok(&db, &["schedule", "list", "--format", "json"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), names.len(), "{list:?}");
    for (schema, mv) in &names {
        assert!(
            list.iter()
                .any(|l| l["schema"] == schema.as_str() && l["name"] == mv.as_str()),
            "{schema}.{mv} not in {list:?}"
        );
    }
    assert!(mvtop_ok(&db, &["schedule", "list"]).contains(&format!("({} rows)", names.len())));
    for (schema, mv) in &names {
        let advice = json_ok(
            &db,
            &["schedule", "advise", "--format", "json", &typed(schema, mv)],
        );
        let advice = advice.as_array().unwrap();
        assert_eq!(advice.len(), 1, "advise {schema}.{mv}: {advice:?}");
        let qn = advice[0]["qualified_name"].as_str().unwrap();
        let row = s
            .client
            .query_one(
                "SELECT n.nspname::text, c.relname::text FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::text::regclass",
                &[&qn],
            )
            .await
            .unwrap_or_else(|e| panic!("{qn}: {e}"));
        assert_eq!(
            (row.get::<_, String>(0), row.get::<_, String>(1)),
            (schema.clone(), mv.clone())
        );
    }

    let mut daemon = common::mvtop(&db)
        .args(["daemon", "--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut missing = names.clone();
    while !missing.is_empty() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(300));
        let mut still = Vec::new();
        for (schema, mv) in missing {
            let n: i64 = s
                .client
                .query_one(
                    "SELECT count(*) FROM mvtop.refresh_log
                     WHERE mv_schema = $1 AND mv_name = $2 AND source = 'schedule'
                       AND outcome = 'ok'",
                    &[&schema, &mv],
                )
                .await
                .unwrap()
                .get(0);
            if n == 0 {
                still.push((schema, mv));
            }
        }
        missing = still;
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    assert!(
        missing.is_empty(),
        "never refreshed by the daemon: {missing:?}"
    );
    assert!(status.success(), "{status:?}");
    let bad: i64 = s
        .client
        .query_one(
            "SELECT count(*) FROM mvtop.refresh_log WHERE outcome <> 'ok'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(bad, 0);
    counts(&s).await;

    for (schema, mv) in &names {
        mvtop_ok(&db, &["schedule", "rm", &typed(schema, mv)]);
    }
    let list = json_ok(&db, &["schedule", "list", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    counts(&s).await;
}

#[tokio::test]
async fn the_console_filters_and_copies_hostile_names_as_valid_sql() {
    use mvtop::tui::msg::{Effect, Msg};
    use mvtop::tui::state::State;
    use mvtop::tui::update::update;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let (_db, s) = setup("hostile_console").await;
    let inventory = Inventory::fetch(&s.client, async || None, FetchOptions::default())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let mut state = State::new("test".into(), true, Duration::from_secs(2), now);
    let generation = state.polling.reads.supersede(chrono::Utc::now());
    update(
        &mut state,
        Msg::Inventory {
            generation,
            result: Ok(Box::new(inventory)),
        },
    );
    let press =
        |state: &mut State, code| update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    for (schema, mv) in hostile() {
        // The filter takes the MV's own name, typed (regex characters and all).
        press(&mut state, KeyCode::Char('/'));
        for c in mv.chars() {
            press(&mut state, KeyCode::Char(c));
        }
        press(&mut state, KeyCode::Enter);
        let visible: Vec<(String, String)> = state
            .visible
            .iter()
            .map(|&i| (state.views[i].schema.clone(), state.views[i].name.clone()))
            .collect();
        assert!(
            visible.contains(&(schema.clone(), mv.clone())),
            "filter {mv:?}: {visible:?}"
        );
        // Select it and copy: the qualified name is SQL for this very MV.
        press(&mut state, KeyCode::Char('g'));
        while state
            .selected_view()
            .map(|v| (v.schema.clone(), v.name.clone()))
            != Some((schema.clone(), mv.clone()))
        {
            let before = state.selected;
            press(&mut state, KeyCode::Down);
            assert_ne!(
                before, state.selected,
                "{mv:?} not reachable in {visible:?}"
            );
        }
        let effects = press(&mut state, KeyCode::Char('y'));
        let [Effect::Copy(copied)] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        let row = s
            .client
            .query_one(
                &format!("SELECT c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = '{}'::regclass",
                    copied.replace('\'', "''")),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{copied}: {e}"));
        assert_eq!(
            (row.get::<_, String>(1), row.get::<_, String>(0)),
            (schema, mv)
        );
        press(&mut state, KeyCode::Esc);
    }
    counts(&s).await;
}
