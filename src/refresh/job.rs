//! One refresh on its own session: checks, the per-MV advisory lock, lock_timeout with
//! retries, cancellation, and exactly one ledger record per outcome.
//!
//! The REFRESH runs inside a transaction together with the INSERT of its ledger row, so the
//! record commits if and only if the refresh does. Should the connection drop during the
//! COMMIT, the transaction's status (`txid_status`) tells afterwards whether it committed:
//! checked on a new session, after the old one has ended (its COMMIT may still be on its
//! way), not guessed.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::statement::{Mode, Target, names_missing, search_path_hint, statement};
use crate::catalog::writes::{table_writes, writes_of};
use crate::ledger::Ledger;
use crate::pgconn::{Connector, Session, SessionSettings, one_line};

/// Who asked for the refresh; recorded in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Console,
    Cli,
    Schedule,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Console => "console",
            Source::Cli => "cli",
            Source::Schedule => "schedule",
        }
    }
}

/// Limits of one refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A queued lock request blocks every later reader (plain) or writer (CONCURRENTLY):
    /// never wait longer than this for the MV's lock.
    pub lock_timeout: Duration,
    /// Attempts after a lock timeout, with growing pauses in between.
    pub lock_retries: u32,
    /// The first pause; each next one doubles, up to 30 s.
    pub retry_backoff: Duration,
    /// None: the refresh may take as long as it takes.
    pub statement_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            lock_timeout: Duration::from_secs(5),
            lock_retries: 3,
            retry_backoff: Duration::from_secs(1),
            statement_timeout: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub target: Target,
    pub mode: Mode,
    pub source: Source,
    pub limits: Limits,
}

/// Where a job is; reported as it changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    Queued,
    /// Waiting for the MV's lock, behind these sessions (when known).
    WaitingForLock {
        blocked_by: Vec<i32>,
    },
    /// Running on this backend.
    Running {
        pid: i32,
        attempt: u32,
    },
    /// Paused after a lock timeout before the next attempt.
    Retrying {
        attempt: u32,
        after: Duration,
    },
    Finished(Outcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Ok,
    Failed,
    Cancelled,
    TimedOut,
    /// Nothing ran: another process refreshes it, a standby, not the owner, dropped.
    Refused,
    /// Nothing ran: an MV it reads did not refresh (in a cascade).
    Skipped,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Cancelled => "cancelled",
            OutcomeKind::TimedOut => "timed_out",
            OutcomeKind::Refused => "refused",
            OutcomeKind::Skipped => "skipped",
        }
    }
}

/// Where the outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    Ledger,
    /// No ledger installed (or it could not be written): the caller keeps it in memory.
    Memory,
    /// Refusals are not runs and are not recorded.
    Nowhere,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// The REFRESH statement's own time (of the last attempt), as the client saw it.
    pub duration_ms: Option<f64>,
    pub attempts: u32,
    pub error: Option<String>,
    pub recorded: Recorded,
    /// The base tables' write counters just before the REFRESH: what it is fresh against.
    pub base_writes: Option<i64>,
}

/// Asks a running job to stop; the job records itself as cancelled.
#[derive(Debug, Clone)]
pub struct CancelHandle(watch::Sender<bool>);

