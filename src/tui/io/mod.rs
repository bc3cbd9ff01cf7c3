//! All of the console's I/O: `Io::run` carries out one `Effect` as a spawned task whose
//! answer comes back as a `Msg` on the results channel. Reads share the one monitoring
//! session (`monitor.rs`); a signal never waits behind them (`sessions.rs`); pg_cron and
//! benchmarks use sessions of their own.

pub mod bench;
pub mod inventory;
pub mod log;
pub mod monitor;
pub mod pg_cron;
pub mod schedules;
pub mod sessions;

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

use super::msg::{Effect, Msg};
use crate::catalog::{DetailsCache, Reread};
use crate::inventory::FetchOptions;
use crate::ledger::Ledger;
use crate::pgconn::Connector;
use crate::refresh::Executor;
use monitor::Monitor;

/// What the effects run with, shared by every task they spawn.
pub struct Io {
    connector: Connector,
    ledger: Ledger,
    executor: Executor,
    results: mpsc::Sender<Msg>,
    monitor: Monitor,
    /// What the inventory reads found of each MV: the next read skips the unchanged ones.
    details: Arc<Mutex<DetailsCache>>,
    pg_cron: pg_cron::Shared,
    benches: bench::BenchTasks,
}

impl Io {
    pub fn new(
        connector: Connector,
        ledger: Ledger,
        executor: Executor,
        results: mpsc::Sender<Msg>,
    ) -> Io {
        Io {
            connector,
            ledger,
            executor,
            results,
            monitor: Arc::new(Mutex::new(None)),
            details: Arc::new(Mutex::new(DetailsCache::default())),
            pg_cron: Arc::new(Mutex::new(None)),
            benches: bench::BenchTasks::default(),
        }
    }

    /// Starts `effect`; it answers on the results channel. Never waits on the database.
    pub fn run(&mut self, effect: Effect) {
        let (connector, results) = (self.connector.clone(), self.results.clone());
        match effect {
            Effect::FetchInventory {
                generation,
                again,
                definitions,
            } => {
                let with = FetchOptions {
                    ledger: self.ledger.clone(),
                    definitions,
                    // A read of every MV shares the work with a second session, opened for
                    // it and closed after; one of changes stays on the monitoring session.
                    second_session_from: if again == Reread::Changed && definitions {
                        i64::MAX
                    } else {
                        FetchOptions::default().second_session_from
                    },
                };
                tokio::spawn(inventory::poll(
                    connector,
                    (self.monitor.clone(), self.details.clone()),
                    (with, again),
                    generation,
                    results,
                ));
            }
            Effect::Pulse {
                generation,
                tables,
                since,
            } => {
                tokio::spawn(inventory::pulse(
                    connector,
                    self.monitor.clone(),
                    (generation, tables, since),
                    results,
                ));
            }
            Effect::FetchDetail {
                oid,
                generation,
                ledger,
                runs,
            } => {
                tokio::spawn(inventory::detail(
                    connector,
                    self.monitor.clone(),
                    self.ledger.clone(),
                    (oid, generation, ledger, runs),
                    results,
                ));
            }
            Effect::StartRefresh(spec) => {
                self.executor.submit(spec);
            }
            Effect::CancelJob(id) => {
                self.executor.cancel(id);
            }
            Effect::Bench(e) => self.benches.handle(e, &connector, &self.ledger, &results),
            Effect::Copy(text) => super::terminal::copy_to_clipboard(&text),
            Effect::PollSessions { generation } => {
                tokio::spawn(sessions::poll_sessions(
                    connector,
                    self.monitor.clone(),
                    generation,
                    results,
                ));
            }
            Effect::PollStatements { generation, source } => {
                tokio::spawn(sessions::poll_statements(
                    connector,
                    self.monitor.clone(),
                    generation,
                    source,
                    results,
                ));
            }
            Effect::FetchStatementTexts {
                generation,
                source,
                queryids,
            } => {
                tokio::spawn(sessions::statement_texts(
                    connector,
                    self.monitor.clone(),
                    (generation, source),
                    queryids,
                    results,
                ));
            }
            Effect::Signal { pid, signal } => {
                tokio::spawn(sessions::signal(
                    connector,
                    self.monitor.clone(),
                    pid,
                    signal,
                    results,
                ));
            }
            Effect::FetchPgCron {
                generation,
                mvs,
                ledger,
            } => {
                tokio::spawn(pg_cron::fetch(
                    connector,
                    self.pg_cron.clone(),
                    self.ledger.clone(),
                    (generation, mvs, ledger),
                    results,
                ));
            }
            Effect::FetchSchedules { generation } => {
                tokio::spawn(schedules::fetch(
                    connector,
                    self.monitor.clone(),
                    self.ledger.clone(),
                    generation,
                    results,
                ));
            }
            Effect::SaveSchedule {
                oid,
                schema,
                name,
                text,
            } => {
                tokio::spawn(schedules::save(
                    connector,
                    self.monitor.clone(),
                    self.ledger.clone(),
                    (oid, schema, name, text),
                    results,
                ));
            }
            Effect::Quit => {}
        }
    }
}
