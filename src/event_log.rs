//! What the daemon and the console log, one implementation for both: each event as a name
//! and fields (`Record`), printed by the daemon on stdout (text or JSON lines) and written
//! through `tracing` to `--log-file` by either. The console cannot print while it is open:
//! the file is where its refresh outcomes, poll failures, reconnects and claims go.
//! Records carry MV names, pids, durations and one-line errors; never a connection string.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::refresh::{JobEvent, JobState, OutcomeKind};
use crate::schedule::SchedulerEvent;

/// What the daemon says while its server is a standby.
pub const STANDBY: &str =
    "the server is a standby (in recovery): no run is claimed; waiting for promotion";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
}

/// One event: `claimed mv="reporting.x" due=...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub level: Level,
    pub event: &'static str,
    /// A JSON object; null fields are left out of text lines.
    pub fields: Value,
}

impl Record {
    pub fn info(event: &'static str, fields: Value) -> Record {
        Record {
            level: Level::Info,
            event,
            fields,
        }
    }

    pub fn warn(event: &'static str, fields: Value) -> Record {
        Record {
            level: Level::Warn,
            event,
            fields,
        }
    }

    /// `event k=v k="text"`, without a timestamp.
    pub fn text(&self) -> String {
        let mut line = self.event.to_string();
        if let Value::Object(f) = &self.fields {
            for (k, v) in f {
                match v {
                    Value::Null => {}
                    Value::String(s) => line.push_str(&format!(" {k}={s:?}")),
                    other => line.push_str(&format!(" {k}={other}")),
                }
            }
        }
        line
    }

    /// `{"ts": ..., "event": ..., fields...}`.
    pub fn json(&self, ts: &str) -> String {
        let mut obj = json!({ "ts": ts, "event": self.event });
        if let (Some(o), Value::Object(f)) = (obj.as_object_mut(), &self.fields) {
            o.extend(f.clone());
        }
        obj.to_string()
    }
}

/// The records of one scheduler event (none for some, two for a load with problems).
pub fn of_scheduler(e: &SchedulerEvent) -> Vec<Record> {
    match e {
        SchedulerEvent::Loaded {
            schedules,
            problems,
        } => std::iter::once(Record::info("schedules", json!({ "count": schedules })))
            .chain(
                problems
                    .iter()
                    .map(|p| Record::warn("problem", json!({ "error": p }))),
            )
            .collect(),
        SchedulerEvent::Claimed { mv, due, why } => vec![Record::info(
            "claimed",
            json!({ "mv": mv, "due": due.to_rfc3339(), "why": why }),
        )],
        SchedulerEvent::ClaimLost { mv, due } => vec![Record::info(
            "claim_lost",
            json!({ "mv": mv, "due": due.to_rfc3339() }),
        )],
        SchedulerEvent::Skipped { mv, why } => {
            vec![Record::warn("skipped", json!({ "mv": mv, "why": why }))]
        }
        SchedulerEvent::Problem(p) => vec![Record::warn("problem", json!({ "error": p }))],
        SchedulerEvent::Recovered => vec![Record::info("recovered", json!({}))],
        SchedulerEvent::Standby => vec![Record::info("standby", json!({ "message": STANDBY }))],
        SchedulerEvent::Promoted => vec![Record::info(
            "promoted",
            json!({ "message": "the server was promoted: schedules run" }),
        )],
        SchedulerEvent::Stopping { running } => {
            vec![Record::info("stopping", json!({ "running": running }))]
        }
        SchedulerEvent::Stopped => Vec::new(),
        SchedulerEvent::Job(job) => of_job(job).into_iter().collect(),
    }
}

/// The record of a refresh job's change (none while it is queued).
pub fn of_job(job: &JobEvent) -> Option<Record> {
    let mv = &job.spec.target.qualified_name;
    Some(match &job.state {
        JobState::Queued => return None,
        JobState::Running { pid, attempt } => Record::info(
            "refreshing",
            json!({ "mv": mv, "pid": pid, "attempt": attempt, "mode": job.spec.mode.label() }),
        ),
        JobState::WaitingForLock { blocked_by } => Record::info(
            "waiting_for_lock",
            json!({ "mv": mv, "blocked_by": blocked_by }),
        ),
        JobState::Retrying { attempt, after } => Record::info(
            "retrying",
            json!({ "mv": mv, "attempt": attempt, "after_ms": after.as_millis() as u64 }),
        ),
        JobState::Finished(o) => {
            let fields = json!({
                "mv": mv,
                "outcome": o.kind.as_str(),
                "duration_ms": o.duration_ms,
                "error": o.error,
                "recorded": o.recorded,
            });
            if o.kind == OutcomeKind::Ok {
                Record::info("finished", fields)
            } else {
                Record::warn("finished", fields)
            }
        }
    })
}

static TO_FILE: AtomicBool = AtomicBool::new(false);

/// Whether records go to a log file: callers skip building them otherwise.
pub fn enabled() -> bool {
    TO_FILE.load(Ordering::Relaxed)
}

/// From now on, records go to `path` (appended, created when missing), one line each with
/// a UTC timestamp and a level: `2026-12-07T21:00:00.123Z  WARN finished mv="x" ...`.
pub fn to_file(path: &Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("--log-file {}: {e}", path.display()))?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_target(false)
        .with_timer(tracing_subscriber::fmt::time::ChronoUtc::new(
            "%Y-%m-%dT%H:%M:%S%.3fZ".into(),
        ))
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| format!("--log-file {}: {e}", path.display()))?;
    TO_FILE.store(true, Ordering::Relaxed);
    Ok(())
}

/// Writes `record` to the log file, if there is one.
pub fn write(record: &Record) {
    if !enabled() {
        return;
    }
    let line = record.text();
    match record.level {
        Level::Info => tracing::info!("{line}"),
        Level::Warn => tracing::warn!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_leave_out_nulls_and_quote_strings() {
        let r = Record::warn(
            "finished",
            json!({ "mv": "\"Reporting\".\"Sales\"", "error": null, "duration_ms": 12.5 }),
        );
        assert_eq!(
            r.text(),
            r#"finished duration_ms=12.5 mv="\"Reporting\".\"Sales\"""#
        );
        let j: Value = serde_json::from_str(&r.json("2026-12-07T00:00:00.000Z")).unwrap();
        assert_eq!(j["event"], "finished");
        assert_eq!(j["mv"], "\"Reporting\".\"Sales\"");
        assert_eq!(j["error"], Value::Null);
    }
}
