//! `mvtop install` / `mvtop uninstall`: the refresh ledger.

use clap::Args;

use super::{ConnArgs, Failure};
use crate::ledger::{DEFAULT_SCHEMA, EventTriggers, Ledger, Retention};
use crate::pgconn::SessionSettings;

/// DDL may wait a little for locks, but never block the database for long.
const INSTALLING: SessionSettings = SessionSettings {
    lock_timeout: std::time::Duration::from_secs(5),
    statement_timeout: std::time::Duration::from_secs(120),
    jit: false,
    parallel: false,
};

#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// Schema of the ledger
    #[arg(long, default_value = DEFAULT_SCHEMA)]
    pub schema: String,
    /// Keep the last N runs of each MV
    #[arg(long, value_name = "N")]
    pub keep_runs: Option<u32>,
    /// Keep no run older than D days
    #[arg(long, value_name = "D")]
    pub keep_days: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct UninstallArgs {
    /// Schema of the ledger
    #[arg(long, default_value = DEFAULT_SCHEMA)]
    pub schema: String,
}

async fn installing_session(conn: &ConnArgs) -> Result<crate::pgconn::Session, Failure> {
    conn.connector()?
        .connect(&INSTALLING)
        .await
        .map_err(|e| Failure::connection(e.to_string()))
}

pub async fn install(conn: &ConnArgs, args: &InstallArgs) -> Result<(), Failure> {
    let mut session = installing_session(conn).await?;
    let ledger = Ledger::new(&args.schema);
    let retention = Retention {
        keep_runs_per_mv: args.keep_runs,
        keep_days: args.keep_days,
    };
    let report = ledger
        .install(&mut session.client, retention)
        .await
        .map_err(|e| privilege_hint(&e, &args.schema))?;
    let schema = &args.schema;
    match report.from_version {
        None => println!(
            "installed the mvtop ledger (version {}) in schema {schema}",
            report.to_version
        ),
        Some(v) if v < report.to_version => {
            println!(
                "upgraded the mvtop ledger in schema {schema} from version {v} to {}",
                report.to_version
            )
        }
        Some(v) => println!("the mvtop ledger in schema {schema} is current (version {v})"),
    }
    match report.event_triggers {
        EventTriggers::Installed => {
            println!("refreshes made by any client (cron, applications, psql) are recorded")
        }
        EventTriggers::NotPermitted(why) => println!("not recorded: {why}"),
    }
    println!(
        "every role may read the history and record its own refreshes (USAGE, SELECT and \
         INSERT are granted to PUBLIC); retention is applied by roles that may delete from \
         {schema}.refresh_log (its owner)"
    );
    Ok(())
}

pub async fn uninstall(conn: &ConnArgs, args: &UninstallArgs) -> Result<(), Failure> {
    let mut session = installing_session(conn).await?;
    let ledger = Ledger::new(&args.schema);
    let removed = ledger
        .uninstall(&mut session.client)
        .await
        .map_err(|e| privilege_hint(&e, &args.schema))?;
    if removed {
        println!("removed the mvtop ledger from schema {}", args.schema);
    } else {
        println!(
            "no mvtop ledger in schema {}: nothing to remove",
            args.schema
        );
    }
    Ok(())
}

/// Permission errors say which privilege is missing.
fn privilege_hint(e: &tokio_postgres::Error, schema: &str) -> Failure {
    let line = crate::pgconn::one_line(e);
    if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
        Failure::new(format!(
            "{line} (installing needs CREATE on the database, or ownership of schema {schema}; \
             removing needs ownership of the ledger's objects)"
        ))
    } else {
        Failure::new(line)
    }
}
