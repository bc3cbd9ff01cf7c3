//! One measured read of a case: timed as the client sees it (every row fetched) and under
//! EXPLAIN ANALYZE, each in its own READ ONLY transaction, every statement guarded against
//! cancel and timeout.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, pin_mut};
use tokio::sync::watch;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::SqlState;

use super::{Bench, BenchError, CaseRuns, humantime, ms_since};
use crate::bench::sql::{self, ExplainFigures};
use crate::pgconn::{Session, one_line};

/// One read: its client time, rows and (when counted) bytes.
struct Read {
    ms: f64,
    rows: i64,
    bytes: Option<u64>,
}

impl Bench<'_> {
    /// One timed read of `c` (every row fetched) and one EXPLAIN ANALYZE of it.
    pub(super) async fn measure_read(
        &mut self,
        c: &mut CaseRuns,
        warmup: bool,
        own_transaction: bool,
    ) -> Result<(), BenchError> {
        self.step(c.name, warmup);
        let kind = ReadKind::Timed {
            count_bytes: c.bytes.is_none(),
        };
        let read = self
            .in_read_only(own_transaction, c.name, kind, &c.statement)
            .await?;
        if let Outcome::Read(Read {
            bytes: Some(bytes), ..
        }) = &read
        {
            c.bytes = Some(*bytes);
        }
        self.step(c.name, warmup);
        let explained = self
            .in_read_only(own_transaction, c.name, ReadKind::Explain, &c.statement)
            .await?;
        if warmup {
            return Ok(());
        }
        if let Outcome::Read(r) = read {
            c.client_ms.push(r.ms);
            c.rows = Some(r.rows);
        }
        if let Outcome::Explained(e) = explained {
            c.server_ms.push(e.execution_ms);
            c.shared_hit = Some(e.shared_hit);
            c.shared_read = Some(e.shared_read);
        }
        Ok(())
    }

    async fn in_read_only(
        &mut self,
        own_transaction: bool,
        case: &str,
        kind: ReadKind,
        statement: &str,
    ) -> Result<Outcome, BenchError> {
        let client = &self.session.client;
        if own_transaction {
            client
                .batch_execute("BEGIN TRANSACTION READ ONLY")
                .await
                .map_err(|e| BenchError::Failed(one_line(&e)))?;
        }
        let result = match kind {
            ReadKind::Timed { count_bytes } => self
                .timed_read(case, statement, count_bytes)
                .await
                .map(Outcome::Read),
            ReadKind::Explain => self.explain(case, statement).await.map(Outcome::Explained),
        };
        if own_transaction {
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = self.session.client.batch_execute(end).await;
            if result.is_ok() {
                ended.map_err(|e| BenchError::Failed(one_line(&e)))?;
            }
        }
        result
    }

    /// The statement as an application runs it (simple query protocol, text results, as
    /// psql does), every row fetched, and its values' bytes counted when asked.
    async fn timed_read(
        &mut self,
        case: &str,
        statement: &str,
        count_bytes: bool,
    ) -> Result<Read, BenchError> {
        let client = &self.session.client;
        let started = Instant::now();
        let fetch = async {
            let stream = client.simple_query_raw(statement).await?;
            pin_mut!(stream);
            let (mut rows, mut bytes) = (0i64, 0u64);
            while let Some(message) = stream.next().await {
                if let SimpleQueryMessage::Row(row) = message? {
                    rows += 1;
                    if count_bytes {
                        for i in 0..row.len() {
                            bytes += row.try_get(i)?.map_or(0, |v| v.len() as u64);
                        }
                    }
                }
            }
            Ok((rows, bytes))
        };
        let (rows, bytes) =
            guard(self.session, &mut self.cancel, self.timeout, case, fetch).await?;
        Ok(Read {
            ms: ms_since(started),
            rows,
            bytes: count_bytes.then_some(bytes),
        })
    }

    /// The server's execution time and buffers. Sent with the extended protocol, which
    /// takes exactly one statement: a `--query` holding several is refused here.
    async fn explain(&mut self, case: &str, statement: &str) -> Result<ExplainFigures, BenchError> {
        let client = &self.session.client;
        let text = sql::explain(statement);
        let row = guard(
            self.session,
            &mut self.cancel,
            self.timeout,
            case,
            client.query_one(&text, &[]),
        )
        .await?;
        let json: serde_json::Value = row
            .try_get(0)
            .map_err(|e| BenchError::Failed(format!("EXPLAIN output unreadable: {e}")))?;
        sql::parse_explain(&json)
            .ok_or_else(|| BenchError::Failed("EXPLAIN output has no execution time".into()))
    }
}

enum ReadKind {
    Timed { count_bytes: bool },
    Explain,
}

enum Outcome {
    Read(Read),
    Explained(ExplainFigures),
}

/// Runs one statement; a cancel request is sent to the server as a CancelRequest, and
/// the statement's own error then says whether it was cancelled or timed out.
pub(super) async fn guard<T>(
    session: &Session,
    cancel: &mut watch::Receiver<bool>,
    timeout: Duration,
    case: &str,
    statement: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, BenchError> {
    if *cancel.borrow() {
        return Err(BenchError::Cancelled);
    }
    let mut asked = false;
    pin_mut!(statement);
    let result = loop {
        tokio::select! {
            r = &mut statement => break r,
            changed = cancel.changed(), if !asked => {
                asked = true;
                if changed.is_ok() && *cancel.borrow() {
                    let _ = session.cancel().await;
                }
            }
        }
    };
    result.map_err(|e| match e.code() {
        Some(c) if *c == SqlState::QUERY_CANCELED && *cancel.borrow() => BenchError::Cancelled,
        Some(c) if *c == SqlState::QUERY_CANCELED => BenchError::TimedOut(format!(
            "{case} did not finish within --timeout {} (canceling statement due to statement timeout)",
            humantime(timeout)
        )),
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => BenchError::TimedOut(format!(
            "{case} waited longer than --timeout {} for a lock (is the MV being refreshed?)",
            humantime(timeout)
        )),
        _ => BenchError::Failed(format!("{case}: {}", one_line(&e))),
    })
}
