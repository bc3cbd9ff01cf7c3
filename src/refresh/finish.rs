//! The end of a job: its advisory lock released, a COMMIT whose answer was lost settled
//! (`txid_status` on a new session, once the old one has ended), and the outcome recorded
//! once: in the refresh's transaction already, else separately, else in memory.

use std::time::{Duration, Instant};

use super::attempt::{Backend, Done};
use super::blocked::BlockedWatch;
use super::cost::unmeasured;
use super::job::{JobSpec, Outcome, OutcomeKind, Recorded};
use super::lock;
use crate::catalog::cost::RunCost;
use crate::ledger::{Ledger, RunRecord};
use crate::pgconn::{Connector, Session, SessionSettings};

/// Records `done` (unless it already went in with the refresh) and builds the outcome.
// Each argument is a different owner's piece of the finished attempt; a struct bundling
// them would exist only for this call.
#[allow(clippy::too_many_arguments)]
pub(super) async fn finish(
    connector: &Connector,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    session: &Session,
    backend: &Backend,
    mut done: Done,
    attempts: u32,
    blocked: &BlockedWatch,
) -> Outcome {
    lock::release(&session.client, spec.target.oid).await;
    if *done.cost == RunCost::default() {
        done.cost = Box::new(unmeasured(done.kind, blocked));
    }
    let mut unknown = false;
    if let Some(xid) = done.commit_unknown.take() {
        let lost = done.error.take().unwrap_or_default();
        // Checked on a new session: did the refresh (and so its row) commit?
        match committed(connector, backend, xid).await {
            Some(true) => done.kind = OutcomeKind::Ok,
            Some(false) => {
                done.kind = OutcomeKind::Failed;
                done.cost = Box::new(unmeasured(done.kind, blocked));
                // Its row went with it.
                done.recorded_in_tx = false;
                done.error = Some(format!(
                    "connection lost during COMMIT; the refresh did not take effect ({lost})"
                ));
            }
            None => {
                // No server to ask: report honestly that the result is unknown, and record
                // nothing more (its row may have committed with it, or not).
                unknown = true;
                done.recorded_in_tx = false;
                done.kind = OutcomeKind::Failed;
                done.error = Some(format!(
                    "connection lost during COMMIT; whether the refresh took effect is unknown ({lost})"
                ));
            }
        }
    }
    let recorded = if done.recorded_in_tx {
        Recorded::Ledger
    } else if unknown {
        Recorded::Nowhere
    } else if let Some(ledger) = ledger {
        record_separately(connector, session, ledger, spec, &done).await
    } else {
        Recorded::Memory
    };
    Outcome {
        kind: done.kind,
        duration_ms: done.duration_ms,
        attempts,
        error: done.error,
        recorded,
        base_writes: done.base_writes,
        cost: done.cost,
    }
}

/// How long the job's old session may take to end once told to.
const OLD_SESSION_ENDS_WITHIN: Duration = Duration::from_secs(10);

/// Whether the transaction `xid` of `backend` committed; None when the server stays
/// unreachable or the answer cannot be had. While the old session is alive its COMMIT may
/// still arrive (the answer was lost, not necessarily the request): it is ended first, so
/// that the status read is final.
async fn committed(connector: &Connector, backend: &Backend, xid: Option<i64>) -> Option<bool> {
    let xid = xid?;
    let session = reconnect(connector).await?;
    let client = &session.client;
    let deadline = Instant::now() + OLD_SESSION_ENDS_WITHIN;
    loop {
        let status: Option<String> = client
            .query_one("SELECT txid_status($1)", &[&xid])
            .await
            .ok()?
            .get(0);
        match status.as_deref() {
            Some("committed") => return Some(true),
            Some("aborted") => return Some(false),
            // In progress: the old session still holds it (or NULL: too old to know).
            Some(_) if Instant::now() < deadline => {
                let _ = client
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE pid = $1 AND backend_start IS NOT DISTINCT FROM $2",
                        &[&backend.pid, &backend.started],
                    )
                    .await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => return None,
        }
    }
}

/// How long an outcome waits for the server to come back (a restart, a failover) to be
/// recorded in the ledger before it is kept in memory instead.
const RECONNECT_FOR: Duration = Duration::from_secs(30);

/// A new session once the server accepts one again, retried with growing pauses: the job's
/// own session died, most likely with the server.
async fn reconnect(connector: &Connector) -> Option<Session> {
    let deadline = Instant::now() + RECONNECT_FOR;
    let mut pause = Duration::from_millis(250);
    loop {
        match connector.connect(&SessionSettings::MONITORING).await {
            Ok(session) => return Some(session),
            Err(_) if Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(_) => return None,
        }
    }
}

/// Records a failure (or an ok whose in-transaction insert failed) on the job's session
/// when it is alive, else on a new one.
async fn record_separately(
    connector: &Connector,
    session: &Session,
    ledger: &Ledger,
    spec: &JobSpec,
    done: &Done,
) -> Recorded {
    let run = run_record(
        spec,
        done.kind,
        done.duration_ms,
        done.error.clone(),
        done.base_writes,
        &done.cost,
    );
    if !session.client.is_closed() && ledger.insert_run(&session.client, &run).await.is_ok() {
        return Recorded::Ledger;
    }
    let Some(fresh) = reconnect(connector).await else {
        return Recorded::Memory;
    };
    match ledger.insert_run(&fresh.client, &run).await {
        Ok(_) => Recorded::Ledger,
        Err(_) => Recorded::Memory,
    }
}

/// The ledger's record of a run of `spec`.
pub(super) fn run_record(
    spec: &JobSpec,
    kind: OutcomeKind,
    duration_ms: Option<f64>,
    error: Option<String>,
    base_writes: Option<i64>,
    cost: &RunCost,
) -> RunRecord {
    RunRecord {
        oid: spec.target.oid,
        schema: spec.target.schema.clone(),
        name: spec.target.name.clone(),
        duration_ms,
        concurrent: spec.mode.concurrently,
        with_data: spec.mode.with_data,
        source: spec.source.as_str(),
        outcome: kind.as_str(),
        error,
        token: run_token(spec),
        base_writes,
        cost: cost.clone(),
    }
}

/// A fresh token for each run, so a row can be found again after a lost connection.
fn run_token(spec: &JobSpec) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        spec.target.oid,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
