//! Whether a connection pooler hands mvtop's sessions to other clients between
//! transactions (PgBouncer's `pool_mode = transaction` or `statement`).
//!
//! mvtop needs a server session of its own: the console and the scheduler keep named
//! prepared statements across polls, every session sets `lock_timeout`, `statement_timeout`
//! and `jit`, and a refresh holds a session-level advisory lock between its attempts. Under
//! transaction pooling each of those would land on some other client's server connection,
//! and fail later, at random. A pooler cannot be asked through a normal connection (its
//! `SHOW` commands answer only on its admin database), so this is found from behaviour:
//! while a second client holds an open transaction, the first asks for its backend's pid
//! again. A session of its own keeps its pid; a pooled one has lost its server connection
//! to the second client (with the pooler's usual LIFO reuse the second client even gets it).

use std::time::Duration;

use super::connect::Connector;
use super::failure::one_line;
use super::session::{ConnectError, Session, SessionSettings};

/// How the server sessions behind mvtop's connections are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Straight to the server (or a pooler in session mode): a session is mvtop's alone.
    Own,
    /// A server connection serves other clients between transactions.
    PerTransaction,
}

/// The one line that says why mvtop does not run through transaction pooling.
pub const TRANSACTION_POOLING: &str = "connected through a pooler in transaction pooling mode \
    (PgBouncer pool_mode = transaction or statement): mvtop needs a server session of its own \
    for its prepared statements, its session settings (lock_timeout, statement_timeout, jit) \
    and the advisory locks that keep two refreshes of one MV apart; connect to the server \
    directly or to a pool in session mode";

/// How long the first session may wait for its server connection during the probe: a pool
/// of one server connection makes it wait for the second client, which is pooling too.
const PROBE_WAIT: Duration = Duration::from_secs(3);

/// Finds out whether `session`'s server connection is its own. Straight connections are
/// recognised from the server's side of the socket (same port, same address) at the cost
/// of one query; anything else gets the probe, which opens one more session.
pub async fn pooling(connector: &Connector, session: &Session) -> Result<Pooling, ConnectError> {
    let facts = first_row(
        &session.client,
        "SELECT pg_backend_pid(), current_setting('port'), inet_server_port(), \
         host(inet_server_addr())",
    )
    .await?;
    let field = |i: usize| facts.get(i).cloned().flatten();
    let pid = field(0).unwrap_or_default();
    let port = field(1).and_then(|p| p.parse::<u16>().ok());
    let tcp_port = field(2).and_then(|p| p.parse::<u16>().ok());
    let addr = field(3).and_then(|a| a.parse::<std::net::IpAddr>().ok());
    let here = &session.endpoint;
    let direct = if here.socket {
        tcp_port.is_none() && port == Some(here.port)
    } else {
        tcp_port == Some(here.port) && here.addr.is_some() && here.addr == addr
    };
    if direct {
        return Ok(Pooling::Own);
    }
    probe(connector, session, &pid).await
}

/// The first row of a query's text results. The probe sends only simple-protocol queries:
/// a pooler sharing server connections may hold other clients' prepared statements there,
/// whose names an extended-protocol query could collide with.
async fn first_row(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<Vec<Option<String>>, ConnectError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| ConnectError::Failed(one_line(&e)))?;
    Ok(messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .unwrap_or_default())
}

async fn probe(
    connector: &Connector,
    session: &Session,
    pid: &str,
) -> Result<Pooling, ConnectError> {
    const PID: &str = "SELECT pg_backend_pid()";
    let other = connector.connect(&SessionSettings::MONITORING).await?;
    // Statement pooling refuses the transaction itself.
    if other.client.batch_execute("BEGIN").await.is_err() {
        return Ok(Pooling::PerTransaction);
    }
    let held = first_row(&other.client, PID).await?;
    let again = tokio::time::timeout(PROBE_WAIT, first_row(&session.client, PID)).await;
    let _ = other.client.batch_execute("COMMIT").await;
    let pid = Some(pid.to_string());
    let kept = match again {
        Ok(row) => row?.first().cloned().flatten() == pid,
        // Waiting for a server connection: it had none of its own.
        Err(_) => false,
    };
    let shared = held.first().cloned().flatten() == pid;
    Ok(if kept && !shared {
        Pooling::Own
    } else {
        Pooling::PerTransaction
    })
}