impl CancelHandle {
    pub fn new() -> (CancelHandle, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(false);
        (CancelHandle(tx), rx)
    }

    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

/// Advisory-lock key space of mvtop's per-MV refresh lock: the high half of the bigint key
/// (pg_locks shows it as classid, the MV's oid as objid).
pub const ADVISORY_NAMESPACE: u32 = 0x6d76_746f; // "mvto"

fn advisory_key(oid: u32) -> i64 {
    (i64::from(ADVISORY_NAMESPACE) << 32) | i64::from(oid)
}

/// Runs one refresh to its end and reports each state through `report`.
pub async fn run(
    connector: &Connector,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    mut cancel: watch::Receiver<bool>,
    report: &(dyn Fn(JobState) + Send + Sync),
) -> Outcome {
    let settings = SessionSettings {
        lock_timeout: spec.limits.lock_timeout,
        // 0 = no limit, as in PostgreSQL.
        statement_timeout: spec.limits.statement_timeout.unwrap_or(Duration::ZERO),
        jit: true,
        parallel: true,
    };
    let session = match connector.connect(&settings).await {
        Ok(s) => s,
        Err(e) => return refused(e.to_string()),
    };
    let (backend, renamed) = match prepare(&session.client, spec).await {
        Ok(prepared) => prepared,
        Err(why) => return refused(why),
    };
    let pid = backend.pid;
    // Renamed since it was queued: refresh the same MV (by oid) under its name now.
    let current;
    let spec = match renamed {
        Some((schema, name)) => {
            let mut s = spec.clone();
            s.target.qualified_name = crate::catalog::ident::quote_qualified(&schema, &name);
            (s.target.schema, s.target.name) = (schema, name);
            current = s;
            &current
        }
        None => spec,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        report(JobState::Running { pid, attempt });
        let result = attempt_refresh(&session, ledger, spec, &mut cancel).await;
        match result {
            Attempt::LockTimeout(_) if attempt <= spec.limits.lock_retries && !*cancel.borrow() => {
                let pause = backoff(spec.limits.retry_backoff, attempt);
                report(JobState::Retrying {
                    attempt,
                    after: pause,
                });
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = cancel.changed() => {}
                }
                if *cancel.borrow() {
                    let outcome = Done::new(
                        OutcomeKind::Cancelled,
                        None,
                        Some("cancelled while waiting to retry".into()),
                    );
                    return finish(
                        connector, ledger, spec, &session, &backend, outcome, attempt,
                    )
                    .await;
                }
            }
            Attempt::LockTimeout(e) => {
                let why = format!(
                    "{e} (after {attempt} attempts of {:?} each)",
                    spec.limits.lock_timeout
                );
                let outcome = Done::new(OutcomeKind::TimedOut, None, Some(why));
                return finish(
                    connector, ledger, spec, &session, &backend, outcome, attempt,
                )
                .await;
            }
            Attempt::Finished(done) => {
                return finish(connector, ledger, spec, &session, &backend, done, attempt).await;
            }
        }
    }
}

fn refused(why: String) -> Outcome {
    Outcome {
        kind: OutcomeKind::Refused,
        duration_ms: None,
        attempts: 0,
        error: Some(why),
        recorded: Recorded::Nowhere,
        base_writes: None,
    }
}

fn backoff(first: Duration, attempt: u32) -> Duration {
    first
        .saturating_mul(1 << attempt.saturating_sub(1).min(10))
        .min(Duration::from_secs(30))
}

/// The job's server process, told apart from a later one with the same pid.
#[derive(Debug, Clone, Copy)]
struct Backend {
    pid: i32,
    started: Option<chrono::DateTime<chrono::Utc>>,
}

