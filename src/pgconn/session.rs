//! An open session and what it carries: the limits every session of a purpose runs under,
//! where it connected, and the errors opening one can meet.

use std::time::Duration;

use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::params::ConfigError;
use super::resolved::{HostSpec, Target};

/// Limits every session of a given purpose runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// Short, so a monitoring query never queues behind an ACCESS EXCLUSIVE lock.
    pub lock_timeout: Duration,
    /// Bounded, so a slow catalog query never hangs the caller (zero: no limit).
    pub statement_timeout: Duration,
    /// JIT costs catalog queries more than it saves; a refresh keeps the server's choice,
    /// so it runs as it would anywhere else.
    pub jit: bool,
    /// Parallel workers for its queries. Monitoring leaves them to the server's workload:
    /// on thousands of MVs a catalog read would take two, and competes with its own
    /// sessions for the cores besides.
    pub parallel: bool,
}

impl SessionSettings {
    pub const MONITORING: SessionSettings = SessionSettings {
        lock_timeout: Duration::from_millis(500),
        statement_timeout: Duration::from_secs(30),
        jit: false,
        parallel: false,
    };
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Tls(String),
    #[error("{0}")]
    Failed(String),
}

/// Whether a missing password may be asked for on the terminal, as psql does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPrompt {
    IfTerminal,
    Never,
}

/// An open session: the client plus what it is connected to.
pub struct Session {
    pub client: Client,
    /// psql's wording of the target, e.g. `server at "db", port 5432`.
    pub target: String,
    pub tls: MakeRustlsConnect,
    /// Where the client connected (a pooler in between may be elsewhere than the server).
    pub endpoint: Endpoint,
}

/// Where a session connected, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: HostSpec,
    /// Over a Unix socket (else TCP, also to `addr` with a socket directory as host).
    pub socket: bool,
    pub port: u16,
    /// The IP address connected to, when it was given as one.
    pub addr: Option<std::net::IpAddr>,
}

impl Endpoint {
    pub(super) fn of(target: &Target) -> Endpoint {
        let named = match &target.host {
            HostSpec::Tcp(name) => name.parse().ok(),
            HostSpec::Unix(_) => None,
        };
        Endpoint {
            host: target.host.clone(),
            socket: over_socket(target),
            port: target.port,
            addr: target.hostaddr.or(named),
        }
    }
}

/// libpq connects to hostaddr over TCP even when host names a socket directory.
pub(super) fn over_socket(target: &Target) -> bool {
    matches!(target.host, HostSpec::Unix(_)) && target.hostaddr.is_none()
}
