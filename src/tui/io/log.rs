//! The console's `--log-file` records: what a message says that a DBA wants kept (refresh
//! outcomes, the scheduler's claims and problems, failed polls) and the connection's ups and
//! downs. Written before `update` sees the message; nothing here changes what is shown.

use serde_json::json;

use crate::event_log::{self, Record};
use crate::tui::msg::Msg;
use crate::tui::state::Health;

/// The records of one message, written to the log file.
pub fn message(msg: &Msg) {
    if !event_log::enabled() {
        return;
    }
    for record in records(msg) {
        event_log::write(&record);
    }
}

fn records(msg: &Msg) -> Vec<Record> {
    let failed = |what: &str, error: &str| {
        vec![Record::warn(
            "poll_failed",
            json!({ "read": what, "error": error }),
        )]
    };
    match msg {
        Msg::Job(job) => event_log::of_job(job).into_iter().collect(),
        Msg::Scheduler(e) => event_log::of_scheduler(e),
        Msg::Inventory { result: Err(e), .. } => failed("inventory", e),
        Msg::Pulse { result: Err(e), .. } => failed("pulse", e),
        Msg::Sessions { result: Err(e), .. } => failed("sessions", e),
        Msg::Schedules { result: Err(e), .. } => failed("schedules", e),
        Msg::Signalled(result) => vec![match result {
            Ok(line) => Record::info("signalled", json!({ "result": line })),
            Err(e) => Record::warn("signal_failed", json!({ "error": e })),
        }],
        Msg::ScheduleSaved(result) => vec![match result {
            Ok(line) => Record::info("schedule_saved", json!({ "result": line })),
            Err(e) => Record::warn("schedule_not_saved", json!({ "error": e })),
        }],
        _ => Vec::new(),
    }
}

/// A record when the connection was lost or came back, between two states' health.
pub fn health(before: &Health, after: &Health) {
    if !event_log::enabled() {
        return;
    }
    let record = match (before, after) {
        (Health::Lost { .. }, Health::Ok) => Record::info("reconnected", json!({})),
        (Health::Ok | Health::Connecting, Health::Lost { error, .. }) => {
            Record::warn("connection_lost", json!({ "error": error }))
        }
        _ => return,
    };
    event_log::write(&record);
}

/// The console opened or closed on `target` (`user@host:port/db`: no password).
pub fn console(event: &'static str, target: &str, read_only: bool) {
    event_log::write(&Record::info(
        event,
        json!({ "target": target, "read_only": read_only }),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_reads_and_signals_become_warnings() {
        let r = records(&Msg::Pulse {
            generation: 3,
            result: Err("server closed the connection".into()),
        });
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].level, event_log::Level::Warn);
        assert_eq!(
            r[0].text(),
            r#"poll_failed error="server closed the connection" read="pulse""#
        );
        assert!(
            records(&Msg::Signalled(Err("permission denied".into())))[0].event == "signal_failed"
        );
        assert!(records(&Msg::Tick(chrono::Utc::now())).is_empty());
    }
}
