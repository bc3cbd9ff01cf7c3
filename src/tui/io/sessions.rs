//! The console's I/O for the locks and activity panes: each poll on the one monitoring
//! session, with statements prepared there once, and bounded in time; and the signals.

use std::collections::HashMap;

use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::monitor::{Monitor, bounded, on_monitor, on_monitor_or_own};
use crate::catalog::sessions::{self, Sessions, Signal, signal_backend};
use crate::catalog::statements::{self, PssSource, PssStatements};
use crate::pgconn::{Connector, one_line};
use crate::tui::msg::Msg;

/// What this module prepares on the monitoring session.
pub struct Prepared {
    sessions: sessions::SessionsPoll,
    /// Prepared on first use, for the source it was prepared for.
    pss: Option<(PssSource, PssStatements)>,
}

impl Prepared {
    pub async fn new(client: &Client) -> Result<Prepared, tokio_postgres::Error> {
        Ok(Prepared {
            sessions: sessions::prepare(client).await?,
            pss: None,
        })
    }
}

pub async fn poll_sessions(
    connector: Connector,
    monitor: Monitor,
    generation: u64,
    results: mpsc::Sender<Msg>,
) {
    let result = on_monitor(&connector, &monitor, async |m| {
        let work = Sessions::fetch(&m.session.client, &mut m.prepared.sessions);
        bounded(&m.session, work, one_line).await
    })
    .await;
    let result = result.map_err(|e| format!("sessions: {e}"));
    let _ = results.send(Msg::Sessions { generation, result }).await;
}

/// The prepared pg_stat_statements reads for `source` on this session.
async fn pss<'a>(
    client: &Client,
    prepared: &'a mut Prepared,
    source: &PssSource,
) -> Result<&'a PssStatements, String> {
    if prepared.pss.as_ref().is_none_or(|(s, _)| s != source) {
        let p = PssStatements::prepare(client, source)
            .await
            .map_err(|e| statements::error_line(&e))?;
        prepared.pss = Some((source.clone(), p));
    }
    prepared
        .pss
        .as_ref()
        .map(|(_, p)| p)
        .ok_or_else(|| "not prepared".into())
}

pub async fn poll_statements(
    connector: Connector,
    monitor: Monitor,
    generation: u64,
    source: PssSource,
    results: mpsc::Sender<Msg>,
) {
    let result = on_monitor(&connector, &monitor, async |m| {
        let p = pss(&m.session.client, &mut m.prepared, &source).await?;
        bounded(
            &m.session,
            p.counters(&m.session.client),
            statements::error_line,
        )
        .await
    })
    .await;
    let _ = results.send(Msg::Statements { generation, result }).await;
}

pub async fn statement_texts(
    connector: Connector,
    monitor: Monitor,
    (generation, source): (u64, PssSource),
    queryids: Vec<i64>,
    results: mpsc::Sender<Msg>,
) {
    let result: Result<HashMap<i64, String>, String> =
        on_monitor(&connector, &monitor, async |m| {
            let p = pss(&m.session.client, &mut m.prepared, &source).await?;
            bounded(
                &m.session,
                p.texts(&m.session.client, &queryids),
                statements::error_line,
            )
            .await
        })
        .await;
    let _ = results
        .send(Msg::StatementTexts { generation, result })
        .await;
}

/// pg_cancel_backend / pg_terminate_backend: never queued behind a read.
pub async fn signal(
    connector: Connector,
    monitor: Monitor,
    pid: i32,
    signal: Signal,
    results: mpsc::Sender<Msg>,
) {
    let result = on_monitor_or_own(&connector, &monitor, async |session| {
        signal_backend(&session.client, pid, signal).await
    })
    .await;
    let _ = results.send(Msg::Signalled(result)).await;
}
