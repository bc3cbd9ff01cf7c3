//! The three sources of a setting, highest precedence first: explicit parameters (with the
//! service file's), then the PG* environment variable libpq falls back to.

use super::env::Env;
use super::params::Params;

/// The environment variable libpq falls back to for a keyword (`service` is handled apart,
/// as libpq reads PGSERVICE before the service file).
fn env_var_for(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "user" => "PGUSER",
        "password" => "PGPASSWORD",
        "passfile" => "PGPASSFILE",
        "channel_binding" => "PGCHANNELBINDING",
        "connect_timeout" => "PGCONNECT_TIMEOUT",
        "dbname" => "PGDATABASE",
        "host" => "PGHOST",
        "hostaddr" => "PGHOSTADDR",
        "port" => "PGPORT",
        "client_encoding" => "PGCLIENTENCODING",
        "options" => "PGOPTIONS",
        "application_name" => "PGAPPNAME",
        "sslmode" => "PGSSLMODE",
        "sslcompression" => "PGSSLCOMPRESSION",
        "sslcert" => "PGSSLCERT",
        "sslkey" => "PGSSLKEY",
        "sslrootcert" => "PGSSLROOTCERT",
        "sslcrl" => "PGSSLCRL",
        "sslcrldir" => "PGSSLCRLDIR",
        "sslsni" => "PGSSLSNI",
        "requirepeer" => "PGREQUIREPEER",
        "ssl_min_protocol_version" => "PGSSLMINPROTOCOLVERSION",
        "ssl_max_protocol_version" => "PGSSLMAXPROTOCOLVERSION",
        "gssencmode" => "PGGSSENCMODE",
        "krbsrvname" => "PGKRBSRVNAME",
        "gsslib" => "PGGSSLIB",
        "target_session_attrs" => "PGTARGETSESSIONATTRS",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Explicit or from the service file.
    Given,
    Env(&'static str),
}

/// The three sources of settings, highest precedence first.
pub(super) struct Layers<'a> {
    pub(super) explicit: &'a Params,
    pub(super) service: Params,
    pub(super) env: &'a dyn Env,
}

impl Layers<'_> {
    pub(super) fn lookup(&self, keyword: &str) -> Option<(String, Origin)> {
        if let Some(v) = self
            .explicit
            .get(keyword)
            .or_else(|| self.service.get(keyword))
        {
            return Some((v.to_string(), Origin::Given));
        }
        let var = env_var_for(keyword)?;
        self.env.var(var).map(|v| (v, Origin::Env(var)))
    }

    /// The setting, even if empty (an empty value still shadows lower layers).
    pub(super) fn value(&self, keyword: &str) -> Option<String> {
        self.lookup(keyword).map(|(v, _)| v)
    }

    /// The setting if it is non-empty: libpq uses the default for an empty one.
    pub(super) fn non_empty(&self, keyword: &str) -> Option<String> {
        self.value(keyword).filter(|v| !v.is_empty())
    }
}
