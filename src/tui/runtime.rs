//! The event loop: terminal events, worker results, job events, a clock tick and signals go
//! into `update`; its effects go to `io` (spawned tasks); the screen is drawn only after a
//! change.

use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::io::{Io, log};
use super::msg::{Msg, Pointer};
use super::state::State;
use super::terminal::TerminalGuard;
use super::ui::{Theme, render};
use super::update::update;
use crate::ledger::Ledger;
use crate::pgconn::Connector;
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
    /// Capture the mouse (wheel and clicks); off, the terminal keeps its own selection.
    pub mouse: bool,
}

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
        super::io::schedules::start_scheduler(
            connector.clone(),
            executor.clone(),
            options.ledger.clone(),
            results_tx.clone(),
            scheduler_stopped,
        )
    });
    state.schedules.scheduler_on = scheduler.is_some();
    let mut io = Io::new(
        connector.clone(),
        options.ledger.clone(),
        executor.clone(),
        results_tx.clone(),
    );
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut guard = TerminalGuard::enter(options.mouse)?;
    // The size render will draw at: pages move by it from the first key.
    if let Ok(size) = guard.terminal.size() {
        state.screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    }
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // When the next frame is drawn: at once after a key, else a moment after the first
    // change, so that a tick and the poll results it brings become one frame.
    let mut draw_at = Some(tokio::time::Instant::now());
    log::console("console_opened", &state.target, state.read_only);
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
                // Without capture a terminal sends no mouse reports, but bytes that look
                // like one (pasted, or sent by a multiplexer) are still parsed as one.
                Some(Ok(Event::Mouse(m))) if options.mouse => match Pointer::of(m.kind) {
                    Some(kind) => Msg::Mouse { kind, column: m.column, row: m.row },
                    None => continue,
                },
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
        draw_at = if matches!(msg, Msg::Key(_) | Msg::Mouse { .. } | Msg::Resize { .. }) {
            Some(now)
        } else {
            draw_at.or(Some(now + COALESCE))
        };
        log::message(&msg);
        let health_before = crate::event_log::enabled().then(|| state.health.clone());
        for effect in update(&mut state, msg) {
            io.run(effect);
        }
        if let Some(before) = health_before {
            log::health(&before, &state.health);
        }
    }
    log::console("console_closed", &state.target, state.read_only);
    drop(guard);
    if let Some(mut handle) = scheduler {
        // Scheduled refreshes get a short grace (the scheduler's option), then are
        // cancelled; each outcome recorded. The timeout is a backstop for a hung server.
        let _ = stop_scheduler.send(true);
        drop(results);
        if tokio::time::timeout(Duration::from_millis(300), &mut handle)
            .await
            .is_err()
        {
            eprintln!(
                "mvtop: waiting for the scheduler's running refreshes (a few seconds, then they are cancelled)"
            );
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
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
