//! The event loop: terminal events, worker results, job events, a clock tick and signals go
//! into `update`; its effects run as spawned tasks; the screen is drawn only after a change.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Mutex, mpsc};

use super::msg::{DetailData, Effect, Msg};
use super::schedules_io;
use super::sessions_io::{self, Prepared};
use super::state::State;
use super::terminal::{TerminalGuard, copy_to_clipboard};
use super::ui::{Theme, render};
use super::update::update;
use crate::catalog::pulse::{Pulse, PulseStatements};
use crate::catalog::{DetailsCache, Inventory, Reread};
use crate::inventory::FetchOptions;
use crate::ledger::{HistoryFilter, Ledger};
use crate::pgconn::{Connector, Session, SessionSettings};
use crate::refresh::Executor;

/// How the console runs.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    pub read_only: bool,
    pub poll_every: Duration,
    pub ledger: Ledger,
    /// Refreshes at the same time.
    pub jobs: usize,
    pub keymap: super::keymap::Keymap,
    /// Run the schedules in the background while the console is open (never read-only).
    pub scheduler: bool,
}

/// The one monitoring session (with the pulse and the sessions poll prepared on it),
/// reopened after it is lost.
pub(super) type Monitor = Arc<Mutex<Option<(Session, PulseStatements, Prepared)>>>;

