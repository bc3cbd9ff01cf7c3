//! `mvtop metrics`: the Prometheus exposition once on stdout, for node_exporter's textfile
//! collector or a cron job; the same text `mvtop daemon --metrics` serves (less the
//! scheduler's own health: no scheduler runs here).

use clap::Args;

use super::{ConnArgs, Failure};
use crate::ledger::Ledger;
use crate::metrics::Reader;
use crate::metrics::families::render;

#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, _args: &MetricsArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    let snap = Reader::new(connector, ledger.clone()).read().await;
    // A file left with `mvtop_up 0` would hide the last good figures; a script keeps the
    // old file when this fails (write to a temporary file, then rename it).
    if let Some(e) = &snap.error {
        return Err(Failure::connection(e.clone()));
    }
    super::list::print_out(&render(&snap, None, chrono::Utc::now()))
}
