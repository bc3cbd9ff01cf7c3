//! pgconn's unit tests, one file per production file (`checks.rs` tests `../checks.rs`), and
//! what they share: the fake environment and the helpers that resolve against it.

mod checks;
mod conninfo;
mod conninfo_kv;
mod conninfo_uri;
mod env;
mod fake_env;
mod ignored;
mod params;
mod pgpass;
mod resolve;
mod resolve_hosts;
mod resolve_services;
mod resolved;
mod service;

pub use fake_env::FakeEnv;

use crate::pgconn::resolve::resolve;
use crate::pgconn::{HostSpec, Params, Resolved, Target};

pub fn pairs(list: &[(&str, &str)]) -> Params {
    list.iter().copied().collect()
}

pub fn ok(list: &[(&str, &str)], env: &FakeEnv) -> Resolved {
    resolve(&pairs(list), env).unwrap_or_else(|e| panic!("{list:?}: {e}"))
}

pub fn err(list: &[(&str, &str)], env: &FakeEnv) -> String {
    resolve(&pairs(list), env).unwrap_err().to_string()
}

pub fn tcp(host: &str, port: u16) -> Target {
    Target {
        host: HostSpec::Tcp(host.into()),
        hostaddr: None,
        port,
    }
}

pub fn unix(dir: &str, port: u16) -> Target {
    Target {
        host: HostSpec::Unix(dir.into()),
        hostaddr: None,
        port,
    }
}
