//! The console's I/O for the locks and activity panes: each poll on the one monitoring
//! session, with statements prepared there once, and bounded in time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::msg::Msg;
use super::runtime::{Monitor, session};
use crate::catalog::sessions::{self, Sessions, Signal, signal_backend};
use crate::catalog::statements::{self, PssSource, PssStatements};
use crate::pgconn::{Connector, Session};

/// A poll that takes longer than this is cancelled on the server: the console never waits
/// on a stuck catalog read (the session's statement_timeout is the last resort).
const POLL_BOUND: Duration = Duration::from_secs(5);

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

/// Runs `work` on the monitoring session within POLL_BOUND; past it, the query is cancelled.
async fn bounded<T>(
    session: &Session,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
    describe_error: impl Fn(&tokio_postgres::Error) -> String,
) -> Result<T, String> {
    match tokio::time::timeout(POLL_BOUND, work).await {
        Ok(result) => result.map_err(|e| describe_error(&e)),
        Err(_) => {
            let _ = session.cancel().await;
            Err(format!(
                "took longer than {} s: cancelled",
                POLL_BOUND.as_secs()
            ))
        }
    }
}

fn one_line(e: &tokio_postgres::Error) -> String {
    crate::pgconn::one_line(e)
}

pub async fn poll_sessions(
    connector: Connector,
    monitor: Monitor,
    generation: u64,
    results: mpsc::Sender<Msg>,
) {
    let mut slot = monitor.lock().await;
    let result = match session(&connector, &mut slot).await {
        Ok((session, _, prepared)) => {
            let work = Sessions::fetch(&session.client, &mut prepared.sessions);
            bounded(session, work, one_line).await
        }
        Err(e) => Err(e),
    };
    if result.is_err() && slot.as_ref().is_some_and(|(s, ..)| s.client.is_closed()) {
        *slot = None;
    }
    drop(slot);
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
    let mut slot = monitor.lock().await;
    let result = match session(&connector, &mut slot).await {
        Ok((session, _, prepared)) => match pss(&session.client, prepared, &source).await {
            Ok(p) => bounded(session, p.counters(&session.client), statements::error_line).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    drop(slot);
    let _ = results.send(Msg::Statements { generation, result }).await;
}

pub async fn statement_texts(
    connector: Connector,
    monitor: Monitor,
    source: PssSource,
    queryids: Vec<i64>,
    results: mpsc::Sender<Msg>,
) {
    let mut slot = monitor.lock().await;
    let result: Result<HashMap<i64, String>, String> = match session(&connector, &mut slot).await {
        Ok((session, _, prepared)) => match pss(&session.client, prepared, &source).await {
            Ok(p) => {
                let work = p.texts(&session.client, &queryids);
                bounded(session, work, statements::error_line).await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    drop(slot);
    let _ = results.send(Msg::StatementTexts(result)).await;
}

pub async fn signal(
    connector: Connector,
    monitor: Monitor,
    pid: i32,
    signal: Signal,
    results: mpsc::Sender<Msg>,
) {
    let mut slot = monitor.lock().await;
    let result = match session(&connector, &mut slot).await {
        Ok((session, ..)) => signal_backend(&session.client, pid, signal).await,
        Err(e) => Err(e),
    };
    drop(slot);
    let _ = results.send(Msg::Signalled(result)).await;
}
