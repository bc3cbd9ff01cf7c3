//! Where pg_cron is and what the role may do with it: `cron.database_name` (or, for a role
//! that may not read that setting, the database of the `pg_cron scheduler` backend in
//! `pg_stat_activity`, which every role sees), a session there, the extension's version, the
//! features of the loaded library and the role's view of `cron.job`.

use chrono_tz::Tz;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::SCHEDULER_APPLICATION;
use super::expr::Features;
use crate::catalog::ident::display_ident as quote_ident;
use crate::pgconn::{Connector, Session, SessionSettings, one_line};

/// Why pg_cron's jobs cannot be read: one line naming what is missing and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The library is not loaded (no `cron.*` settings, no scheduler backend).
    NotLoaded(String),
    /// Loaded, but the extension is not created in its database.
    NotInstalled(String),
    /// Its database could not be connected to.
    Unreachable(String),
    /// The role may not read its catalog (USAGE on schema cron), or cannot find it.
    NotReadable(String),
}

impl Unavailable {
    pub fn line(&self) -> &str {
        match self {
            Unavailable::NotLoaded(s)
            | Unavailable::NotInstalled(s)
            | Unavailable::Unreachable(s)
            | Unavailable::NotReadable(s) => s,
        }
    }

    /// `not_loaded`, `not_installed`, `unreachable`, `not_readable` (for JSON).
    pub fn kind(&self) -> &'static str {
        match self {
            Unavailable::NotLoaded(_) => "not_loaded",
            Unavailable::NotInstalled(_) => "not_installed",
            Unavailable::Unreachable(_) => "unreachable",
            Unavailable::NotReadable(_) => "not_readable",
        }
    }
}

/// pg_cron found and readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// `cron.database_name`: where `cron.job` and `cron.job_run_details` are.
    pub database: String,
    /// The database mvtop shows (jobs are kept when their `database` is this one).
    pub shown_database: String,
    /// `pg_extension.extversion` (the SQL schema; the library may be newer).
    pub extversion: String,
    pub features: Features,
    /// A line when the time zone could not be read and GMT is assumed.
    pub timezone_note: Option<String>,
    /// The role sees every job (superuser, BYPASSRLS, owner of `cron.job`); otherwise only
    /// its own, as the row-level security policy on `cron.job` has it.
    pub sees_all_jobs: bool,
    pub role: String,
    /// May call `cron.schedule_in_database` (revoked from PUBLIC), needed for jobs in
    /// another database than pg_cron's.
    pub may_schedule_in_database: bool,
}

impl Located {
    pub fn same_database(&self) -> bool {
        self.database == self.shown_database
    }
}

/// pg_cron as found, with the session its catalog is read on when that is another database.
pub struct PgCron {
    pub located: Located,
    /// None: the shown database is pg_cron's own; use the main session.
    pub session: Option<Session>,
}

impl PgCron {
    /// The client `cron.*` is read on: the second session, or `main`.
    pub fn client<'a>(&'a self, main: &'a Client) -> &'a Client {
        self.session.as_ref().map_or(main, |s| &s.client)
    }

    /// Finds pg_cron from the main session (connected to the shown database) and opens a
    /// session on its database when that is another one.
    pub async fn locate(main: &Client, connector: &Connector) -> Result<PgCron, Unavailable> {
        let shown: String = query_one_text(main, "SELECT current_database()::text").await?;
        let database = cron_database(main).await?;
        let session = if database == shown {
            None
        } else {
            let c = connector.for_database(&database);
            match c.connect(&SessionSettings::MONITORING).await {
                Ok(s) => Some(s),
                Err(e) => {
                    return Err(Unavailable::Unreachable(format!(
                        "pg_cron's database {} is not reachable ({e}): its jobs are read there, \
                         which needs CONNECT on it and a pg_hba.conf entry for this role",
                        quote_ident(&database)
                    )));
                }
            }
        };
        let client = session.as_ref().map_or(main, |s| &s.client);
        let located = describe(client, database, shown).await?;
        Ok(PgCron { located, session })
    }
}

async fn query_one_text(client: &Client, sql: &str) -> Result<String, Unavailable> {
    client
        .query_one(sql, &[])
        .await
        .map(|r| r.get(0))
        .map_err(|e| Unavailable::Unreachable(format!("pg_cron: {}", one_line(&e))))
}

/// A setting of the loaded library: its value, hidden from this role, or not defined.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Setting {
    Value(String),
    Hidden,
    Absent,
}

/// pg_cron's settings are superuser-only: `pg_settings` hides them from roles without
/// pg_read_all_settings, and `current_setting` raises insufficient_privilege for them —
/// which tells that the library defines them. A placeholder (set in postgresql.conf without
/// the library loaded) is readable by all but absent from `pg_settings`.
async fn setting(client: &Client, name: &str) -> Setting {
    if let Ok(Some(row)) = client
        .query_opt("SELECT setting FROM pg_settings WHERE name = $1", &[&name])
        .await
    {
        return Setting::Value(row.get(0));
    }
    match client
        .query_one("SELECT current_setting($1, true)", &[&name])
        .await
    {
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Setting::Hidden,
        _ => Setting::Absent,
    }
}

