//! The command line: psql's connection flags, then one subcommand per screen.

pub mod bench;
pub mod console;
pub mod daemon;
pub mod demo;
pub mod doctor;
pub mod history;
pub mod install;
pub mod list;
pub mod locks;
pub mod metrics;
pub mod output;
pub mod pg_cron;
pub mod refresh;
pub mod schedule;
pub mod top;

use clap::{Args, Parser, Subcommand};

use crate::pgconn::{self, Connector, Params, PasswordPrompt, Session, SessionSettings};

#[derive(Debug, Parser)]
#[command(
    name = "mvtop",
    version,
    // -h is the host, as in psql; help is -? / --help.
    disable_help_flag = true,
    about = "A terminal operations console for PostgreSQL materialized views",
    after_help = "Connection settings follow psql: -d takes a conninfo string or URI; PG* \
                  environment variables, ~/.pgpass and pg_service.conf are honoured."
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub console: console::ConsoleArgs,
    /// Schema of the refresh ledger (see `mvtop install`)
    #[arg(long, global = true, env = "MVTOP_LEDGER_SCHEMA", default_value = crate::ledger::DEFAULT_SCHEMA)]
    pub ledger_schema: String,
    /// Console and daemon: also write every refresh outcome, poll failure, reconnect, claim
    /// and warning, with a timestamp, to this file (appended)
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print help
    #[arg(short = '?', long = "help", action = clap::ArgAction::Help, global = true)]
    pub help: Option<bool>,
}

/// psql's connection flags (global: allowed before or after the subcommand).
#[derive(Debug, Clone, Default, Args)]
pub struct ConnArgs {
    /// Database name, conninfo string (`host=... port=...`) or URI (`postgresql://...`)
    #[arg(
        short = 'd',
        long = "dbname",
        global = true,
        value_name = "DBNAME|CONNINFO"
    )]
    pub dbname: Option<String>,
    /// Database server host or socket directory
    #[arg(short = 'h', long = "host", global = true)]
    pub host: Option<String>,
    /// Database server port
    #[arg(short = 'p', long = "port", global = true)]
    pub port: Option<String>,
    /// Database user name
    #[arg(short = 'U', long = "username", global = true)]
    pub username: Option<String>,
    /// Never prompt for a password
    #[arg(short = 'w', long = "no-password", global = true)]
    pub no_password: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every materialized view with size, dependencies and refresh figures
    List(list::ListArgs),
    /// Start a throwaway PostgreSQL with sample data and a light write load
    Demo(demo::DemoArgs),
    /// Create or upgrade the refresh ledger (a schema keeping every refresh's history)
    Install(install::InstallArgs),
    /// Remove the refresh ledger and everything `install` made
    Uninstall(install::UninstallArgs),
    /// Recorded refreshes, newest first
    History(history::HistoryArgs),
    /// Refresh materialized views now, in dependency order
    Refresh(refresh::RefreshArgs),
    /// Schedules: cron, intervals, on change; shared by every console and daemon
    Schedule(schedule::ScheduleArgs),
    /// Run the schedules with no terminal (several daemons may share one database)
    Daemon(daemon::DaemonArgs),
    /// The Prometheus metrics once on stdout (the daemon serves them with --metrics)
    Metrics(metrics::MetricsArgs),
    /// Sessions waiting for a lock, and who blocks them
    Locks(locks::LocksArgs),
    /// Statements running now, and the top statements by time (pg_stat_statements)
    Top(top::TopArgs),
    /// Benchmark a view against its materialized view: is the MV worth it?
    Bench(bench::BenchArgs),
    /// What the current role may do, feature by feature, and what is missing for which
    Doctor(doctor::DoctorArgs),
}

/// One line on stderr. Never panics (`eprintln!` does when stderr is gone, e.g. after the
/// SSH link dropped), so cleanup that follows still runs.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A failure, as the one line printed on stderr, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub exit_code: i32,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            exit_code: 1,
        }
    }

    /// psql exits 2 when it cannot connect; scripts tell the two apart.
    pub fn connection(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            exit_code: 2,
        }
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Failure {
        Failure::new(pgconn::one_line(&e))
    }
}

