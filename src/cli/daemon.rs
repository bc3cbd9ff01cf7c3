//! `mvtop daemon`: the schedules, with no terminal. One log line per event on stdout (text or
//! JSON lines); SIGTERM or SIGINT lets running refreshes finish for a grace period, cancels
//! the rest, records every outcome and exits 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use clap::{Args, ValueEnum};
use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use super::{ConnArgs, Failure, monitoring_session};
use crate::event_log::{self, Record};
use crate::format;
use crate::ledger::Ledger;
use crate::metrics::serve::{Scraper, parse_listen, serve};
use crate::metrics::{Reader, SchedulerHealth};
use crate::refresh::{Executor, JobState};
use crate::schedule::driver::{self, SchedulerEvent, SchedulerOptions};

#[derive(Debug, Clone, Args)]
pub struct DaemonArgs {
    /// Refreshes at the same time
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// After SIGTERM/SIGINT, running refreshes may finish this long before they are cancelled
    #[arg(long, default_value = "30s", value_parser = format::parse_duration)]
    pub grace: Duration,
    /// A refresh waits at most this long for its MV's lock per attempt
    #[arg(long, default_value = "5s", value_parser = format::parse_duration)]
    pub lock_timeout: Duration,
    /// Serve Prometheus metrics on GET /metrics: PORT or localhost:PORT (loopback), or
    /// ADDRESS:PORT (e.g. 0.0.0.0:9187 for every interface)
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &DaemonArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    // Fail at once on a wrong DSN or a missing ledger; later outages are logged and outlived.
    let session = monitoring_session(&connector).await?;
    ledger
        .require_current(&session.client)
        .await
        .map_err(Failure::new)?;
    drop(session);
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| Failure::new(format!("cannot handle SIGTERM: {e}")))?;
    let mut int = signal(SignalKind::interrupt())
        .map_err(|e| Failure::new(format!("cannot handle SIGINT: {e}")))?;
    // No console here: its receiver is dropped, and the scheduler subscribes its own.
    let (executor, _) = Executor::new(connector.clone(), Some(ledger.clone()), args.jobs);
    let mut options = SchedulerOptions::new(ledger.clone());
    options.grace = args.grace;
    options.limits.lock_timeout = args.lock_timeout;
    let (report, mut events) = mpsc::unbounded_channel();
    let (stop, stopped) = watch::channel(false);
    let log = Log(args.log_format);
    log.line(
        "started",
        json!({ "jobs": args.jobs, "claimant": options.claimant }),
    );
    let health = Arc::new(Mutex::new(SchedulerHealth::default()));
    // Bound before the scheduler starts: a taken port fails the daemon at once. The scrapes
    // read on a session of their own, so they never hold up the scheduler's.
    let server = match &args.metrics {
        Some(addr) => {
            let addr = parse_listen(addr).map_err(Failure::new)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure::new(format!("--metrics {addr}: {e}")))?;
            let reader = Reader::new(connector.clone(), ledger.clone());
            let scraper = Arc::new(Scraper::new(reader, Some(health.clone())));
            log.line("metrics", json!({ "listen": addr.to_string() }));
            Some(tokio::spawn(serve(listener, scraper)))
        }
        None => None,
    };
    let scheduler = tokio::spawn(driver::run(connector, executor, options, report, stopped));
    let mut signalled = false;
    let mut claimed = HashMap::new();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(SchedulerEvent::Stopped) | None => break,
                Some(e) => {
                    if let Ok(mut h) = health.lock() {
                        keep_health(&mut h, &mut claimed, &e);
                    }
                    log.event(&e);
                }
            },
            _ = term.recv(), if !signalled => {
                signalled = true;
                log.line("signal", json!({ "signal": "SIGTERM" }));
                let _ = stop.send(true);
            }
            _ = int.recv(), if !signalled => {
                signalled = true;
                log.line("signal", json!({ "signal": "SIGINT" }));
                let _ = stop.send(true);
            }
        }
    }
    let _ = scheduler.await;
    if let Some(server) = server {
        server.abort();
    }
    log.line("stopped", json!({}));
    Ok(())
}

/// The scheduler's health from its events; `claimed`: MV -> the due time of its claimed
/// run, until that run starts.
fn keep_health(
    h: &mut SchedulerHealth,
    claimed: &mut HashMap<String, chrono::DateTime<Utc>>,
    e: &SchedulerEvent,
) {
    match e {
        SchedulerEvent::Claimed { mv, due, .. } => {
            h.claims += 1;
            claimed.insert(mv.clone(), *due);
        }
        SchedulerEvent::ClaimLost { .. } => h.claims_lost += 1,
        SchedulerEvent::Problem(_) => h.troubled = true,
        SchedulerEvent::Recovered => h.troubled = false,
        SchedulerEvent::Job(job) => {
            let mv = &job.spec.target.qualified_name;
            if matches!(job.state, JobState::Running { .. } | JobState::Finished(_))
                && let Some(due) = claimed.remove(mv)
            {
                let delay = (Utc::now() - due).num_milliseconds().max(0);
                h.start_delay_seconds = Some(delay as f64 / 1000.0);
            }
        }
        _ => {}
    }
}

/// One line per event on stdout: `2026-11-21T14:00:00.123Z claimed mv=... due=...` or a JSON
/// object; the same records go to `--log-file` when there is one.
struct Log(LogFormat);

impl Log {
    fn line(&self, event: &'static str, fields: serde_json::Value) {
        self.record(&Record::info(event, fields));
    }

    fn record(&self, record: &Record) {
        let ts = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let text = match self.0 {
            LogFormat::Json => record.json(&ts),
            LogFormat::Text => format!("{ts} {}", record.text()),
        };
        // A closed stdout must not stop the refreshes: the line is lost, the daemon goes on.
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{text}");
        event_log::write(record);
    }

    fn event(&self, e: &SchedulerEvent) {
        for record in event_log::of_scheduler(e) {
            self.record(&record);
        }
    }
}