pub async fn run(
    connector: Connector,
    target: String,
    options: ConsoleOptions,
) -> std::io::Result<()> {
    let theme = Theme::new(std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()));
    let mut state = State::new(
        target,
        options.read_only,
        options.poll_every,
        chrono::Utc::now(),
    );
    let (executor, mut job_events) = Executor::new(
        connector.clone(),
        Some(options.ledger.clone()),
        options.jobs,
    );
    let (results_tx, mut results) = mpsc::channel::<Msg>(64);
    let (stop_scheduler, scheduler_stopped) = tokio::sync::watch::channel(false);
    let scheduler = (options.scheduler && !options.read_only).then(|| {
        schedules_io::start_scheduler(
            connector.clone(),
            executor.clone(),
            options.ledger.clone(),
            results_tx.clone(),
            scheduler_stopped,
        )
    });
    state.schedules.scheduler_on = scheduler.is_some();
    let monitor: Monitor = Arc::new(Mutex::new(None));
    // What the inventory reads found of each MV: the next read skips the unchanged ones.
    let details = Arc::new(Mutex::new(DetailsCache::default()));
    let pg_cron: super::pg_cron::Shared = Arc::new(Mutex::new(None));
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut guard = TerminalGuard::enter()?;
    // The size render will draw at: pages move by it from the first key.
    if let Ok(size) = guard.terminal.size() {
        state.screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    }
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut benches = super::bench::BenchTasks::default();
    // When the next frame is drawn: at once after a key, else a moment after the first
    // change, so that a tick and the poll results it brings become one frame.
    let mut draw_at = Some(tokio::time::Instant::now());
    while !state.quit {
        if draw_at.is_some_and(|at| at <= tokio::time::Instant::now()) {
            draw(&mut guard, &state, &theme)?;
            draw_at = None;
        }
        let frame_due = async {
            match draw_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Some(Ok(Event::Resize(width, height))) => Msg::Resize { width, height },
                Some(Ok(_)) => continue,
                // The terminal is gone: nothing left to show.
                Some(Err(_)) | None => break,
            },
            Some(msg) = results.recv() => msg,
            Some(event) = job_events.recv() => Msg::Job(event),
            _ = tick.tick() => Msg::Tick(chrono::Utc::now()),
            _ = frame_due => continue,
            _ = term.recv() => break,
            _ = hup.recv() => break,
        };
        let now = tokio::time::Instant::now();
        draw_at = if matches!(msg, Msg::Key(_) | Msg::Resize { .. }) {
            Some(now)
        } else {
            draw_at.or(Some(now + COALESCE))
        };
        for effect in update(&mut state, msg) {
            match effect {
                Effect::FetchInventory {
                    generation,
                    again,
                    definitions,
                } => {
                    let with = FetchOptions {
                        ledger: options.ledger.clone(),
                        definitions,
                        // A read of every MV shares the work with a second session, opened
                        // for it and closed after; one of changes stays on the monitoring
                        // session.
                        second_session_from: if again == Reread::Changed && definitions {
                            i64::MAX
                        } else {
                            FetchOptions::default().second_session_from
                        },
                    };
                    tokio::spawn(poll(
                        connector.clone(),
                        (monitor.clone(), details.clone()),
                        (with, again),
                        generation,
                        results_tx.clone(),
                    ));
                }
                Effect::Pulse {
                    generation,
                    tables,
                    since,
                } => {
                    tokio::spawn(pulse(
                        connector.clone(),
                        monitor.clone(),
                        (generation, tables, since),
                        results_tx.clone(),
                    ));
                }
                Effect::FetchDetail {
                    oid,
                    ledger: with_ledger,
                } => {
                    let (connector, monitor, ledger) =
                        (connector.clone(), monitor.clone(), options.ledger.clone());
                    let results = results_tx.clone();
                    tokio::spawn(async move {
                        let mut slot = monitor.lock().await;
                        let result = match session(&connector, &mut slot).await {
                            Ok((s, ..)) => read_detail(&s.client, &ledger, oid, with_ledger).await,
                            Err(e) => Err(e),
                        };
                        let _ = results.send(Msg::Detail { oid, result }).await;
                    });
                }
                Effect::StartRefresh(spec) => {
                    executor.submit(spec);
                }
                Effect::CancelJob(id) => {
                    executor.cancel(id);
                }
                Effect::Bench(e) => benches.handle(e, &connector, &options.ledger, &results_tx),
                Effect::Copy(text) => copy_to_clipboard(&text),
                Effect::PollSessions { generation } => {
                    tokio::spawn(sessions_io::poll_sessions(
                        connector.clone(),
                        monitor.clone(),
                        generation,
                        results_tx.clone(),
                    ));
                }
                Effect::PollStatements { generation, source } => {
                    tokio::spawn(sessions_io::poll_statements(
                        connector.clone(),
                        monitor.clone(),
                        generation,
                        source,
                        results_tx.clone(),
                    ));
                }
                Effect::FetchStatementTexts { source, queryids } => {
                    tokio::spawn(sessions_io::statement_texts(
                        connector.clone(),
                        monitor.clone(),
                        source,
                        queryids,
                        results_tx.clone(),
                    ));
                }
                Effect::Signal { pid, signal } => {
                    tokio::spawn(sessions_io::signal(
                        connector.clone(),
                        monitor.clone(),
                        pid,
                        signal,
                        results_tx.clone(),
                    ));
                }
                Effect::FetchPgCron { mvs, ledger } => {
                    tokio::spawn(super::pg_cron::fetch(
                        connector.clone(),
                        pg_cron.clone(),
                        options.ledger.clone(),
                        (mvs, ledger),
                        results_tx.clone(),
                    ));
                }
                Effect::FetchSchedules { generation } => {
                    tokio::spawn(schedules_io::fetch(
                        connector.clone(),
                        monitor.clone(),
                        options.ledger.clone(),
                        generation,
                        results_tx.clone(),
                    ));
                }
                Effect::SaveSchedule {
                    oid,
                    schema,
                    name,
                    text,
                } => {
                    tokio::spawn(schedules_io::save(
                        connector.clone(),
                        monitor.clone(),
                        options.ledger.clone(),
                        (oid, schema, name, text),
                        results_tx.clone(),
                    ));
                }
                Effect::Quit => {}
            }
        }
    }
    drop(guard);
    if let Some(handle) = scheduler {
        // Scheduled refreshes get a short grace, then are cancelled; each outcome recorded.
        let _ = stop_scheduler.send(true);
        drop(results);
        let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
    }
    Ok(())
}

