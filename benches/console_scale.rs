//! The console on many MVs, in a real terminal (tmux), side by side with psql in the same
//! run: time from start to the first full table (every row, with its size) against
//! `psql -c '\dm+'` printing the same MVs, first on catalogs never analyzed (autovacuum off,
//! as after a burst of DDL, a restore or a `pg_upgrade`), then after ANALYZE;
//! key-press-to-redraw for scroll, sort and filter (against `less` paging the `\dm+` output
//! in the same terminal: the harness's own floor), and the console's peak RSS.
//! Run with `cargo bench --bench console_scale [-- MVS TABLES]` (defaults 10,000 MVs, no
//! plain tables; the scale target is `-- 20000 50000`); needs tmux and less.

use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::{peak_rss_mb, plain_tables_sql, run_psql, setup_sql_cold};
use mvtop::cluster::{ClusterOptions, psql_command};

const DB: &str = "bench";
const ROUNDS: usize = 5;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let mvs: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let tables: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let opts = ClusterOptions {
        settings: vec![("autovacuum".into(), "off".into())],
        ..ClusterOptions::default()
    };
    let cluster = common::cluster_with_db(&opts, DB);
    let setup = Instant::now();
    if tables > 0 {
        run_psql(&cluster, DB, &plain_tables_sql(tables));
    }
    for sql in setup_sql_cold(mvs) {
        run_psql(&cluster, DB, &sql);
    }
    eprintln!(
        "{mvs} MVs and {tables} plain tables made in {:.0?}",
        setup.elapsed()
    );
    let listing = std::env::temp_dir().join(format!("mvtop-bench-dm-{}.txt", std::process::id()));
    let conninfo = cluster.conninfo(DB);
    let mvtop = format!(
        "exec {} -d '{conninfo}' --interval 2",
        env!("CARGO_BIN_EXE_mvtop")
    );
    // Keeps the tmux server up between the consoles (the last session's end stops it).
    let _keep = Pane::start("cscale-keep", "exec sleep 3600");
    let full = format!("views {mvs}/{mvs}");
    let mut rss = 0.0f64;
    let mut starts = Vec::new();
    for catalogs in ["never analyzed", "analyzed"] {
        if catalogs == "analyzed" {
            run_psql(&cluster, DB, "ANALYZE");
        }
        // Baseline: psql listing the same MVs with their sizes; alternating with the console.
        let (mut psql_ms, mut start_ms) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let t = Instant::now();
            let out = psql_command(&cluster, DB)
                .args(["-c", "\\dm+"])
                .output()
                .expect("psql");
            assert!(out.status.success());
            psql_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            std::fs::write(&listing, &out.stdout).unwrap();
            let pane = Pane::start(&format!("cscale-{round}"), &mvtop);
            let t = Instant::now();
            // Every row drawn with its size: the first MV's size is in its row.
            pane.until(Duration::from_secs(300), |s| {
                s.contains(&full) && s.lines().any(|l| l.contains("mv_1 ") && l.contains(" kB"))
            });
            start_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            rss = rss.max(peak_rss_mb(pane.pid()));
            if catalogs == "analyzed" && round + 1 == ROUNDS {
                let keys = measure_keys(&pane, mvs);
                std::thread::sleep(Duration::from_secs(30));
                rss = rss.max(peak_rss_mb(pane.pid()));
                let less = Pane::start(
                    "cscale-less",
                    &format!("exec less -S {}", listing.display()),
                );
                less.until(Duration::from_secs(10), |s| s.contains("mv_1"));
                let less_keys = measure_less(&less);
                starts.push((catalogs, median(&start_ms), median(&psql_ms)));
                report(mvs, tables, &starts, &keys, &less_keys, rss);
            }
        }
        if catalogs != "analyzed" {
            starts.push((catalogs, median(&start_ms), median(&psql_ms)));
        }
    }
    let _ = std::fs::remove_file(listing);
}

