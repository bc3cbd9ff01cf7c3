//! The console's inventory reads: the full read (sharing each MV's unchanged details with
//! the last one), the cheap pulse between them, and one MV's detail, all on the monitoring
//! session.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

use super::monitor::{Monitor, on_monitor};
use crate::catalog::pulse::{Baseline, Pulse};
use crate::catalog::{DetailsCache, Inventory, Reread};
use crate::inventory::FetchOptions;
use crate::ledger::{HistoryFilter, Ledger};
use crate::pgconn::{Connector, SessionSettings, one_line};
use crate::tui::msg::{DetailData, Msg};

pub async fn pulse(
    connector: Connector,
    monitor: Monitor,
    (generation, tables, since): (u64, Vec<u32>, Baseline),
    results: mpsc::Sender<Msg>,
) {
    let result = on_monitor(&connector, &monitor, async |m| {
        Pulse::fetch(&m.session.client, &m.pulse, &tables, since)
            .await
            .map_err(|e| one_line(&e))
    })
    .await;
    let _ = results.send(Msg::Pulse { generation, result }).await;
}

pub async fn poll(
    connector: Connector,
    (monitor, details): (Monitor, Arc<Mutex<DetailsCache>>),
    (with, again): (FetchOptions, Reread),
    generation: u64,
    results: mpsc::Sender<Msg>,
) {
    let helper = async || connector.connect(&SessionSettings::MONITORING).await.ok();
    let result = on_monitor(&connector, &monitor, async |m| {
        let mut cache = details.lock().await;
        cache.forget(again);
        let result = Inventory::fetch_reusing(&m.session.client, helper, with, &mut cache)
            .await
            .map(Box::new)
            .map_err(|e| one_line(&e));
        if result.is_err() {
            // What was kept may be half-merged: read everything next time.
            cache.forget(Reread::Everything);
        }
        result
    })
    .await;
    let _ = results.send(Msg::Inventory { generation, result }).await;
}

pub async fn detail(
    connector: Connector,
    monitor: Monitor,
    ledger: Ledger,
    (oid, generation, with_ledger, runs): (u32, u64, bool, u32),
    results: mpsc::Sender<Msg>,
) {
    let result = on_monitor(&connector, &monitor, async |m| {
        read_detail(&m.session.client, &ledger, oid, with_ledger.then_some(runs)).await
    })
    .await;
    let _ = results
        .send(Msg::Detail {
            oid,
            generation,
            result,
        })
        .await;
}

async fn read_detail(
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    oid: u32,
    runs: Option<u32>,
) -> Result<DetailData, String> {
    let line = |e: tokio_postgres::Error| one_line(&e);
    let indexes = crate::catalog::indexes::indexes_of(client, oid)
        .await
        .map_err(line)?;
    let runs = match runs {
        Some(limit) => {
            let filter = HistoryFilter {
                mv_oid: Some(oid),
                since: None,
                limit: Some(i64::from(limit)),
            };
            ledger.history(client, &filter).await.map_err(line)?
        }
        None => Vec::new(),
    };
    Ok(DetailData { runs, indexes })
}
