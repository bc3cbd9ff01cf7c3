//! A whole benchmark as the CLI and the console run it: the MV's usage first (the
//! benchmark's own reads would count), then the runs, then the conclusion.

use tokio::sync::watch;

use super::report::{BenchReport, assemble};
use super::runner::{self, BenchError, Options, Progress};
use super::subject::{Kind, Subject};
use super::usage::read_usage;
use crate::ledger::Ledger;
use crate::pgconn::{Connector, SessionSettings, one_line};

/// `ledger`: where to count the MV's refreshes, when installed. `history_refresh_ms`: its
/// recorded average refresh, for the verdict when the benchmark does not refresh.
pub async fn measure(
    connector: &Connector,
    subject: Subject,
    options: &Options,
    ledger: Option<&Ledger>,
    history_refresh_ms: Option<f64>,
    cancel: watch::Receiver<bool>,
    report: &(dyn Fn(Progress) + Send + Sync),
) -> Result<BenchReport, BenchError> {
    let usage = if subject.kind == Kind::MaterializedView {
        let session = connector
            .connect(&SessionSettings::MONITORING)
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))?;
        read_usage(&session.client, subject.oid, ledger)
            .await
            .map_err(|e| {
                BenchError::Failed(format!("reading the MV's statistics: {}", one_line(&e)))
            })?
    } else {
        None
    };
    let m = runner::run(connector, &subject, options, cancel, report).await?;
    let history = match subject.kind {
        Kind::MaterializedView => history_refresh_ms,
        Kind::View => None,
    };
    assemble(
        subject,
        options.runs,
        options.warmup,
        options.query.clone(),
        &m,
        usage,
        history,
    )
    .ok_or_else(|| BenchError::Failed("no measured runs".into()))
}

/// `measure` on a single-threaded runtime of its own, on its own thread. Like psql's one
/// thread, nothing sits between the socket and the clock: on the shared multi-threaded
/// runtime the connection task and the reading task would wake each other across threads
/// for every batch of rows, and in the console share the workers with polls and drawing.
#[allow(clippy::too_many_arguments)]
pub async fn measure_on_own_thread(
    connector: Connector,
    subject: Subject,
    options: Options,
    ledger: Option<Ledger>,
    history_refresh_ms: Option<f64>,
    cancel: watch::Receiver<bool>,
    report: impl Fn(Progress) + Send + Sync + 'static,
) -> Result<BenchReport, BenchError> {
    let work = move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                BenchError::Failed(format!("cannot start the benchmark's runtime: {e}"))
            })?;
        runtime.block_on(measure(
            &connector,
            subject,
            &options,
            ledger.as_ref(),
            history_refresh_ms,
            cancel,
            &report,
        ))
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BenchError::Failed(format!("the benchmark stopped: {e}")))?
}
