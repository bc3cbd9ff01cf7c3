//! The console's I/O for schedules: read them, save the form's line (through the one
//! implementation in `schedule::edit`), and the background scheduler.

use tokio::sync::{mpsc, watch};

use super::monitor::{Monitor, on_monitor};
use crate::ledger::Ledger;
use crate::pgconn::Connector;
use crate::pgcron::{Engine, hand_over};
use crate::refresh::Executor;
use crate::schedule::driver::{self, SchedulerOptions};
use crate::schedule::edit;
use crate::schedule::text::{Edit, parse};
use crate::tui::msg::Msg;

pub async fn fetch(
    connector: Connector,
    monitor: Monitor,
    ledger: Ledger,
    generation: u64,
    results: mpsc::Sender<Msg>,
) {
    let result = on_monitor(&connector, &monitor, async |m| {
        ledger
            .schedules(&m.session.client)
            .await
            .map(|loaded| loaded.schedules)
            .map_err(|e| crate::pgconn::one_line(&e))
    })
    .await;
    let _ = results.send(Msg::Schedules { generation, result }).await;
}

pub async fn save(
    connector: Connector,
    monitor: Monitor,
    ledger: Ledger,
    (oid, schema, name, text): (u32, String, String, String),
    results: mpsc::Sender<Msg>,
) {
    let result = on_monitor(&connector, &monitor, async |m| {
        let s = &m.session;
        match parse(&text)? {
            Edit::Remove => {
                hand_over::remove_everywhere(&s.client, &connector, &ledger, &schema, &name).await
            }
            Edit::Set {
                input,
                concurrently,
                engine: Engine::PgCron,
            } => hand_over::set(&s.client, &connector, &ledger, oid, &input, concurrently).await,
            Edit::Set {
                input,
                concurrently,
                engine: Engine::Mvtop,
            } => {
                let line = edit::set(&s.client, &ledger, oid, &input, concurrently).await?;
                // Taken back from pg_cron: the job mvtop made for it goes.
                match hand_over::remove(&s.client, &connector, &schema, &name).await {
                    Ok(ids) if !ids.is_empty() => {
                        Ok(format!("{line}; mvtop's pg_cron job {ids:?} removed"))
                    }
                    Ok(_) => Ok(line),
                    Err(e) => Ok(format!("{line}; {e}")),
                }
            }
        }
    })
    .await;
    let _ = results.send(Msg::ScheduleSaved(result)).await;
}

/// Runs the scheduler beside the console on its executor (one concurrency limit for both);
/// its events come in as `Msg::Scheduler`. Stops, letting its refreshes finish for a short
/// grace, when `stop` turns true.
pub fn start_scheduler(
    connector: Connector,
    executor: Executor,
    ledger: Ledger,
    results: mpsc::Sender<Msg>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let (report, mut events) = mpsc::unbounded_channel();
    let mut options = SchedulerOptions::new(ledger);
    options.grace = std::time::Duration::from_secs(2);
    tokio::spawn(async move {
        let scheduler = tokio::spawn(driver::run(connector, executor, options, report, stop));
        while let Some(event) = events.recv().await {
            if results.send(Msg::Scheduler(event)).await.is_err() {
                break;
            }
        }
        let _ = scheduler.await;
    })
}
