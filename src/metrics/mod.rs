//! Prometheus metrics: what `mvtop metrics` prints once and `mvtop daemon --metrics` serves.
//! One read (the inventory, the ledger's schedules, the sessions poll: what one console
//! poll reads) becomes a `Snapshot`; `families` turns it into the text format; `serve`
//! answers scrapes, sharing one read between the scrapes that arrive together.

mod cost;
pub mod families;
pub mod serve;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::catalog::Inventory;
use crate::catalog::locks::{MvLocks, mv_locks};
use crate::catalog::sessions::{self, Sessions, SessionsPoll};
use crate::inventory::FetchOptions;
use crate::ledger::Ledger;
use crate::pgconn::{Connector, Session, SessionSettings, one_line};
use crate::schedule::Schedule;

/// What one read saw: the MVs, their schedules and their lock waits.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub at: Option<DateTime<Utc>>,
    /// The database read failed: every per-MV family is absent, `mvtop_up` is 0.
    pub error: Option<String>,
    pub inventory: Option<Inventory>,
    pub schedules: Vec<Schedule>,
    /// The ledger's schedules were read (false: not installed, outdated or unreadable).
    pub ledger_up: bool,
    pub locks: HashMap<u32, MvLocks>,
}

/// The scheduler's own health, kept by the daemon from its scheduler's events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchedulerHealth {
    /// Seconds from the due time to the start of the last claimed run.
    pub start_delay_seconds: Option<f64>,
    pub claims: u64,
    pub claims_lost: u64,
    /// The scheduler's last look met a problem (and has not recovered since).
    pub troubled: bool,
}

/// The reads behind a scrape, on a monitoring session of its own (never the scheduler's,
/// so a scrape cannot delay a scheduled refresh); reconnects when the session is lost.
pub struct Reader {
    connector: Connector,
    ledger: Ledger,
    session: Option<(Session, SessionsPoll)>,
}

impl Reader {
    pub fn new(connector: Connector, ledger: Ledger) -> Reader {
        Reader {
            connector,
            ledger,
            session: None,
        }
    }

    /// One read; a failure is part of the snapshot (`mvtop_up 0`), never a failed scrape.
    pub async fn read(&mut self) -> Snapshot {
        match self.try_read().await {
            Ok(s) => s,
            Err(e) => {
                if self
                    .session
                    .as_ref()
                    .is_some_and(|(s, _)| s.client.is_closed())
                {
                    self.session = None;
                }
                Snapshot {
                    at: Some(Utc::now()),
                    error: Some(e),
                    ..Snapshot::default()
                }
            }
        }
    }

    async fn try_read(&mut self) -> Result<Snapshot, String> {
        if self
            .session
            .as_ref()
            .is_none_or(|(s, _)| s.client.is_closed())
        {
            let session = self
                .connector
                .connect(&SessionSettings::MONITORING)
                .await
                .map_err(|e| e.to_string())?;
            let poll = sessions::prepare(&session.client)
                .await
                .map_err(|e| one_line(&e))?;
            self.session = Some((session, poll));
        }
        let Some((session, poll)) = self.session.as_mut() else {
            return Err("not connected".into());
        };
        let client = &session.client;
        // Definitions are the inventory's heaviest part and no metric shows them.
        let with = FetchOptions {
            ledger: self.ledger.clone(),
            definitions: false,
            ..FetchOptions::default()
        };
        let connector = &self.connector;
        let more = async || connector.connect(&SessionSettings::MONITORING).await.ok();
        let inventory = Inventory::fetch(client, more, with)
            .await
            .map_err(|e| one_line(&e))?;
        let usable = inventory.facts.ledger_installed && !inventory.facts.ledger_outdated;
        let schedules = if usable {
            self.ledger.schedules(client).await.ok()
        } else {
            None
        };
        let sessions = Sessions::fetch(client, poll)
            .await
            .map_err(|e| one_line(&e))?;
        Ok(Snapshot {
            at: Some(Utc::now()),
            error: None,
            ledger_up: schedules.is_some(),
            schedules: schedules.map(|l| l.schedules).unwrap_or_default(),
            locks: mv_locks(&sessions),
            inventory: Some(inventory),
        })
    }
}
