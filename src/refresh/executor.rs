//! Runs refresh jobs in the background, at most N at a time, and reports every state change
//! through one channel. The caller never waits on the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc};

use super::blocked::BlockedWatch;
use super::job::{self, CancelHandle, JobSpec, JobState, Outcome, OutcomeKind, Recorded};
use crate::catalog::sessions::blocked::blocked_by;
use crate::ledger::Ledger;
use crate::pgconn::{Connector, Session, SessionSettings};

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
    /// Every subscriber gets every event; closed ones are dropped.
    events: Mutex<Vec<mpsc::UnboundedSender<JobEvent>>>,
    next_id: AtomicU64,
    cancels: Mutex<HashMap<JobId, CancelHandle>>,
    /// Jobs whose REFRESH is on the server now, watched for lock waits.
    running: Mutex<HashMap<JobId, Watched>>,
    /// Wakes the lock watcher when a job starts (or the executor is dropped): an idle
    /// executor polls nothing.
    started: Arc<Notify>,
    /// The tally of the sessions each unfinished job blocks.
    blocked: Mutex<HashMap<JobId, BlockedWatch>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.started.notify_one();
    }
}

/// A running job as the lock watcher sees it.
struct Watched {
    spec: Arc<JobSpec>,
    pid: i32,
    attempt: u32,
    /// Blockers last reported; None while not waiting.
    blocked_by: Option<Vec<i32>>,
    /// Where the sessions waiting behind it are tallied.
    blocks: BlockedWatch,
}

/// How often running refreshes are checked for lock waits.
const WATCH_EVERY: Duration = Duration::from_millis(250);

impl Inner {
    /// Sends a job's state; `running` is kept in step under its lock, so the watcher can
    /// never report a wait after the job has finished.
    fn report(&self, id: JobId, spec: &Arc<JobSpec>, state: JobState) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        match &state {
            JobState::Running { pid, attempt } => {
                let blocks = match self.blocked.lock() {
                    Ok(b) => b.get(&id).cloned().unwrap_or_default(),
                    Err(_) => BlockedWatch::new(),
                };
                let watched = Watched {
                    spec: spec.clone(),
                    pid: *pid,
                    attempt: *attempt,
                    blocked_by: None,
                    blocks,
                };
                running.insert(id, watched);
                self.started.notify_one();
            }
            _ => {
                running.remove(&id);
            }
        }
        self.send(JobEvent {
            id,
            spec: spec.clone(),
            state,
        });
    }

    fn send(&self, event: JobEvent) {
        if let Ok(mut subscribers) = self.events.lock() {
            subscribers.retain(|s| s.send(event.clone()).is_ok());
        }
    }
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
            events: Mutex::new(vec![events]),
            next_id: AtomicU64::new(1),
            cancels: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            started: Arc::new(Notify::new()),
            blocked: Mutex::new(HashMap::new()),
        };
        let inner = Arc::new(inner);
        tokio::spawn(watch_lock_waits(Arc::downgrade(&inner)));
        (Executor { inner }, rx)
    }

    /// Another receiver of every job event from now on (the scheduler's, beside the
    /// console's).
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<JobEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut subscribers) = self.inner.events.lock() {
            subscribers.push(tx);
        }
        rx
    }

    /// Queues a refresh; its states arrive as events, the last one `Finished`.
    pub fn submit(&self, spec: JobSpec) -> JobId {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (handle, mut cancel) = CancelHandle::new();
        if let Ok(mut cancels) = self.inner.cancels.lock() {
            cancels.insert(id, handle);
        }
        let blocked = BlockedWatch::new();
        if let Ok(mut b) = self.inner.blocked.lock() {
            b.insert(id, blocked.clone());
        }
        let inner = self.inner.clone();
        let spec = Arc::new(spec);
        tokio::spawn(async move {
            let send = |state: JobState| inner.report(id, &spec, state);
            send(JobState::Queued);
            let permit = tokio::select! {
                permit = inner.permits.acquire() => permit.ok(),
                _ = cancel.wait_for(|c| *c) => None,
            };
            let outcome = match permit {
                Some(_permit) => {
                    let ledger = inner.ledger.as_ref();
                    job::run_watched(&inner.connector, ledger, &spec, cancel, &send, &blocked).await
                }
                None => Outcome {
                    kind: OutcomeKind::Cancelled,
                    duration_ms: None,
                    attempts: 0,
                    error: Some("cancelled before it started".into()),
                    recorded: Recorded::Nowhere,
                    base_writes: None,
                    cost: Default::default(),
                },
            };
            if let Ok(mut cancels) = inner.cancels.lock() {
                cancels.remove(&id);
            }
            if let Ok(mut b) = inner.blocked.lock() {
                b.remove(&id);
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

/// Reports `WaitingForLock` (with the blocking pids) and back to `Running` for the jobs on
/// the server, and samples the sessions waiting behind them, from one monitoring session,
/// until the executor is gone.
async fn watch_lock_waits(inner: Weak<Inner>) {
    let mut session: Option<Session> = None;
    let mut ticker = tokio::time::interval(WATCH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let pids: Vec<i32> = match inner.running.lock() {
            Ok(running) => running.values().map(|w| w.pid).collect(),
            Err(_) => return,
        };
        if pids.is_empty() {
            // Nothing runs: sleep until a job starts, without keeping the executor alive.
            let started = inner.started.clone();
            drop(inner);
            started.notified().await;
            ticker.reset();
            continue;
        }
        if session.as_ref().is_none_or(|s| s.client.is_closed()) {
            session = inner
                .connector
                .connect(&SessionSettings::MONITORING)
                .await
                .ok();
        }
        let Some(s) = &session else { continue };
        let Ok(rows) = s
            .client
            .query(
                "SELECT pid, CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END
                 FROM pg_stat_activity WHERE pid = ANY($1)",
                &[&pids],
            )
            .await
        else {
            continue;
        };
        let waits: HashMap<i32, Option<Vec<i32>>> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        // The sessions waiting behind them, tallied per job (what each refresh blocked).
        let waiters = blocked_by(&s.client, &pids).await.ok();
        let Ok(mut running) = inner.running.lock() else {
            return;
        };
        for (id, w) in running.iter_mut() {
            if let Some(seen) = &waiters {
                w.blocks.add(w.pid, seen);
            }
            let Some(now) = waits.get(&w.pid) else {
                continue;
            };
            if *now == w.blocked_by {
                continue;
            }
            w.blocked_by = now.clone();
            let state = match now {
                Some(blocked_by) => JobState::WaitingForLock {
                    blocked_by: blocked_by.clone(),
                },
                None => JobState::Running {
                    pid: w.pid,
                    attempt: w.attempt,
                },
            };
            inner.send(JobEvent {
                id: *id,
                spec: w.spec.clone(),
                state,
            });
        }
    }
}
