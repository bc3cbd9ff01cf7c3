//! Setting or removing one MV's schedule: validation against the server (its time zone, the
//! MV's readiness for CONCURRENTLY) and the write. The CLI and the console's form share it.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::policy::PolicyInput;
use super::store::NewSchedule;
use crate::catalog::Inventory;
use crate::catalog::ident::display_qualified;
use crate::catalog::writes::{table_writes, writes_of};
use crate::ledger::Ledger;
use crate::pgconn::one_line;
use crate::refresh::{Concurrently, Target, choose_mode};

/// The server's TimeZone: what a schedule without `tz` is read in.
pub async fn server_tz(client: &Client) -> Result<String, String> {
    let tz: String = client
        .query_one("SELECT current_setting('TimeZone')", &[])
        .await
        .map_err(|e| one_line(&e))?
        .get(0);
    // "localtime" is the server's own zone file, which only the server can read.
    Ok(if tz == "localtime" { "UTC".into() } else { tz })
}

/// Creates or replaces the schedule of the MV with this oid; returns what it now says.
pub async fn set(
    client: &Client,
    ledger: &Ledger,
    oid: u32,
    input: &PolicyInput,
    concurrently: Concurrently,
) -> Result<String, String> {
    let default_tz = server_tz(client).await?;
    let (policy, window) = input.parse(&default_tz)?;
    let views = Inventory::catalog_only(client)
        .await
        .map_err(|e| one_line(&e))?;
    let view = views
        .iter()
        .find(|v| v.oid == oid)
        .ok_or("the materialized view was dropped meanwhile")?;
    // A mode that can never work is refused now, not at 3 a.m.
    choose_mode(&Target::from(view), concurrently, true)?;
    let writes = table_writes(client, &view.base_tables)
        .await
        .map_err(|e| one_line(&e))?;
    let described = match window {
        Some(w) => format!("{}, window {}", policy.describe(), w.describe()),
        None => policy.describe(),
    };
    let new = NewSchedule {
        mv_schema: view.schema.clone(),
        mv_name: view.name.clone(),
        policy,
        window,
        concurrently,
        base_writes: writes_of(&view.base_tables, &writes),
    };
    ledger
        .set_schedule(client, &new)
        .await
        .map_err(|e| refused(&e))?;
    Ok(format!("{}: {described}", view.qualified_name))
}

/// Removes the schedule of `schema.name`; an MV without one is an error.
pub async fn remove(
    client: &Client,
    ledger: &Ledger,
    schema: &str,
    name: &str,
) -> Result<String, String> {
    let qualified = display_qualified(schema, name);
    match ledger.remove_schedule(client, schema, name).await {
        Ok(true) => Ok(format!("{qualified}: schedule removed")),
        Ok(false) => Err(format!("{qualified} has no schedule")),
        Err(e) => Err(refused(&e)),
    }
}

fn refused(e: &tokio_postgres::Error) -> String {
    if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
        format!(
            "{} (only the ledger's owner changes schedules: they make the daemon's role refresh)",
            one_line(e)
        )
    } else {
        one_line(e)
    }
}
