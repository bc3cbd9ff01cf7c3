//! Runs a benchmark on the server: the view and the MV read alternately, each timed as the
//! client sees it (every row fetched) and, in a second run under EXPLAIN ANALYZE, as the
//! server executes it; optionally the refresh through the refresh engine.
//!
//! Every read runs in its own READ ONLY transaction on a session whose statement_timeout
//! is the benchmark's timeout, so none holds a snapshot or a lock longer than one
//! statement. A plain view is measured through a temporary MV created inside a transaction
//! that is always rolled back: nothing is left behind, even when the connection drops
//! (the server aborts the transaction).

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, pin_mut};
use tokio::sync::watch;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::SqlState;

use super::sql::{self, ExplainFigures};
use super::subject::{Kind, Subject};
use crate::catalog::ident::quote_qualified;
use crate::ledger::Ledger;
use crate::pgconn::{Connector, Session, SessionSettings, one_line};
use crate::refresh::{self, JobSpec, OutcomeKind};

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Measured rounds.
    pub runs: u32,
    /// Rounds run first and thrown away (caches, plans).
    pub warmup: u32,
    /// The user's read with `{}` where the view or MV goes; None: a full read.
    pub query: Option<String>,
    /// Longest time of any one statement.
    pub timeout: Duration,
    /// MVs only: refresh once per measured round through the refresh engine (it changes
    /// the database and is recorded in the ledger like every refresh).
    pub refresh: Option<RefreshPlan>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshPlan {
    pub spec: JobSpec,
    pub ledger: Option<Ledger>,
}

/// Where a running benchmark is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub done: u32,
    pub total: u32,
    /// What runs now: `view`, `mv`, `refresh`, `create`, with `(warm-up)` during warm-ups.
    pub step: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BenchError {
    #[error("benchmark cancelled")]
    Cancelled,
    #[error("{0}")]
    TimedOut(String),
    #[error("{0}")]
    Failed(String),
}

/// The runs of one case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseRuns {
    /// `view`, `mv`, `refresh` or `create`.
    pub name: &'static str,
    /// The statement as sent (without EXPLAIN).
    pub statement: String,
    /// Client-observed time, every row fetched, per measured run.
    pub client_ms: Vec<f64>,
    /// Execution time from EXPLAIN ANALYZE, per measured run (reads only).
    pub server_ms: Vec<f64>,
    /// Rows of the last measured run (reads only).
    pub rows: Option<i64>,
    /// Bytes of the values as text (reads only). Counted in the first run only (a warm-up
    /// when there is one): looking at every value costs the client time of its own, 5-8%
    /// of a read of a few hundred thousand rows.
    pub bytes: Option<u64>,
    /// Shared buffers hit and read by the last EXPLAIN ANALYZE (reads only).
    pub shared_hit: Option<i64>,
    pub shared_read: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    pub view: CaseRuns,
    pub mv: CaseRuns,
    pub refresh: Option<CaseRuns>,
    /// Plain views only: creating the temporary MV (once).
    pub create: Option<CaseRuns>,
}

/// Settings of the benchmark's session: every statement bounded by the timeout, JIT as the
/// server has it (the application's reads get it too).
fn settings(timeout: Duration) -> SessionSettings {
    SessionSettings {
        lock_timeout: timeout,
        statement_timeout: timeout,
        jit: true,
        parallel: true,
    }
}

pub async fn run(
    connector: &Connector,
    subject: &Subject,
    options: &Options,
    cancel: watch::Receiver<bool>,
    report: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Measurements, BenchError> {
    if options.runs == 0 {
        return Err(BenchError::Failed("--runs must be at least 1".into()));
    }
    if subject.kind == Kind::MaterializedView && !subject.populated {
        return Err(BenchError::Failed(format!(
            "{} is not populated (it was created or refreshed WITH NO DATA): refresh it first",
            subject.qualified_name
        )));
    }
    let session = connector
        .connect(&settings(options.timeout))
        .await
        .map_err(|e| BenchError::Failed(e.to_string()))?;
    let mut bench = Bench {
        session: &session,
        cancel,
        timeout: options.timeout,
        report,
        done: 0,
        total: 0,
    };
    match subject.kind {
        Kind::MaterializedView => bench.materialized(connector, subject, options).await,
        Kind::View => bench.plain_view(subject, options).await,
    }
}

struct Bench<'a> {
    session: &'a Session,
    cancel: watch::Receiver<bool>,
    timeout: Duration,
    report: &'a (dyn Fn(Progress) + Send + Sync),
    done: u32,
    total: u32,
}

