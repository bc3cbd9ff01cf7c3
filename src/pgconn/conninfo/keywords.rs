//! The keywords libpq 15 knows, how a value is stored under one, and how a word that may be
//! a secret is quoted in a message.

use crate::pgconn::params::{Params, REDACTED};

/// Every keyword libpq 15 accepts (its `PQconninfoOptions`), in libpq's order.
pub const KEYWORDS: &[&str] = &[
    "service",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "replication",
    "target_session_attrs",
];

pub fn is_keyword(keyword: &str) -> bool {
    KEYWORDS.contains(&keyword)
}

/// libpq's `conninfo_storeval`: the legacy `requiressl` alias, then the keyword check.
/// Returns false for an unknown keyword; the caller words the error.
pub(super) fn store(params: &mut Params, keyword: &str, value: &str) -> bool {
    if keyword == "requiressl" {
        let mode = if value.starts_with('1') {
            "require"
        } else {
            "prefer"
        };
        params.set("sslmode", mode);
        return true;
    }
    if !is_keyword(keyword) {
        return false;
    }
    params.set(keyword, value);
    true
}

/// A word that may be the tail of a secret (an unquoted password cut at a space) is not echoed.
pub(super) fn guard(word: &str, maybe_secret: bool) -> String {
    if maybe_secret {
        REDACTED.to_string()
    } else {
        word.to_string()
    }
}
