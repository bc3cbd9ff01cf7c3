//! The one monitoring session the console's reads share (with the pulse and the sessions
//! poll prepared on it), and the one way to use it: `on_monitor` runs a read on it, opening
//! it when there is none and forgetting it when the server closed it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::sessions::Prepared;
use crate::catalog::pulse::PulseStatements;
use crate::pgconn::{Connector, Session, SessionSettings};

/// The monitoring session and what is prepared on it.
pub struct Monitored {
    pub session: Session,
    pub pulse: PulseStatements,
    pub prepared: Prepared,
}

/// Shared by every read; reopened after it is lost.
pub type Monitor = Arc<Mutex<Option<Monitored>>>;

/// Runs `work` on the monitoring session (opened, and the polls prepared, when there is
/// none). One read at a time: the session is one connection. After an error on a session
/// the server closed, the next read opens a new one.
pub async fn on_monitor<T>(
    connector: &Connector,
    monitor: &Monitor,
    work: impl AsyncFnOnce(&mut Monitored) -> Result<T, String>,
) -> Result<T, String> {
    let mut slot = monitor.lock().await;
    let result = match open(connector, &mut slot).await {
        Ok(monitored) => work(monitored).await,
        Err(e) => Err(e),
    };
    if result.is_err() && slot.as_ref().is_some_and(|m| m.session.client.is_closed()) {
        *slot = None;
    }
    result
}

/// As `on_monitor` when the monitoring session is free; when a read holds it, `work` runs
/// at once on a session of its own, opened for it and closed after. For what must not wait
/// (a cancel or terminate pressed during a slow read), yet uses no extra connection when
/// none is needed (a server at max_connections is when a DBA terminates sessions).
pub async fn on_monitor_or_own<T>(
    connector: &Connector,
    monitor: &Monitor,
    work: impl AsyncFnOnce(&Session) -> Result<T, String>,
) -> Result<T, String> {
    match monitor.try_lock() {
        Ok(mut slot) => {
            let result = match open(connector, &mut slot).await {
                Ok(monitored) => work(&monitored.session).await,
                Err(e) => Err(e),
            };
            if result.is_err() && slot.as_ref().is_some_and(|m| m.session.client.is_closed()) {
                *slot = None;
            }
            result
        }
        Err(_busy) => {
            let own = connector
                .connect(&SessionSettings::MONITORING)
                .await
                .map_err(|e| e.to_string())?;
            work(&own).await
        }
    }
}

async fn open<'a>(
    connector: &Connector,
    slot: &'a mut Option<Monitored>,
) -> Result<&'a mut Monitored, String> {
    if slot.as_ref().is_none_or(|m| m.session.client.is_closed()) {
        let session = connector
            .connect(&SessionSettings::MONITORING)
            .await
            .map_err(|e| e.to_string())?;
        let pulse = PulseStatements::prepare(&session.client)
            .await
            .map_err(|e| crate::pgconn::one_line(&e))?;
        let prepared = Prepared::new(&session.client)
            .await
            .map_err(|e| crate::pgconn::one_line(&e))?;
        *slot = Some(Monitored {
            session,
            pulse,
            prepared,
        });
    }
    slot.as_mut().ok_or_else(|| "no session".to_string())
}

/// A read that takes longer than this is cancelled on the server: the console never waits
/// on a stuck catalog read (the session's statement_timeout is the last resort).
const READ_BOUND: Duration = Duration::from_secs(5);

/// Runs `work` on `session` within READ_BOUND; past it, the query is cancelled.
pub async fn bounded<T>(
    session: &Session,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
    describe_error: impl Fn(&tokio_postgres::Error) -> String,
) -> Result<T, String> {
    match tokio::time::timeout(READ_BOUND, work).await {
        Ok(result) => result.map_err(|e| describe_error(&e)),
        Err(_) => {
            let _ = session.cancel().await;
            Err(format!(
                "took longer than {} s: cancelled",
                READ_BOUND.as_secs()
            ))
        }
    }
}