/// Marks the session as mvtop's (the event trigger skips it), checks that the refresh may
/// run at all, and takes the per-MV advisory lock. Returns the backend, and the MV's
/// schema and name when it was renamed since the job was made.
async fn prepare(
    client: &Client,
    spec: &JobSpec,
) -> Result<(Backend, Option<(String, String)>), String> {
    client
        .batch_execute("SET mvtop.recording = on")
        .await
        .map_err(|e| one_line(&e))?;
    let row = client
        .query_opt(
            "SELECT pg_backend_pid(), pg_is_in_recovery(), pg_get_userbyid(c.relowner)::text,
                    pg_has_role(c.relowner, 'USAGE')
                    OR (current_setting('server_version_num')::int >= 170000
                        AND has_table_privilege(c.oid, 'MAINTAIN')),
                    pg_try_advisory_lock($2),
                    n.nspname::text, c.relname::text,
                    (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = $1 AND c.relkind = 'm'",
            &[&spec.target.oid, &advisory_key(spec.target.oid)],
        )
        .await
        .map_err(|e| one_line(&e))?;
    let Some(row) = row else {
        return Err(format!(
            "materialized view {} no longer exists",
            spec.target.qualified_name
        ));
    };
    let (pid, standby, owner, may, locked): (i32, bool, String, bool, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    if standby {
        return Err("the server is a standby (in recovery): refreshing is impossible here".into());
    }
    if !may {
        return Err(format!(
            "only the owner of {} ({owner}) may refresh it (or, on PostgreSQL 17+, a role with MAINTAIN)",
            spec.target.qualified_name
        ));
    }
    if !locked {
        let holder: Option<i32> = client
            .query_opt(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
                   AND classid = $1::int8::oid AND objid = $2 AND objsubid = 1
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&i64::from(ADVISORY_NAMESPACE), &spec.target.oid],
            )
            .await
            .ok()
            .flatten()
            .map(|r| r.get(0));
        return Err(match holder {
            Some(p) => format!(
                "{} is already being refreshed by pid {p}",
                spec.target.qualified_name
            ),
            None => format!("{} is already being refreshed", spec.target.qualified_name),
        });
    }
    let schema: String = row.get(5);
    let name: String = row.get(6);
    let renamed =
        (schema != spec.target.schema || name != spec.target.name).then_some((schema, name));
    let backend = Backend {
        pid,
        started: row.get(7),
    };
    Ok((backend, renamed))
}

/// A finished attempt, before it is recorded.
#[derive(Debug)]
struct Done {
    kind: OutcomeKind,
    duration_ms: Option<f64>,
    error: Option<String>,
    /// The ledger row went in with the refresh's own transaction (and committed).
    recorded_in_tx: bool,
    /// The connection was lost during COMMIT: whether the refresh's transaction (this
    /// xid, when known) committed is to be looked up.
    commit_unknown: Option<Option<i64>>,
    base_writes: Option<i64>,
}

impl Done {
    fn new(kind: OutcomeKind, duration_ms: Option<f64>, error: Option<String>) -> Done {
        Done {
            kind,
            duration_ms,
            error,
            recorded_in_tx: false,
            commit_unknown: None,
            base_writes: None,
        }
    }
}

enum Attempt {
    LockTimeout(String),
    Finished(Done),
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

async fn attempt_refresh(
    session: &Session,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    cancel: &mut watch::Receiver<bool>,
) -> Attempt {
    let client = &session.client;
    if let Err(e) = client.batch_execute("BEGIN").await {
        return Attempt::Finished(Done::new(OutcomeKind::Failed, None, Some(one_line(&e))));
    }
    let xid = transaction_id(client).await;
    // Read in the refresh's transaction, before its snapshot: writes counted here are in it.
    let base_writes = table_writes(client, &spec.target.base_tables)
        .await
        .ok()
        .and_then(|w| writes_of(&spec.target.base_tables, &w));
    let sql = statement(&spec.target, spec.mode);
    let started = Instant::now();
    let mut cancelled = false;
    let result = {
        let refresh = client.batch_execute(&sql);
        tokio::pin!(refresh);
        loop {
            tokio::select! {
                r = &mut refresh => break r,
                changed = cancel.changed(), if !cancelled => {
                    if changed.is_ok() && *cancel.borrow() {
                        cancelled = true;
                        let _ = session.cancel().await;
                    } else if changed.is_err() {
                        // The handle is gone; nobody can cancel any more.
                        cancelled = true;
                    }
                }
            }
        }
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let attempt = match result {
        Ok(()) => commit(client, ledger, spec, duration_ms, base_writes, xid).await,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            let mut line = one_line(&e);
            if names_missing(e.code())
                && let Some(hint) = search_path_hint(server_version(client).await, e.code())
            {
                line.push_str(hint);
            }
            let kind = match e.code() {
                Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => return Attempt::LockTimeout(line),
                Some(c) if *c == SqlState::QUERY_CANCELED && cancelled && *cancel.borrow() => {
                    OutcomeKind::Cancelled
                }
                Some(c) if *c == SqlState::QUERY_CANCELED => OutcomeKind::TimedOut,
                _ => OutcomeKind::Failed,
            };
            // COMMIT was never sent: whatever happened, the refresh did not take effect.
            Attempt::Finished(Done::new(kind, Some(duration_ms), Some(line)))
        }
    };
    match attempt {
        Attempt::Finished(mut done) => {
            done.base_writes = base_writes;
            Attempt::Finished(done)
        }
        lock_timeout => lock_timeout,
    }
}

/// The transaction's id (assigned now rather than by the REFRESH): should the answer to its
/// COMMIT be lost, `txid_status` of it tells the outcome. One round trip, simple protocol.
async fn transaction_id(client: &Client) -> Option<i64> {
    let messages = client.simple_query("SELECT txid_current()").await.ok()?;
    messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse().ok(),
        _ => None,
    })
}