/// How long a change waits for the others that come with it before it is drawn: a tick's
/// polls answer within a few milliseconds on a healthy server.
const COALESCE: Duration = Duration::from_millis(40);

/// One frame, sent as a synchronized update: terminals that support it show it whole
/// (no tearing over a slow SSH link); others ignore the two sequences.
fn draw(guard: &mut TerminalGuard, state: &State, theme: &Theme) -> std::io::Result<()> {
    use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    ratatui::crossterm::queue!(guard.terminal.backend_mut(), BeginSynchronizedUpdate)?;
    guard.terminal.draw(|f| render(f, state, theme))?;
    ratatui::crossterm::execute!(guard.terminal.backend_mut(), EndSynchronizedUpdate)
}

async fn read_detail(
    client: &tokio_postgres::Client,
    ledger: &Ledger,
    oid: u32,
    with_ledger: bool,
) -> Result<DetailData, String> {
    let line = |e: tokio_postgres::Error| crate::pgconn::one_line(&e);
    let indexes = crate::catalog::indexes::indexes_of(client, oid)
        .await
        .map_err(line)?;
    let runs = if with_ledger {
        let filter = HistoryFilter {
            mv_oid: Some(oid),
            since: None,
            limit: Some(30),
        };
        ledger.history(client, &filter).await.map_err(line)?
    } else {
        Vec::new()
    };
    Ok(DetailData { runs, indexes })
}

/// The monitoring session, opened (and the polls prepared) when there is none.
pub(super) async fn session<'a>(
    connector: &Connector,
    slot: &'a mut Option<(Session, PulseStatements, Prepared)>,
) -> Result<&'a mut (Session, PulseStatements, Prepared), String> {
    if slot.as_ref().is_none_or(|(s, ..)| s.client.is_closed()) {
        let session = connector
            .connect(&SessionSettings::MONITORING)
            .await
            .map_err(|e| e.to_string())?;
        let statement = PulseStatements::prepare(&session.client)
            .await
            .map_err(|e| crate::pgconn::one_line(&e))?;
        let prepared = Prepared::new(&session.client)
            .await
            .map_err(|e| crate::pgconn::one_line(&e))?;
        *slot = Some((session, statement, prepared));
    }
    slot.as_mut().ok_or_else(|| "no session".to_string())
}

async fn pulse(
    connector: Connector,
    monitor: Monitor,
    (generation, tables, since): (u64, Vec<u32>, crate::catalog::pulse::Baseline),
    results: mpsc::Sender<Msg>,
) {
    let mut slot = monitor.lock().await;
    let result = match session(&connector, &mut slot).await {
        Ok((session, statements, _)) => Pulse::fetch(&session.client, statements, &tables, since)
            .await
            .map_err(|e| crate::pgconn::one_line(&e)),
        Err(e) => Err(e),
    };
    if result.is_err() && slot.as_ref().is_some_and(|(s, ..)| s.client.is_closed()) {
        *slot = None;
    }
    let _ = results.send(Msg::Pulse { generation, result }).await;
}

async fn poll(
    connector: Connector,
    (monitor, details): (Monitor, Arc<Mutex<DetailsCache>>),
    (with, again): (FetchOptions, Reread),
    generation: u64,
    results: mpsc::Sender<Msg>,
) {
    let mut slot = monitor.lock().await;
    let mut cache = details.lock().await;
    cache.forget(again);
    let helper = async || connector.connect(&SessionSettings::MONITORING).await.ok();
    let result = match session(&connector, &mut slot).await {
        Ok((session, ..)) => Inventory::fetch_reusing(&session.client, helper, with, &mut cache)
            .await
            .map(Box::new)
            .map_err(|e| crate::pgconn::one_line(&e)),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // What was kept may be half-merged: read everything next time.
        cache.forget(Reread::Everything);
    }
    drop(cache);
    if result.is_err() && slot.as_ref().is_some_and(|(s, ..)| s.client.is_closed()) {
        *slot = None;
    }
    let _ = results.send(Msg::Inventory { generation, result }).await;
}
