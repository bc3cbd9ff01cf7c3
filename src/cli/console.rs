//! `mvtop` with no subcommand: the console.

use super::{ConnArgs, Failure};
use crate::ledger::Ledger;
use crate::pgconn::{Connector, HostSpec};
use crate::tui::{self, ConsoleOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// Show, but change nothing: refresh and cancel are hidden and refused
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Console: time between polls, 1s to 60s (default 2s; +/- change it live).
    /// `mvtop top`: report what happened over this interval
    #[arg(long, global = true, value_parser = poll_interval)]
    pub interval: Option<std::time::Duration>,
    /// Console: do not run the schedules in the background (a daemon runs them)
    #[arg(long, global = true)]
    pub no_scheduler: bool,
    /// Console: leave the mouse to the terminal (its own text selection); by default the
    /// wheel scrolls and a click selects. `mouse = false` in config.toml does the same
    #[arg(long, global = true)]
    pub no_mouse: bool,
}

/// The console's poll interval when `--interval` is not given.
pub const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// A duration (`2`, `2s`, `500ms`, `1m`) of at most a minute; the console polls at least
/// every second.
fn poll_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::format::parse_duration(text)?;
    if d.is_zero() || d > std::time::Duration::from_secs(3600) {
        return Err(format!("interval {text:?} out of range (1s to 1h)"));
    }
    Ok(d)
}

pub async fn run(conn: &ConnArgs, ledger: &Ledger, args: &ConsoleArgs) -> Result<(), Failure> {
    let connector = conn.connector()?;
    open(connector, ledger, args).await
}

/// Opens the console on `connector`; also used by `mvtop demo`.
pub async fn open(
    connector: Connector,
    ledger: &Ledger,
    args: &ConsoleArgs,
) -> Result<(), Failure> {
    // Connect once before the screen switches, so a bad DSN or password is a plain error
    // (and the password prompt, if any, happens on the normal screen).
    super::monitoring_session(&connector).await?;
    let config = crate::config::Config::load().map_err(|e| Failure::new(format!("config: {e}")))?;
    let keymap = config
        .keymap()
        .map_err(|e| Failure::new(format!("config: {e}")))?;
    let options = ConsoleOptions {
        keymap,
        mouse: !args.no_mouse && config.mouse(),
        read_only: args.read_only,
        poll_every: args.interval.unwrap_or(DEFAULT_INTERVAL).clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        ),
        ledger: ledger.clone(),
        jobs: 2,
        scheduler: !args.no_scheduler,
    };
    let target = short_target(&connector);
    tui::run(connector, target, options)
        .await
        .map_err(|e| Failure::new(format!("terminal: {e}")))
}

/// `user@host:port/db`, as the header shows it.
fn short_target(connector: &Connector) -> String {
    let r = connector.resolved();
    let host = match r.targets.first().map(|t| (&t.host, t.port)) {
        Some((HostSpec::Tcp(h), port)) => format!("{h}:{port}"),
        Some((HostSpec::Unix(dir), port)) => format!("{}:{port}", dir.display()),
        None => String::new(),
    };
    format!("{}@{host}/{}", r.user, r.dbname)
}
