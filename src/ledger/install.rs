//! `mvtop install` / `mvtop uninstall`: migrations keyed by version, event triggers where
//! the role may create them, retention settings.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::Ledger;

/// Ordered migrations; the ledger's version is the last one applied.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../assets/sql/ledger/001_init.sql")),
    (2, include_str!("../../assets/sql/ledger/002_schedules.sql")),
    (
        3,
        include_str!("../../assets/sql/ledger/003_guard_runs.sql"),
    ),
    (4, include_str!("../../assets/sql/ledger/004_pg_cron.sql")),
    (
        5,
        include_str!("../../assets/sql/ledger/005_refresh_cost.sql"),
    ),
];
const EVENT_TRIGGERS_SQL: &str = include_str!("../../assets/sql/ledger/event_triggers.sql");
const PRUNE_SQL: &str = include_str!("../../assets/sql/ledger/prune.sql");

pub const LATEST_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;
/// How many migrations an installed ledger has applied.
pub const MIGRATION_COUNT: usize = MIGRATIONS.len();

/// Whether refreshes made by other clients are recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTriggers {
    Installed,
    /// The role may not create event triggers; the text says what is needed.
    NotPermitted(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallReport {
    /// None when the ledger was not there before.
    pub from_version: Option<i32>,
    pub to_version: i32,
    pub event_triggers: EventTriggers,
}

/// How much history to keep: the last `keep_runs_per_mv` runs of each MV, none older than
/// `keep_days` days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub keep_runs_per_mv: Option<u32>,
    pub keep_days: Option<u32>,
}

impl Ledger {
    /// The installed version, or None when there is no ledger in this schema.
    pub async fn installed_version(
        &self,
        client: &Client,
    ) -> Result<Option<i32>, tokio_postgres::Error> {
        let table = format!(
            "{}.version",
            crate::catalog::ident::quote_ident(&self.schema)
        );
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let row = client
            .query_one(&self.sql("SELECT max(version) FROM {schema}.version"), &[])
            .await?;
        Ok(row.get(0))
    }

    /// "Is the ledger installed and current": None when it is, else the one line every
    /// command and the scheduler give.
    pub fn why_not_current(&self, installed: Option<i32>) -> Option<String> {
        match installed {
            Some(v) if v >= LATEST_VERSION => None,
            Some(v) => Some(format!(
                "the refresh ledger in schema {} is of an older version ({v}; this mvtop needs \
                 {LATEST_VERSION}): run `mvtop install` to upgrade it",
                self.schema
            )),
            None => Some(format!(
                "there is no refresh ledger in schema {} (it keeps the schedules and the \
                 refresh history): run `mvtop install` first",
                self.schema
            )),
        }
    }

    /// Err (the line of `why_not_current`, or the database's error) unless the ledger is
    /// installed at the version this mvtop needs.
    pub async fn require_current(&self, client: &Client) -> Result<(), String> {
        let installed = self
            .installed_version(client)
            .await
            .map_err(|e| crate::pgconn::one_line(&e))?;
        match self.why_not_current(installed) {
            None => Ok(()),
            Some(why) => Err(why),
        }
    }

    /// Creates or upgrades the ledger; a no-op when it is current. Migrations run in one
    /// transaction under an advisory lock, so two installs at once cannot interleave.
    pub async fn install(
        &self,
        client: &mut Client,
        retention: Retention,
    ) -> Result<InstallReport, tokio_postgres::Error> {
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('mvtop ledger install'))",
            &[],
        )
        .await?;
        tx.batch_execute(&self.sql(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.version (
               version    int PRIMARY KEY,
               applied_at timestamptz NOT NULL DEFAULT now());
             GRANT USAGE ON SCHEMA {schema} TO PUBLIC;
             GRANT SELECT ON {schema}.version TO PUBLIC;",
        ))
        .await?;
        let applied: Vec<i32> = tx
            .query_one(
                &self.sql("SELECT coalesce(array_agg(version), '{}') FROM {schema}.version"),
                &[],
            )
            .await?
            .get(0);
        let from_version = applied.iter().copied().max();
        // Every migration not applied yet, in order: numbers are taken by separate pieces of
        // work, so one may land after a higher one was installed.
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            tx.batch_execute(&self.sql(sql)).await?;
            tx.execute(
                &self.sql("INSERT INTO {schema}.version (version) VALUES ($1)"),
                &[version],
            )
            .await?;
        }
        if let Some(n) = retention.keep_runs_per_mv {
            self.set_setting(&tx, "keep_runs_per_mv", n).await?;
        }
        if let Some(n) = retention.keep_days {
            self.set_setting(&tx, "keep_days", n).await?;
        }
        tx.commit().await?;
        let event_triggers = self.install_event_triggers(client).await?;
        self.prune(client).await?;
        Ok(InstallReport {
            from_version,
            to_version: LATEST_VERSION,
            event_triggers,
        })
    }

    async fn set_setting(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        key: &str,
        value: u32,
    ) -> Result<(), tokio_postgres::Error> {
        tx.execute(
            &self.sql("UPDATE {schema}.settings SET value = $2 WHERE key = $1"),
            &[&key, &value.to_string()],
        )
        .await
        .map(|_| ())
    }

    async fn install_event_triggers(
        &self,
        client: &mut Client,
    ) -> Result<EventTriggers, tokio_postgres::Error> {
        let tx = client.transaction().await?;
        match tx.batch_execute(&self.sql(EVENT_TRIGGERS_SQL)).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(EventTriggers::Installed)
            }
            Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                tx.rollback().await?;
                Ok(EventTriggers::NotPermitted(
                    "creating event triggers needs superuser (rds_superuser on RDS): refreshes \
                     made outside mvtop (cron, applications, psql) will not be recorded"
                        .into(),
                ))
            }
            Err(e) => Err(e),
        }
    }

    /// Removes what `install` made: event triggers, function, tables, and the schema when
    /// nothing else is left in it. Returns whether there was a ledger.
    pub async fn uninstall(&self, client: &mut Client) -> Result<bool, tokio_postgres::Error> {
        if self.installed_version(client).await?.is_none() {
            return Ok(false);
        }
        let tx = client.transaction().await?;
        tx.batch_execute(&self.sql(
            "DROP EVENT TRIGGER IF EXISTS {start};
             DROP EVENT TRIGGER IF EXISTS {end};
             DROP FUNCTION IF EXISTS {schema}.record_external_refresh();
             DROP PROCEDURE IF EXISTS {schema}.pg_cron_refresh(text, text);
             DROP TABLE IF EXISTS {schema}.schedule, {schema}.refresh_log, {schema}.settings,
                                  {schema}.version;
             DROP FUNCTION IF EXISTS {schema}.guard_run();",
        ))
        .await?;
        tx.commit().await?;
        // A schema the user also keeps other objects in stays.
        let left: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_depend d JOIN pg_namespace n ON n.oid = d.refobjid
                 WHERE d.refclassid = 'pg_namespace'::regclass AND n.nspname = $1",
                &[&self.schema],
            )
            .await?
            .get(0);
        if left == 0 {
            client
                .batch_execute(&self.sql("DROP SCHEMA IF EXISTS {schema}"))
                .await?;
        }
        Ok(true)
    }

    /// Applies the retention settings; returns how many runs were removed. A role without
    /// DELETE on the log prunes nothing and gets 0 (the owner's next install prunes).
    pub async fn prune(&self, client: &Client) -> Result<u64, tokio_postgres::Error> {
        match client.execute(&self.sql(PRUNE_SQL), &[]).await {
            Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Ok(0),
            other => other,
        }
    }
}