/// `server_version_num` (0 when it cannot be read: the session is gone).
async fn server_version(client: &Client) -> i32 {
    client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(0)
}

/// The ledger row goes in the refresh's own transaction, then COMMIT.
async fn commit(
    client: &Client,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    duration_ms: f64,
    base_writes: Option<i64>,
    xid: Option<i64>,
) -> Attempt {
    let token = run_token(spec);
    let mut done = Done::new(OutcomeKind::Ok, Some(duration_ms), None);
    if let Some(ledger) = ledger {
        let insert = ledger.insert_sql();
        let mut row = LedgerRow::new(spec, OutcomeKind::Ok, Some(duration_ms), None, &token);
        row.base_writes = base_writes;
        // A ledger that cannot be written must not undo a good refresh: savepoint.
        let _ = client.batch_execute("SAVEPOINT mvtop_record").await;
        match client.execute(&insert, &row.params()).await {
            Ok(_) => done.recorded_in_tx = true,
            Err(_) => {
                let _ = client
                    .batch_execute("ROLLBACK TO SAVEPOINT mvtop_record")
                    .await;
            }
        }
    }
    if let Err(e) = client.batch_execute("COMMIT").await {
        if e.is_closed() || e.code().is_none() {
            done.commit_unknown = Some(xid);
            done.error = Some(one_line(&e));
        } else {
            done = Done::new(OutcomeKind::Failed, Some(duration_ms), Some(one_line(&e)));
        }
    }
    Attempt::Finished(done)
}

/// Records `done` (unless it already went in with the refresh) and builds the outcome.
async fn finish(
    connector: &Connector,
    ledger: Option<&Ledger>,
    spec: &JobSpec,
    session: &Session,
    backend: &Backend,
    mut done: Done,
    attempts: u32,
) -> Outcome {
    let _ = session
        .client
        .execute(
            "SELECT pg_advisory_unlock($1)",
            &[&advisory_key(spec.target.oid)],
        )
        .await;
    let mut unknown = false;
    if let Some(xid) = done.commit_unknown.take() {
        let lost = done.error.take().unwrap_or_default();
        // Checked on a new session: did the refresh (and so its row) commit?
        match committed(connector, backend, xid).await {
            Some(true) => done.kind = OutcomeKind::Ok,
            Some(false) => {
                done.kind = OutcomeKind::Failed;
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
    let token = run_token(spec);
    let mut row = LedgerRow::new(
        spec,
        done.kind,
        done.duration_ms,
        done.error.clone(),
        &token,
    );
    row.base_writes = done.base_writes;
    let insert = ledger.insert_sql();
    if !session.client.is_closed() && session.client.execute(&insert, &row.params()).await.is_ok() {
        return Recorded::Ledger;
    }
    let Some(fresh) = reconnect(connector).await else {
        return Recorded::Memory;
    };
    match fresh.client.execute(&insert, &row.params()).await {
        Ok(_) => Recorded::Ledger,
        Err(_) => Recorded::Memory,
    }
}

/// The parameters of one ledger INSERT (see `Ledger::insert_sql`).
struct LedgerRow {
    oid: u32,
    schema: String,
    name: String,
    duration_ms: Option<f64>,
    concurrent: bool,
    with_data: bool,
    source: &'static str,
    outcome: &'static str,
    error: Option<String>,
    token: String,
    base_writes: Option<i64>,
}

impl LedgerRow {
    fn new(
        spec: &JobSpec,
        kind: OutcomeKind,
        duration_ms: Option<f64>,
        error: Option<String>,
        token: &str,
    ) -> LedgerRow {
        LedgerRow {
            oid: spec.target.oid,
            schema: spec.target.schema.clone(),
            name: spec.target.name.clone(),
            duration_ms,
            concurrent: spec.mode.concurrently,
            with_data: spec.mode.with_data,
            source: spec.source.as_str(),
            outcome: kind.as_str(),
            error,
            token: token.to_string(),
            base_writes: None,
        }
    }

    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 11] {
        [
            &self.oid,
            &self.schema,
            &self.name,
            &self.duration_ms,
            &self.concurrent,
            &self.with_data,
            &self.source,
            &self.outcome,
            &self.error,
            &self.token,
            &self.base_writes,
        ]
    }
}