impl ConnArgs {
    /// psql's order: the flags first, then what `-d` expands to overrides them.
    pub fn to_params(&self) -> Result<Params, Failure> {
        let mut params = Params::default();
        // psql skips an empty flag (`-h ""`) rather than passing an empty value.
        let flags = [
            ("host", &self.host),
            ("port", &self.port),
            ("user", &self.username),
        ];
        for (key, value) in flags {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                params.set(key, v);
            }
        }
        if let Some(d) = &self.dbname {
            let expanded = pgconn::conninfo::parse_dbname_arg(d)
                .map_err(|e| Failure::connection(e.to_string()))?;
            params.merge_from(&expanded);
        }
        Ok(params)
    }

    pub fn connector(&self) -> Result<Connector, Failure> {
        connector_for(&self.to_params()?, self.no_password)
    }
}

/// Resolves params with the real environment and prints the resolver's warnings.
pub fn connector_for(params: &Params, no_password: bool) -> Result<Connector, Failure> {
    let resolved = pgconn::resolve(params, &pgconn::SystemEnv)
        .map_err(|e| Failure::connection(e.to_string()))?;
    for w in &resolved.warnings {
        say(&format!("mvtop: warning: {w}"));
    }
    let prompt = if no_password {
        PasswordPrompt::Never
    } else {
        PasswordPrompt::IfTerminal
    };
    Connector::new(resolved, prompt).map_err(|e| Failure::connection(e.to_string()))
}

pub async fn monitoring_session(connector: &Connector) -> Result<Session, Failure> {
    let session = connector
        .connect(&SessionSettings::MONITORING)
        .await
        .map_err(|e| Failure::connection(e.to_string()))?;
    // Once per run, at its first session: nothing fails later through a pooler that shares
    // server sessions between clients.
    static CHECKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !CHECKED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        use crate::pgconn::pooler::{Pooling, TRANSACTION_POOLING, pooling};
        match pooling(connector, &session).await {
            Ok(Pooling::Own) => {}
            Ok(Pooling::PerTransaction) => return Err(Failure::connection(TRANSACTION_POOLING)),
            Err(e) => return Err(Failure::connection(e.to_string())),
        }
    }
    Ok(session)
}

pub async fn run(cli: Cli) -> Result<(), Failure> {
    let ledger = crate::ledger::Ledger::new(&cli.ledger_schema);
    if let Some(path) = &cli.log_file {
        crate::event_log::to_file(path).map_err(Failure::new)?;
    }
    match cli.command {
        Some(Command::List(args)) => list::run(&cli.conn, &ledger, &args).await,
        Some(Command::Demo(args)) => demo::run(&args, &ledger, &cli.console).await,
        Some(Command::Install(args)) => install::install(&cli.conn, &args).await,
        Some(Command::Uninstall(args)) => install::uninstall(&cli.conn, &args).await,
        Some(Command::History(args)) => history::run(&cli.conn, &ledger, &args).await,
        Some(Command::Refresh(args)) => refresh::run(&cli.conn, &ledger, &args).await,
        Some(Command::Schedule(args)) => schedule::run(&cli.conn, &ledger, &args).await,
        Some(Command::Daemon(args)) => daemon::run(&cli.conn, &ledger, &args).await,
        Some(Command::Metrics(args)) => metrics::run(&cli.conn, &ledger, &args).await,
        Some(Command::Locks(args)) => locks::run(&cli.conn, &args).await,
        Some(Command::Top(mut args)) => {
            // `--interval` is global (the console's poll interval); for `top` it is the window.
            args.interval = cli.console.interval;
            top::run(&cli.conn, &ledger, &args).await
        }
        Some(Command::Bench(args)) => bench::run(&cli.conn, &ledger, &args).await,
        Some(Command::Doctor(args)) => doctor::run(&cli.conn, &ledger, &args).await,
        None => console::run(&cli.conn, &ledger, &cli.console).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_come_first_and_the_conninfo_overrides_them() {
        let cli = Cli::parse_from([
            "mvtop",
            "-h",
            "a",
            "-p",
            "1",
            "-d",
            "host=b dbname=x",
            "list",
        ]);
        let p = cli.conn.to_params().unwrap();
        assert_eq!(p.get("host"), Some("b"));
        assert_eq!(p.get("port"), Some("1"));
        assert_eq!(p.get("dbname"), Some("x"));
    }

    #[test]
    fn empty_flags_are_skipped_like_psql() {
        let cli = Cli::parse_from(["mvtop", "-h", "", "list"]);
        assert_eq!(cli.conn.to_params().unwrap().get("host"), None);
    }
}
