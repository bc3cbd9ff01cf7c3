//! Settings libpq honours that mvtop's connections do not: one warning line each, unless
//! ignoring the value changes nothing.

use super::layers::{Layers, Origin};

/// Settings libpq honours that mvtop's connections do not.
const IGNORED_OPTIONS: &[&str] = &[
    "channel_binding",
    "client_encoding",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslcompression",
    "sslpassword",
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
];

/// Whether ignoring this value changes nothing: it asks for what mvtop does anyway.
fn ignoring_is_harmless(keyword: &str, value: &str) -> bool {
    match keyword {
        // Without GSSAPI, "prefer" means "disable" in libpq too; "require" was refused.
        "gssencmode" | "krbsrvname" | "gsslib" => true,
        // Compression is compiled out of every TLS library libpq 15 builds against.
        "sslcompression" => true,
        "channel_binding" => value == "prefer",
        "sslsni" => value.starts_with('1'),
        "keepalives" => value.trim().parse::<i64>().is_ok_and(|n| n != 0),
        // TLS 1.2 is the floor and 1.3 the ceiling anyway.
        "ssl_min_protocol_version" => !value.eq_ignore_ascii_case("TLSv1.3"),
        "ssl_max_protocol_version" => value.is_empty() || value.eq_ignore_ascii_case("TLSv1.3"),
        // Sessions always use UTF8; the server ignores case and punctuation in the name.
        "client_encoding" => {
            let name: String = value
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            name == "utf8" || name == "unicode"
        }
        _ => false,
    }
}

/// One line per ignored setting; the value is never shown (sslpassword is a secret).
pub(super) fn ignored_setting_warnings(layers: &Layers<'_>) -> Vec<String> {
    IGNORED_OPTIONS
        .iter()
        .filter_map(|&keyword| {
            let (value, origin) = layers.lookup(keyword)?;
            if ignoring_is_harmless(keyword, &value) {
                return None;
            }
            Some(match origin {
                Origin::Given => {
                    format!(
                        "connection option \"{keyword}\" is not supported by mvtop and is ignored"
                    )
                }
                Origin::Env(var) => {
                    format!("environment variable {var} is not supported by mvtop and is ignored")
                }
            })
        })
        .collect()
}
