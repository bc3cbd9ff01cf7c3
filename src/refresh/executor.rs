//! Runs refresh jobs in the background, at most N at a time, and reports every state change
//! through one channel. The caller never waits on the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc};

use super::job::{self, CancelHandle, JobSpec, JobState, Outcome, OutcomeKind, Recorded};
use crate::ledger::Ledger;
use crate::pgconn::Connector;

pub type JobId = u64;

/// A state change of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    pub id: JobId,
    pub spec: Arc<JobSpec>,
    pub state: JobState,
}

#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Connector,
    ledger: Option<Ledger>,
    permits: Semaphore,
    events: mpsc::UnboundedSender<JobEvent>,
    next_id: AtomicU64,
    cancels: Mutex<HashMap<JobId, CancelHandle>>,
}

impl Executor {
    /// `ledger`: where outcomes are recorded (None: nowhere, the caller keeps them).
    pub fn new(
        connector: Connector,
        ledger: Option<Ledger>,
        concurrency: usize,
    ) -> (Executor, mpsc::UnboundedReceiver<JobEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let inner = Inner {
            connector,
            ledger,
            permits: Semaphore::new(concurrency.max(1)),
            events,
            next_id: AtomicU64::new(1),
            cancels: Mutex::new(HashMap::new()),
        };
        (
            Executor {
                inner: Arc::new(inner),
            },
            rx,
        )
    }

    /// Queues a refresh; its states arrive as events, the last one `Finished`.
    pub fn submit(&self, spec: JobSpec) -> JobId {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (handle, mut cancel) = CancelHandle::new();
        if let Ok(mut cancels) = self.inner.cancels.lock() {
            cancels.insert(id, handle);
        }
        let inner = self.inner.clone();
        let spec = Arc::new(spec);
        tokio::spawn(async move {
            let send = |state: JobState| {
                let _ = inner.events.send(JobEvent {
                    id,
                    spec: spec.clone(),
                    state,
                });
            };
            send(JobState::Queued);
            let permit = tokio::select! {
                permit = inner.permits.acquire() => permit.ok(),
                _ = cancel.wait_for(|c| *c) => None,
            };
            let outcome = match permit {
                Some(_permit) => {
                    let ledger = inner.ledger.as_ref();
                    job::run(&inner.connector, ledger, &spec, cancel, &send).await
                }
                None => Outcome {
                    kind: OutcomeKind::Cancelled,
                    duration_ms: None,
                    attempts: 0,
                    error: Some("cancelled before it started".into()),
                    recorded: Recorded::Nowhere,
                },
            };
            if let Ok(mut cancels) = inner.cancels.lock() {
                cancels.remove(&id);
            }
            send(JobState::Finished(outcome));
        });
        id
    }

    /// Asks a queued or running job to stop; false when it is not known (finished).
    pub fn cancel(&self, id: JobId) -> bool {
        match self.inner.cancels.lock() {
            Ok(cancels) => cancels.get(&id).map(CancelHandle::cancel).is_some(),
            Err(_) => false,
        }
    }
}