async fn scheduler_database(client: &Client) -> Option<String> {
    client
        .query_opt(
            "SELECT d.datname::text FROM pg_stat_activity a JOIN pg_database d ON d.oid = a.datid
             WHERE a.application_name = $1 LIMIT 1",
            &[&SCHEDULER_APPLICATION],
        )
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0))
}

async fn cron_database(client: &Client) -> Result<String, Unavailable> {
    match setting(client, "cron.database_name").await {
        Setting::Value(db) => Ok(db),
        Setting::Hidden => scheduler_database(client).await.ok_or_else(|| {
            Unavailable::NotReadable(
                "pg_cron is loaded, but this role may not read cron.database_name and no \
                 pg_cron scheduler is running: GRANT pg_read_all_settings TO this role, or \
                 start the scheduler"
                    .into(),
            )
        }),
        Setting::Absent => scheduler_database(client).await.ok_or_else(|| {
            Unavailable::NotLoaded(
                "pg_cron is not loaded on this server: add pg_cron to shared_preload_libraries \
                 (and set cron.database_name), restart, then CREATE EXTENSION pg_cron"
                    .into(),
            )
        }),
    }
}

async fn describe(
    client: &Client,
    database: String,
    shown: String,
) -> Result<Located, Unavailable> {
    let db = quote_ident(&database);
    let usage = client
        .query_opt(
            "SELECT current_user::text, has_schema_privilege(n.oid, 'USAGE')
             FROM pg_namespace n WHERE n.nspname = 'cron'",
            &[],
        )
        .await
        .map_err(|e| {
            Unavailable::Unreachable(format!("pg_cron in database {db}: {}", one_line(&e)))
        })?;
    if let Some(u) = &usage
        && !u.get::<_, bool>(1)
    {
        let role = quote_ident(&u.get::<_, String>(0));
        return Err(Unavailable::NotReadable(format!(
            "role {role} may not read pg_cron's jobs: GRANT USAGE ON SCHEMA cron TO {role} (in database {db})"
        )));
    }
    let row = client
        .query_opt(
            "SELECT e.extversion::text, current_user::text,
                    true,
                    r.rolsuper OR r.rolbypassrls
                      OR pg_has_role(c.relowner, 'USAGE'),
                    has_function_privilege(
                      'cron.schedule_in_database(text,text,text,text,text,boolean)', 'EXECUTE')
             FROM pg_extension e
             JOIN pg_roles r ON r.rolname = current_user
             LEFT JOIN pg_class c ON c.oid = to_regclass('cron.job')
             WHERE e.extname = 'pg_cron'",
            &[],
        )
        .await;
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => {
            return Err(Unavailable::NotInstalled(format!(
                "pg_cron is loaded but not installed: CREATE EXTENSION pg_cron in database {db}"
            )));
        }
        // schedule_in_database is from 1.4; older catalogs fail this probe.
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_FUNCTION) => {
            return Err(Unavailable::NotInstalled(format!(
                "pg_cron in database {db} is older than 1.4: ALTER EXTENSION pg_cron UPDATE"
            )));
        }
        Err(e) => {
            return Err(Unavailable::Unreachable(format!(
                "pg_cron in database {db}: {}",
                one_line(&e)
            )));
        }
    };
    let role: String = row.get(1);
    let (features, timezone_note) = features(client, &row.get::<_, String>(0)).await;
    Ok(Located {
        database,
        shown_database: shown,
        extversion: row.get(0),
        features,
        timezone_note,
        sees_all_jobs: row.get(3),
        role,
        may_schedule_in_database: row.get(4),
    })
}

/// The loaded library's features, from the settings it defines (cron.timezone from 1.5,
/// cron.launch_active_jobs from 1.6), else from the extension's SQL version.
async fn features(client: &Client, extversion: &str) -> (Features, Option<String>) {
    let tz = setting(client, "cron.timezone").await;
    let v16 = match setting(client, "cron.launch_active_jobs").await {
        Setting::Absent => matches!(tz, Setting::Absent) && version_at_least(extversion, 1, 6),
        _ => true,
    };
    let v15 = v16 || !matches!(tz, Setting::Absent) || version_at_least(extversion, 1, 5);
    let dom_and_dow =
        matches!(setting(client, "cron.match_dom_and_dow").await, Setting::Value(v) if v == "on");
    let (timezone, note) = match tz {
        Setting::Value(name) => match crate::schedule::cron::parse_tz(&name) {
            Ok(tz) => (tz, None),
            Err(e) => (
                Tz::GMT,
                Some(format!("cron.timezone: {e}; next runs assume GMT")),
            ),
        },
        Setting::Hidden => (
            Tz::GMT,
            Some(
                "cron.timezone is not readable by this role (pg_read_all_settings): next runs \
                 assume its default, GMT"
                    .into(),
            ),
        ),
        Setting::Absent => (Tz::GMT, None),
    };
    let features = Features {
        seconds: v15,
        last_day_of_month: v16,
        yearly_never_fires: v16,
        dom_and_dow,
        timezone,
    };
    (features, note)
}

/// `1.4-1` is at least 1.4; unparsable versions are not.
pub fn version_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_pg_cron_numbers_them() {
        assert!(version_at_least("1.4-1", 1, 4));
        assert!(!version_at_least("1.4-1", 1, 5));
        assert!(version_at_least("1.6", 1, 5));
        assert!(version_at_least("2.0", 1, 6));
        assert!(!version_at_least("x", 1, 0));
    }
}
