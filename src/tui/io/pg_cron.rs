//! The console's pg_cron reads, on sessions of their own (pg_cron's catalog may be in
//! another database; the monitoring session is never held for it). Runs are read
//! incrementally by runid between reads.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{Mutex, mpsc};

use crate::ledger::Ledger;
use crate::pgconn::{Connector, Session, SessionSettings, one_line};
use crate::pgcron::runs::{DEFAULT_WINDOW, merged_stats};
use crate::pgcron::{CronView, PgCron, RunReader, Unavailable};
use crate::tui::msg::Msg;
use crate::tui::pg_cron::Snapshot;

/// The pg_cron reader's sessions and runs, kept between reads.
pub struct Cache {
    main: Session,
    pgcron: PgCron,
    reader: RunReader,
}

pub type Shared = Arc<Mutex<Option<Cache>>>;

/// Reads pg_cron's jobs and runs for `mvs` and what they add to the statistics.
pub async fn fetch(
    connector: Connector,
    cache: Shared,
    ledger: Ledger,
    (generation, mvs, has_ledger): (u64, Vec<(u32, String, String)>, bool),
    results: mpsc::Sender<Msg>,
) {
    let mut slot = cache.lock().await;
    let result = read(&connector, &mut slot, &ledger, &mvs, has_ledger).await;
    if result.is_err() {
        // Sessions are opened again on the next read (a restart, a dropped connection).
        *slot = None;
    }
    let _ = results.send(Msg::PgCron { generation, result }).await;
}

async fn read(
    connector: &Connector,
    slot: &mut Option<Cache>,
    ledger: &Ledger,
    mvs: &[(u32, String, String)],
    has_ledger: bool,
) -> Result<Snapshot, Unavailable> {
    if slot.is_none() {
        let main = connector
            .connect(&SessionSettings::MONITORING)
            .await
            .map_err(|e| Unavailable::Unreachable(format!("pg_cron: {e}")))?;
        let pgcron = PgCron::locate(&main.client, connector).await?;
        *slot = Some(Cache {
            main,
            pgcron,
            reader: RunReader::new(DEFAULT_WINDOW),
        });
    }
    let Some(cache) = slot.as_mut() else {
        return Err(Unavailable::Unreachable("pg_cron: no session".into()));
    };
    let lost = |e: tokio_postgres::Error| {
        Unavailable::Unreachable(format!(
            "pg_cron's jobs could not be read: {}",
            one_line(&e)
        ))
    };
    let names: Vec<(u32, &str, &str)> = mvs
        .iter()
        .map(|(o, s, n)| (*o, s.as_str(), n.as_str()))
        .collect();
    let view = CronView::read(&cache.main.client, &cache.pgcron, &names, &mut cache.reader)
        .await
        .map_err(lost)?;
    let name_of = |oid: u32| {
        mvs.iter()
            .find(|m| m.0 == oid)
            .map(|m| (m.1.clone(), m.2.clone()))
    };
    let cron = view.records(&name_of);
    let stats = merged_stats(&cache.main.client, ledger, has_ledger, cron)
        .await
        .map_err(lost)?;
    Ok(Snapshot {
        located: view.located.clone(),
        schedules: view.schedules(Utc::now()),
        stats,
        notes: view.refreshes.notes.clone(),
    })
}