fn report(
    mvs: u32,
    tables: u32,
    starts: &[(&str, f64, f64)],
    keys: &[(&str, f64)],
    less_keys: &[(&str, f64)],
    rss: f64,
) {
    println!("{mvs} MVs, {tables} plain tables; medians of {ROUNDS} rounds:");
    for (catalogs, mvtop, psql) in starts {
        println!(
            "  start to first full table, catalogs {catalogs:<15}: mvtop {mvtop:.0} ms   \
             psql \\dm+ {psql:.0} ms   ratio {:.2} (goal 1.00)",
            mvtop / psql
        );
    }
    for ((what, ms), (less_what, less_ms)) in keys.iter().zip(less_keys) {
        println!(
            "  key to redraw: mvtop {what:<22} {ms:>4.0} ms   less {less_what:<18} {less_ms:>4.0} ms"
        );
    }
    println!("  mvtop peak RSS (after 30 s of polling at 2 s): {rss:.1} MB");
}

/// (what, median ms) for scroll to the end, sort reversed, filter to one row.
fn measure_keys(pane: &Pane, mvs: u32) -> Vec<(&'static str, f64)> {
    let all = format!("views {mvs}/{mvs}");
    let one = format!("views 1/{mvs}");
    // Name order is text order (mv_1, mv_10, ...): the last name, also the filter's target
    // (no other name contains it).
    let last = (1..=mvs)
        .map(|i| format!("mv_{i}"))
        .max()
        .unwrap_or_default();
    let last = format!("{last} ");
    let (mut scroll, mut sort, mut filter) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        scroll.push(pane.time_key(&["G"], |s| s.contains(&last)));
        pane.time_key(&["g"], |s| s.contains("mv_1 "));
        // Reversed, then back: the table (and the selection's place) redrawn.
        sort.push(pane.time_change(&["O"]));
        pane.time_change(&["O"]);
        filter.push(pane.time_key(&["/", last.trim()], |s| s.contains(&one)));
        pane.time_key(&["Escape"], |s| s.contains(&all));
    }
    vec![
        ("scroll to the end (G)", median(&scroll)),
        ("reverse the sort (O)", median(&sort)),
        ("filter to 1 row (/)", median(&filter)),
    ]
}

/// The same moves in `less`: end, back, search.
fn measure_less(pane: &Pane) -> Vec<(&'static str, f64)> {
    let (mut end, mut back, mut search) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        end.push(pane.time_key(&["G"], |s| s.contains("rows)")));
        back.push(pane.time_key(&["g"], |s| s.contains("List of relations")));
        search.push(pane.time_key(&["/", "mv_1000 ", "Enter"], |s| {
            s.lines().next().is_some_and(|l| l.contains("mv_1000 "))
        }));
        pane.time_key(&["g"], |s| s.contains("List of relations"));
    }
    vec![
        ("to the end (G)", median(&end)),
        ("to the top (g)", median(&back)),
        ("search a row (/)", median(&search)),
    ]
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Pane {
    name: String,
}

impl Pane {
    fn start(name: &str, command: &str) -> Pane {
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "160",
                "-y",
                "50",
                command,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux is needed (apt-get install tmux)");
        Pane {
            name: name.to_string(),
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pid(&self) -> u32 {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, "#{pane_pid}"])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    }

    fn until(&self, within: Duration, done: impl Fn(&str) -> bool) {
        let t = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return;
            }
            assert!(
                t.elapsed() < within,
                "waited {within:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Milliseconds from sending `keys` to the screen changing.
    fn time_change(&self, keys: &[&str]) -> f64 {
        // The clock in the header may tick meanwhile: compare the table only.
        let table = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
        let before = table(&self.screen());
        self.time_key(keys, |s| table(s) != before)
    }

    /// Milliseconds from sending `keys` to the screen showing what `done` wants.
    fn time_key(&self, keys: &[&str], done: impl Fn(&str) -> bool) -> f64 {
        let t = Instant::now();
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok);
        self.until(Duration::from_secs(30), done);
        t.elapsed().as_secs_f64() * 1000.0
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}