/// One read: its client time, rows and (when counted) bytes.
struct Read {
    ms: f64,
    rows: i64,
    bytes: Option<u64>,
}

impl Bench<'_> {
    fn step(&mut self, step: &str, warmup: bool) {
        let step = if warmup {
            format!("{step} (warm-up)")
        } else {
            step.to_string()
        };
        (self.report)(Progress {
            done: self.done,
            total: self.total,
            step,
        });
        self.done += 1;
    }

    fn finished(&self) {
        (self.report)(Progress {
            done: self.total,
            total: self.total,
            step: "done".into(),
        });
    }

    async fn materialized(
        &mut self,
        connector: &Connector,
        subject: &Subject,
        options: &Options,
    ) -> Result<Measurements, BenchError> {
        let rounds = options.warmup + options.runs;
        let refreshes = if options.refresh.is_some() {
            options.runs
        } else {
            0
        };
        self.total = rounds * 4 + refreshes;
        let view_sql = sql::read_statement(
            options.query.as_deref(),
            &sql::view_source(&subject.definition, &subject.name),
        )
        .map_err(BenchError::Failed)?;
        let mv_sql = sql::read_statement(
            options.query.as_deref(),
            &sql::mv_source(&subject.schema, &subject.name),
        )
        .map_err(BenchError::Failed)?;
        let mut view = case("view", &view_sql);
        let mut mv = case("mv", &mv_sql);
        let mut refresh = options
            .refresh
            .as_ref()
            .map(|r| case("refresh", &refresh::statement(&r.spec.target, r.spec.mode)));
        for round in 0..rounds {
            let warmup = round < options.warmup;
            // A, B then B, A: drift and order effects fall on both alike.
            let order: [&mut CaseRuns; 2] = if round % 2 == 0 {
                [&mut view, &mut mv]
            } else {
                [&mut mv, &mut view]
            };
            for c in order {
                self.measure_read(c, warmup, true).await?;
            }
            if let (Some(plan), Some(runs), false) = (&options.refresh, refresh.as_mut(), warmup) {
                self.step("refresh", false);
                let ms = self.refresh_through_engine(connector, plan).await?;
                runs.client_ms.push(ms);
            }
        }
        self.finished();
        Ok(Measurements {
            view,
            mv,
            refresh,
            create: None,
        })
    }

    /// A plain view: a temporary MV of its definition, created, read and refreshed inside
    /// one transaction that is rolled back whatever happens.
    async fn plain_view(
        &mut self,
        subject: &Subject,
        options: &Options,
    ) -> Result<Measurements, BenchError> {
        let rounds = options.warmup + options.runs;
        self.total = 1 + rounds * 4 + options.runs;
        let client = &self.session.client;
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| BenchError::Failed(one_line(&e)))?;
        let result = self.in_rolled_back_transaction(subject, options).await;
        // Also after a cancel or a timeout: the transaction is aborted, ROLLBACK ends it.
        let rollback = self.session.client.batch_execute("ROLLBACK").await;
        let measurements = result?;
        rollback.map_err(|e| BenchError::Failed(one_line(&e)))?;
        self.finished();
        Ok(measurements)
    }

    async fn in_rolled_back_transaction(
        &mut self,
        subject: &Subject,
        options: &Options,
    ) -> Result<Measurements, BenchError> {
        // In the view's schema, so the definition resolves its names exactly as the view's
        // does; the name is this backend's, so two benchmarks never collide (and no one
        // else ever sees it: it never commits).
        let temp_name = format!("mvtop_bench_{}_{}", std::process::id(), subject.oid);
        let create_sql = sql::create_temporary_mv(&subject.schema, &temp_name, &subject.definition);
        let mut create = case("create", &create_sql);
        self.step("create", false);
        let started = Instant::now();
        let client = &self.session.client;
        let created = guard(
            self.session,
            &mut self.cancel,
            self.timeout,
            "creating the temporary MV",
            client.batch_execute(&create_sql),
        )
        .await;
        if let Err(BenchError::Failed(e)) = &created
            && e.contains("permission denied for schema")
        {
            return Err(BenchError::Failed(format!(
                "{e} (a plain view is measured through a temporary MV created in its schema \
                 and rolled back: that needs CREATE on schema {})",
                crate::catalog::ident::quote_ident(&subject.schema)
            )));
        }
        created?;
        create.client_ms.push(ms_since(started));
        let view_sql = sql::read_statement(
            options.query.as_deref(),
            &quote_qualified(&subject.schema, &subject.name),
        )
        .map_err(BenchError::Failed)?;
        let temp_sql = sql::read_statement(
            options.query.as_deref(),
            &quote_qualified(&subject.schema, &temp_name),
        )
        .map_err(BenchError::Failed)?;
        let refresh_sql = format!(
            "REFRESH MATERIALIZED VIEW {}",
            quote_qualified(&subject.schema, &temp_name)
        );
        let mut view = case("view", &view_sql);
        let mut mv = case("mv", &temp_sql);
        let mut refresh = case("refresh", &refresh_sql);
        let rounds = options.warmup + options.runs;
        for round in 0..rounds {
            let warmup = round < options.warmup;
            let order: [&mut CaseRuns; 2] = if round % 2 == 0 {
                [&mut view, &mut mv]
            } else {
                [&mut mv, &mut view]
            };
            for c in order {
                // Already inside the (read-write) transaction that holds the temporary MV.
                self.measure_read(c, warmup, false).await?;
            }
            if !warmup {
                self.step("refresh", false);
                let started = Instant::now();
                let client = &self.session.client;
                guard(
                    self.session,
                    &mut self.cancel,
                    self.timeout,
                    "refresh",
                    client.batch_execute(&refresh_sql),
                )
                .await?;
                refresh.client_ms.push(ms_since(started));
            }
        }
        Ok(Measurements {
            view,
            mv,
            refresh: Some(refresh),
            create: Some(create),
        })
    }

    /// One timed read of `c` (every row fetched) and one EXPLAIN ANALYZE of it.
    async fn measure_read(
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

    async fn refresh_through_engine(
        &mut self,
        connector: &Connector,
        plan: &RefreshPlan,
    ) -> Result<f64, BenchError> {
        if *self.cancel.borrow() {
            return Err(BenchError::Cancelled);
        }
        let outcome = refresh::job::run(
            connector,
            plan.ledger.as_ref(),
            &plan.spec,
            self.cancel.clone(),
            &|_| {},
        )
        .await;
        let error = || outcome.error.clone().unwrap_or_default();
        match (outcome.kind, outcome.duration_ms) {
            (OutcomeKind::Ok, Some(ms)) => Ok(ms),
            (OutcomeKind::Cancelled, _) => Err(BenchError::Cancelled),
            (OutcomeKind::TimedOut, _) => Err(BenchError::TimedOut(format!(
                "refresh of {} did not finish within --timeout {} ({})",
                plan.spec.target.qualified_name,
                humantime(self.timeout),
                error()
            ))),
            _ => Err(BenchError::Failed(format!(
                "refresh of {} failed: {}",
                plan.spec.target.qualified_name,
                error()
            ))),
        }
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

fn case(name: &'static str, statement: &str) -> CaseRuns {
    CaseRuns {
        name,
        statement: statement.to_string(),
        ..CaseRuns::default()
    }
}

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

fn humantime(d: Duration) -> String {
    crate::format::duration_ms(d.as_secs_f64() * 1000.0)
}

/// Runs one statement; a cancel request is sent to the server as a CancelRequest, and
/// the statement's own error then says whether it was cancelled or timed out.
async fn guard<T>(
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
