//! `mvtop list` as a script sees it: the JSON contract, CSV, the table, patterns, errors.

mod common;

use std::process::Output;

const FIXTURE: &str = r#"
CREATE SCHEMA rpt;
CREATE SCHEMA "Reporting";
CREATE TABLE rpt.t (id int PRIMARY KEY, v int);
INSERT INTO rpt.t SELECT g, g % 7 FROM generate_series(1, 1000) g;
CREATE MATERIALIZED VIEW rpt.builds_hourly AS SELECT v, count(*) AS n FROM rpt.t GROUP BY v;
CREATE UNIQUE INDEX builds_hourly_uk ON rpt.builds_hourly (v);
CREATE MATERIALIZED VIEW rpt.stats_daily AS SELECT sum(n) AS n FROM rpt.builds_hourly;
CREATE MATERIALIZED VIEW "Reporting"."Sales, ""EU"" é" AS SELECT 1 AS x WITH NO DATA;
"#;

const REQUIRED_FIELDS: [&str; 22] = [
    "oid",
    "schema",
    "name",
    "owner",
    "populated",
    "total_bytes",
    "heap_bytes",
    "index_bytes",
    "rows_estimate",
    "concurrent_ready",
    "unique_index",
    "depends_on",
    "upstream_mvs",
    "downstream_mvs",
    "refresh_level",
    "last_refresh",
    "last_refresh_ms",
    "avg_refresh_ms",
    "refresh_count",
    "refresh_stats_source",
    "status",
    "definition",
];

async fn db(tag: &str) -> String {
    let (name, s) = common::fresh_db(tag).await;
    s.client.batch_execute(FIXTURE).await.expect("fixture");
    name
}

fn run(db: &str, args: &[&str]) -> Output {
    common::mvtop(db)
        .arg("list")
        .args(args)
        .output()
        .expect("run mvtop")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn json_has_every_contracted_field_with_the_right_types() {
    let db = db("json").await;
    let o = run(&db, &["--format", "json"]);
    let json = common::json_of(&o);
    let views = json.as_array().unwrap();
    assert_eq!(views.len(), 3);
    for v in views {
        for f in REQUIRED_FIELDS {
            assert!(v.get(f).is_some(), "field {f} missing in {v}");
        }
    }
    let hourly = views.iter().find(|v| v["name"] == "builds_hourly").unwrap();
    assert_eq!(hourly["schema"], "rpt");
    assert_eq!(hourly["concurrent_ready"], true);
    assert_eq!(hourly["unique_index"], "builds_hourly_uk");
    assert_eq!(hourly["depends_on"], serde_json::json!(["rpt.t"]));
    assert_eq!(
        hourly["downstream_mvs"],
        serde_json::json!(["rpt.stats_daily"])
    );
    assert!(hourly["total_bytes"].as_i64().unwrap() > 0);
    assert!(hourly["oid"].as_u64().unwrap() > 0);
    let daily = views.iter().find(|v| v["name"] == "stats_daily").unwrap();
    assert_eq!(daily["refresh_level"], 1);
    assert_eq!(
        daily["upstream_mvs"],
        serde_json::json!(["rpt.builds_hourly"])
    );
    let odd = views.iter().find(|v| v["schema"] == "Reporting").unwrap();
    assert_eq!(odd["name"], "Sales, \"EU\" é");
    assert_eq!(
        odd["qualified_name"],
        "\"Reporting\".\"Sales, \"\"EU\"\" é\""
    );
    assert_eq!(odd["status"], "never_populated");
    assert_eq!(odd["populated"], false);
}

#[tokio::test]
async fn pattern_and_schema_filter() {
    let db = db("pattern").await;
    let o = run(&db, &["--format", "json", "*_daily"]);
    let json = common::json_of(&o);
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stats_daily"]);
    let o = run(&db, &["--format", "json", "--schema", "Reporting"]);
    let json = common::json_of(&o);
    assert_eq!(json.as_array().unwrap().len(), 1);
    let o = run(&db, &["rpt.builds_*"]);
    assert!(stdout(&o).contains("builds_hourly") && !stdout(&o).contains("stats_daily"));
}

#[tokio::test]
async fn no_match_prints_nothing_and_exits_zero() {
    let db = db("nomatch").await;
    let o = run(&db, &["no_such_mv*"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[tokio::test]
async fn unknown_schema_is_an_error() {
    let db = db("noschema").await;
    let o = run(&db, &["--schema", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "mvtop: error: schema \"nope\" does not exist"
    );
    assert_eq!(stdout(&o), "");
}

#[tokio::test]
async fn table_is_aligned_like_psql() {
    let db = db("table").await;
    let o = run(&db, &[]);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("schema") && lines[0].contains("status"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("---") && lines[1].contains("-+-"),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"(3 rows)"));
    // Every row puts its separators in the same columns as the header.
    let bars = |l: &str| {
        l.char_indices()
            .filter(|c| c.1 == '|')
            .map(|c| l[..c.0].chars().count())
            .collect::<Vec<_>>()
    };
    for row in &lines[2..lines.len() - 1] {
        assert_eq!(bars(row), bars(lines[0]), "{text}");
    }
    assert!(text.contains("| yes "), "{text}");
    assert!(text.contains("never populated"), "{text}");
}

#[tokio::test]
async fn csv_has_a_header_and_quotes_names() {
    let db = db("csv").await;
    let o = run(&db, &["--format", "csv"]);
    let text = stdout(&o);
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("oid,schema,name,owner,populated,total_bytes")
    );
    assert!(text.contains("\"Sales, \"\"EU\"\" é\""), "{text}");
    assert_eq!(text.lines().count(), 4);
}
