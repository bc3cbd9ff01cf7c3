//! The Prometheus metrics against the real thing: `mvtop metrics` through `promtool check
//! metrics`, and a real Prometheus server scraping `mvtop daemon --metrics`.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::Daemon;

/// `lagging` reads t1 (written after its refresh: stale); `fresh`, `fragile` and the
/// hostile name read t2 (not written since); `fragile`'s second refresh divides by zero.
const FIXTURE: &str = r#"
CREATE SCHEMA app;
CREATE TABLE app.t1 (id int PRIMARY KEY);
CREATE TABLE app.t2 (id int PRIMARY KEY, n int NOT NULL);
INSERT INTO app.t1 SELECT g FROM generate_series(1, 100) g;
INSERT INTO app.t2 SELECT g, 1 FROM generate_series(1, 100) g;
CREATE MATERIALIZED VIEW app.lagging AS SELECT count(*) AS c FROM app.t1;
CREATE MATERIALIZED VIEW app.fresh AS SELECT id FROM app.t2;
CREATE MATERIALIZED VIEW app."we""ird\name" AS SELECT id FROM app.t2;
CREATE MATERIALIZED VIEW app.fragile AS SELECT sum(1 / n) AS s FROM app.t2;
"#;

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The fixture with refreshes in the ledger: every MV refreshed once, `fragile` failed
/// after, `lagging`'s base table written, `fresh` scheduled; returns when `mvtop list`
/// says `lagging` is stale (the write counters reach the statistics within a second).
async fn prepared(tag: &str) -> String {
    let (db, s) = common::fresh_db_with(tag, FIXTURE, true).await;
    // A refresh records its base tables' counters: the fixture's writes must be counted first.
    counted(&db, "t2", 100).await;
    for mv in [
        "app.lagging",
        "app.fresh",
        r#"app."we""ird\name""#,
        "app.fragile",
    ] {
        ok(common::mvtop(&db).args(["refresh", mv]));
    }
    s.client
        .batch_execute("UPDATE app.t2 SET n = 0 WHERE id = 1")
        .await
        .unwrap();
    counted(&db, "t2", 101).await;
    let failed = common::mvtop(&db)
        .args(["refresh", "app.fragile"])
        .output()
        .unwrap();
    assert!(!failed.status.success(), "division by zero");
    // A refresh of `fresh` and the hostile one after the update: t2's writes are theirs.
    for mv in ["app.fresh", r#"app."we""ird\name""#] {
        ok(common::mvtop(&db).args(["refresh", mv]));
    }
    ok(common::mvtop(&db).args(["schedule", "set", "app.fresh", "--every", "15m"]));
    s.client
        .batch_execute("INSERT INTO app.t1 VALUES (1000)")
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let list = common::json_of(
            &common::mvtop(&db)
                .args(["list", "--format", "json"])
                .output()
                .unwrap(),
        );
        let status = |name: &str| {
            list.as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == name)
                .map(|v| v["status"].clone())
        };
        if status("lagging") == Some("stale".into()) {
            assert_eq!(status("fresh"), Some("fresh".into()), "{list}");
            return db;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{list}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the statistics count `writes` rows written to `app.table` (a session's
/// counters reach them when it goes idle, at most once a second).
async fn counted(db: &str, table: &str, writes: i64) {
    let s = common::session(db).await;
    let start = Instant::now();
    loop {
        let row = s
            .client
            .query_one(
                "SELECT coalesce(n_tup_ins + n_tup_upd + n_tup_del, 0) FROM pg_stat_user_tables \
                 WHERE schemaname = 'app' AND relname = $1",
                &[&table],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) >= writes {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{table} not counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The series line of `metric` for the MV `name` in an exposition.
fn series<'a>(text: &'a str, metric: &str, name: &str) -> Option<&'a str> {
    let needle = format!("name=\"{name}\"}}");
    text.lines()
        .find(|l| l.starts_with(&format!("{metric}{{")) && l.contains(&needle))
}

fn value(text: &str, metric: &str, name: &str) -> f64 {
    let line = series(text, metric, name).unwrap_or_else(|| panic!("no {metric} {name}:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn mvtop_metrics_passes_promtool_with_the_expected_series() {
    let db = prepared("metrics_once").await;
    let text = ok(common::mvtop(&db).arg("metrics"));
    let mut promtool = Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(!text.contains("# EOF"), "0.0.4, not OpenMetrics");
    assert!(text.contains("mvtop_up 1"), "{text}");
    assert!(text.contains("mvtop_ledger_up 1"), "{text}");
    let labels = format!("{{database=\"{db}\",schema=\"app\",name=\"lagging\"}}");
    assert!(
        text.contains(&format!("mvtop_mv_stale{labels} 1")),
        "{text}"
    );
    assert_eq!(value(&text, "mvtop_mv_stale", "fresh"), 0.0);
    assert!(value(&text, "mvtop_mv_stale_seconds", "lagging") > 0.0);
    assert_eq!(value(&text, "mvtop_mv_stale_seconds", "fresh"), 0.0);
    // The hostile name, escaped as the format says: `"` and `\` backslashed.
    let hostile = r#"we\"ird\\name"#;
    assert_eq!(value(&text, "mvtop_mv_stale", hostile), 0.0);
    assert_eq!(value(&text, "mvtop_mv_refreshes_total", hostile), 2.0);
    let now = chrono::Utc::now().timestamp() as f64;
    let last = value(&text, "mvtop_mv_last_refresh_timestamp_seconds", "lagging");
    assert!(now - last < 120.0 && last <= now + 1.0, "{last} vs {now}");
    assert!(value(&text, "mvtop_mv_last_refresh_duration_seconds", "lagging") >= 0.0);
    assert!(value(&text, "mvtop_mv_refresh_duration_seconds_avg", "lagging") >= 0.0);
    assert!(value(&text, "mvtop_mv_size_bytes", "lagging") > 0.0);
    assert_eq!(
        value(&text, "mvtop_mv_last_refresh_success", "fragile"),
        0.0
    );
    assert_eq!(
        value(&text, "mvtop_mv_refresh_failures_total", "fragile"),
        1.0
    );
    assert_eq!(
        value(&text, "mvtop_mv_last_refresh_success", "lagging"),
        1.0
    );
    // Scheduled every 15 min, never run by a scheduler: due now.
    let next = value(&text, "mvtop_mv_next_refresh_timestamp_seconds", "fresh");
    assert!((next - now).abs() < 16.0 * 60.0, "{next} vs {now}");
    assert!(series(&text, "mvtop_mv_next_refresh_timestamp_seconds", "lagging").is_none());
    assert_eq!(
        value(&text, "mvtop_mv_lock_waiting_sessions", "lagging"),
        0.0
    );
    // Only a daemon has a scheduler.
    assert!(!text.contains("mvtop_scheduler_"), "{text}");
    for secret in ["password", "SELECT"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET: the status line with the headers, and the body.
fn get(port: u16, target: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    Some((head.to_string(), body.to_string()))
}

fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus server, killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn scraping(target_port: u16) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: mvtop\n    static_configs:\n      \
                 - targets: ['127.0.0.1:{target_port}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus (Debian package prometheus)");
        Prometheus {
            child,
            port,
            _dir: dir,
        }
    }

    /// The instant query's result vector (empty until a scrape has the series).
    fn query(&self, q: &str) -> Vec<serde_json::Value> {
        let target = format!("/api/v1/query?query={}", url_encoded(q));
        let Some((_, body)) = get(self.port, &target) else {
            return Vec::new();
        };
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_prometheus_server_scrapes_the_daemon_and_answers_for_the_stale_mv() {
    let db = prepared("metrics_daemon").await;
    let port = free_port();
    let daemon = Daemon::start(
        common::mvtop(&db),
        &["--metrics", &format!("127.0.0.1:{port}")],
    );
    daemon.wait_for_event("metrics", 0, Duration::from_secs(20));
    // The daemon itself: the 0.0.4 content type, and 404 off /metrics.
    let (head, body) = get(port, "/metrics").expect("the daemon answers");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert!(body.contains("mvtop_scheduler_claims_lost_total"), "{body}");
    // Scrapes arriving together share one read: the same bytes, to the stale MV's
    // millisecond age (a second read would have moved it).
    std::thread::sleep(mvtop::metrics::serve::FRESH_FOR);
    let together: Vec<String> = std::thread::scope(|s| {
        let scrapes: Vec<_> = (0..4)
            .map(|_| s.spawn(|| get(port, "/metrics").expect("the daemon answers").1))
            .collect();
        scrapes.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(together.iter().all(|b| b == &together[0]), "{together:?}");
    let (head, _) = get(port, "/").expect("the daemon answers");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    let prometheus = Prometheus::scraping(port);
    let query = format!("mvtop_mv_stale{{database=\"{db}\",schema=\"app\",name=\"lagging\"}}");
    let start = Instant::now();
    let result = loop {
        let r = prometheus.query(&query);
        if !r.is_empty() {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no answer for {query} from Prometheus"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(result.len(), 1, "{result:?}");
    assert_eq!(result[0]["value"][1], "1", "{result:?}");
    assert_eq!(result[0]["metric"]["job"], "mvtop");
    // The scrape itself was healthy.
    let up = prometheus.query("up{job=\"mvtop\"}");
    assert_eq!(up.first().map(|u| u["value"][1].clone()), Some("1".into()));
    let (status, _) = daemon.terminate();
    assert!(status.success());
}
