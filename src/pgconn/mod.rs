//! libpq-compatible connection settings and sessions.
//!
//! From what the user gave to an open session: `conninfo` reads `-d` strings and URIs into
//! `params`; `resolve` layers them over the service file (`service`) and the environment
//! (`env`, `layers`), checks each value (`checks`), warns about what mvtop ignores
//! (`ignored`) and produces a `resolved::Resolved`; `connect` opens sessions from that
//! (`session`, `tls`, `pgpass`, `failure`); `cancel` and `pooler` act on open sessions.

mod cancel;
mod checks;
mod connect;
pub mod conninfo;
mod env;
mod failure;
mod ignored;
mod layers;
pub mod params;
pub mod pgpass;
pub mod pooler;
pub mod resolve;
mod resolved;
pub mod service;
mod session;
#[cfg(test)]
mod tests;
mod tls;

pub use connect::Connector;
pub use env::{Env, SystemEnv};
pub use failure::{describe_failure, one_line};
pub use params::{ConfigError, Params, REDACTED, is_secret_keyword};
pub use resolve::resolve;
pub use resolved::{
    DEFAULT_APPLICATION_NAME, DEFAULT_PORT, DEFAULT_SOCKET_DIRS, HostSpec, Resolved, SslMode,
    Target, TargetSessionAttrs, describe_target,
};
pub use session::{ConnectError, Endpoint, PasswordPrompt, Session, SessionSettings};
