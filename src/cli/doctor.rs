//! `mvtop doctor`: what each feature needs, checked for the current role, and what is
//! missing for which. It reports; it fails only when it cannot connect.
//!
//! Here: the role's facts (one query) and the report; `checks` holds the verdicts.

use clap::Args;
use serde::Serialize;

use super::output::{Align, Format, Table};
use super::{ConnArgs, Failure, monitoring_session};
use crate::ledger::Ledger;

mod checks;

pub use checks::{Check, Status, checks};

const DOCTOR_SQL: &str = include_str!("../../assets/sql/doctor.sql");

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// What the server says about the role (one query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleFacts {
    pub role: String,
    pub version_num: i32,
    pub in_recovery: bool,
    pub superuser: bool,
    pub rds_superuser: bool,
    pub create_on_database: bool,
    pub mvs: i64,
    pub mvs_without_usage: i64,
    pub mvs_not_refreshable: i64,
    /// Refreshable only through the MAINTAIN privilege (PostgreSQL 17+), not as the owner.
    pub mvs_by_maintain: i64,
    pub not_refreshable_examples: Vec<String>,
    pub read_all_stats: bool,
    pub signal_backend: bool,
    pub ledger_schema: String,
    pub ledger_installed: bool,
    pub ledger_current: bool,
    pub ledger_readable: Option<bool>,
    pub ledger_recordable: Option<bool>,
    pub schedules_changeable: Option<bool>,
    pub ledger_owner: Option<String>,
    pub event_triggers_installed: bool,
    pub pss_schema: Option<String>,
    pub pss_preloaded: Option<bool>,
    pub pss_readable: Option<bool>,
}

/// The facts for the role of `client`.
pub async fn facts(
    client: &tokio_postgres::Client,
    ledger: &Ledger,
) -> Result<RoleFacts, tokio_postgres::Error> {
    let r = client.query_one(DOCTOR_SQL, &[&ledger.schema()]).await?;
    Ok(RoleFacts {
        role: r.get("role"),
        version_num: r.get("version_num"),
        in_recovery: r.get("in_recovery"),
        superuser: r.get("superuser"),
        rds_superuser: r.get("rds_superuser"),
        create_on_database: r.get("create_on_database"),
        mvs: r.get("mvs"),
        mvs_without_usage: r.get("mvs_without_usage"),
        mvs_not_refreshable: r.get("mvs_not_refreshable"),
        mvs_by_maintain: r.get("mvs_by_maintain"),
        not_refreshable_examples: r.get("not_refreshable_examples"),
        read_all_stats: r.get("read_all_stats"),
        signal_backend: r.get("signal_backend"),
        ledger_schema: ledger.schema().to_string(),
        ledger_installed: r.get("ledger_installed"),
        ledger_current: r.get("ledger_current"),
        ledger_readable: r.get("ledger_readable"),
        ledger_recordable: r.get("ledger_recordable"),
        schedules_changeable: r.get("schedules_changeable"),
        ledger_owner: r.get("ledger_owner"),
        event_triggers_installed: r.get("event_triggers_installed"),
        pss_schema: r.get("pss_schema"),
        pss_preloaded: r.get("pss_preloaded"),
        pss_readable: r.get("pss_readable"),
    })
}

#[derive(Serialize)]
struct Report<'a> {
    role: &'a str,
    superuser: bool,
    checks: &'a [Check],
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &DoctorArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let session = monitoring_session(&connector).await?;
    let facts = facts(&session.client, ledger).await?;
    let mut checks = checks(&facts);
    let pg_cron = crate::pgcron::PgCron::locate(&session.client, &connector)
        .await
        .map(|p| p.located);
    checks.push(super::pg_cron::doctor_check(&pg_cron));
    let text = match args.format {
        Format::Json => super::output::json(&Report {
            role: &facts.role,
            superuser: facts.superuser,
            checks: &checks,
        })?,
        Format::Csv => table(&checks).to_csv(),
        Format::Table => format!(
            "role {}{}\n{}",
            facts.role,
            if facts.superuser { " (superuser)" } else { "" },
            table(&checks).to_psql()
        ),
    };
    super::list::print_out(&text)
}

fn table(checks: &[Check]) -> Table {
    let mut t = Table::new(&[
        ("feature", Align::Left),
        ("status", Align::Left),
        ("detail", Align::Left),
        ("needs", Align::Left),
    ]);
    for c in checks {
        let status = match c.status {
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Missing => "missing",
        };
        t.rows.push(vec![
            c.feature.to_string(),
            status.to_string(),
            c.detail.clone(),
            c.needs.clone().unwrap_or_default(),
        ]);
    }
    t
}
