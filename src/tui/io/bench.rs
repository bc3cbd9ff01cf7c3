//! The console's benchmark tasks: started in the background, the running one's cancel
//! held here.

use tokio::sync::mpsc;

use crate::bench::runner::RefreshPlan;
use crate::bench::{self, BenchError, Options, Progress};
use crate::ledger::Ledger;
use crate::pgconn::{Connector, SessionSettings};
use crate::refresh::CancelHandle;
use crate::tui::bench::{BenchEffect, BenchEvent, BenchMsg, RUNS, TIMEOUT, WARMUP};
use crate::tui::msg::Msg;

/// The runtime's side: starts benchmarks as tasks and holds the running one's cancel.
#[derive(Default)]
pub struct BenchTasks {
    running: Option<(u64, CancelHandle)>,
}

/// Quitting the console cancels a running benchmark: its thread would otherwise hold the
/// process (the runtime waits for blocking tasks) until the benchmark ends.
impl Drop for BenchTasks {
    fn drop(&mut self) {
        if let Some((_, handle)) = &self.running {
            handle.cancel();
        }
    }
}

impl BenchTasks {
    pub fn handle(
        &mut self,
        effect: BenchEffect,
        connector: &Connector,
        ledger: &Ledger,
        results: &mpsc::Sender<Msg>,
    ) {
        match effect {
            BenchEffect::Cancel { generation } => {
                if let Some((g, handle)) = &self.running
                    && *g == generation
                {
                    handle.cancel();
                }
            }
            BenchEffect::Start {
                oid,
                generation,
                history_refresh_ms,
                ledger: with_ledger,
                refresh,
            } => {
                let (handle, cancelled) = CancelHandle::new();
                self.running = Some((generation, handle));
                let (connector, ledger, results) =
                    (connector.clone(), ledger.clone(), results.clone());
                tokio::spawn(async move {
                    let progress_to = results.clone();
                    // Progress may be dropped when the channel is full; the result never is.
                    let report = move |p: Progress| {
                        let _ = progress_to.try_send(Msg::Bench(BenchMsg {
                            oid,
                            generation,
                            event: BenchEvent::Progress(p),
                        }));
                    };
                    let result = async {
                        let session = connector
                            .connect(&SessionSettings::MONITORING)
                            .await
                            .map_err(|e| BenchError::Failed(e.to_string()))?;
                        let subject = bench::by_oid(&session.client, oid)
                            .await
                            .map_err(BenchError::Failed)?;
                        drop(session);
                        let options = Options {
                            runs: RUNS,
                            warmup: WARMUP,
                            query: None,
                            timeout: TIMEOUT,
                            refresh: refresh.map(|spec| RefreshPlan {
                                spec,
                                ledger: with_ledger.then(|| ledger.clone()),
                            }),
                        };
                        bench::measure_on_own_thread(
                            connector,
                            subject,
                            options,
                            with_ledger.then_some(ledger),
                            history_refresh_ms,
                            cancelled,
                            report,
                        )
                        .await
                        .map(Box::new)
                    }
                    .await;
                    let _ = results
                        .send(Msg::Bench(BenchMsg {
                            oid,
                            generation,
                            event: BenchEvent::Finished(result),
                        }))
                        .await;
                });
            }
        }
    }
}
