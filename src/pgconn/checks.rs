//! Each setting checked and parsed as libpq does, with libpq's wording when it is refused:
//! integers, ports, host addresses, choices, the SSL settings and their default files.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::env::Env;
use super::layers::Layers;
use super::params::ConfigError;
use super::resolved::{DEFAULT_PORT, SslMode, TargetSessionAttrs};

fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// libpq's `pqParseIntParam`: strtol's syntax (blanks, a sign, decimal digits), trailing
/// blanks allowed, and the value must fit an int.
fn parse_int_param(value: &str, option: &str) -> Result<i32, ConfigError> {
    let invalid = || ConfigError::InvalidInteger {
        value: value.to_string(),
        option: option.to_string(),
    };
    let trimmed = value.trim_matches(is_c_space);
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    trimmed.parse::<i32>().map_err(|_| invalid())
}

pub(super) fn parse_port(value: &str) -> Result<u16, ConfigError> {
    if value.is_empty() {
        return Ok(DEFAULT_PORT);
    }
    let port = parse_int_param(value, "port")?;
    u16::try_from(port)
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| ConfigError::InvalidPort {
            value: value.to_string(),
        })
}

/// hostaddr must be a numeric address; libpq would report getaddrinfo's EAI_NONAME.
pub(super) fn parse_hostaddr(value: &str) -> Result<Option<IpAddr>, ConfigError> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| ConfigError::InvalidHostaddr {
            value: value.to_string(),
        })
}

fn invalid_value(option: &str, value: &str) -> ConfigError {
    ConfigError::InvalidValue {
        option: option.to_string(),
        value: value.to_string(),
    }
}

/// A keyword whose value must be one of `allowed` when set (even to the empty string).
pub(super) fn check_choice(
    layers: &Layers<'_>,
    keyword: &str,
    allowed: &[&str],
) -> Result<Option<String>, ConfigError> {
    match layers.value(keyword) {
        Some(v) if !allowed.contains(&v.as_str()) => Err(invalid_value(keyword, &v)),
        v => Ok(v),
    }
}

pub(super) struct SslSettings {
    pub(super) mode: SslMode,
    pub(super) rootcert: Option<String>,
    pub(super) rootcert_defaulted: bool,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
}

/// ~/.postgresql/`name`, if it exists.
fn default_ssl_file(env: &dyn Env, name: &str) -> Option<PathBuf> {
    let path = env.home()?.join(".postgresql").join(name);
    env.path_exists(&path).then_some(path)
}

/// The sslmode and whether it is only the compiled-in default.
fn sslmode(layers: &Layers<'_>) -> Result<(SslMode, bool), ConfigError> {
    if let Some(v) = layers.value("sslmode") {
        let mode = SslMode::from_libpq(&v).ok_or_else(|| invalid_value("sslmode", &v))?;
        return Ok((mode, false));
    }
    // Deprecated, but libpq still honours PGREQUIRESSL=1 below PGSSLMODE.
    if layers
        .env
        .var("PGREQUIRESSL")
        .is_some_and(|v| v.starts_with('1'))
    {
        return Ok((SslMode::Require, false));
    }
    Ok((SslMode::Prefer, true))
}

pub(super) fn ssl_settings(layers: &Layers<'_>) -> Result<SslSettings, ConfigError> {
    let (mut mode, mode_defaulted) = sslmode(layers)?;
    let (rootcert, rootcert_defaulted) = match layers.non_empty("sslrootcert") {
        Some(given) => (Some(given), false),
        None => {
            let found = default_ssl_file(layers.env, "root.crt");
            let defaulted = found.is_some();
            (found.map(|p| p.to_string_lossy().into_owned()), defaulted)
        }
    };
    // sslrootcert=system (libpq 16): the system's CAs are only meaningful with name checks,
    // so it strengthens the default sslmode and refuses a weaker explicit one.
    if !rootcert_defaulted && rootcert.as_deref() == Some("system") {
        if mode_defaulted {
            mode = SslMode::VerifyFull;
        } else if mode != SslMode::VerifyFull {
            return Err(ConfigError::WeakSslmodeWithSystemRoot {
                sslmode: mode.to_string(),
            });
        }
    }
    let file = |keyword: &str, default: &str| {
        layers
            .non_empty(keyword)
            .map(PathBuf::from)
            .or_else(|| default_ssl_file(layers.env, default))
    };
    Ok(SslSettings {
        mode,
        rootcert,
        rootcert_defaulted,
        cert: file("sslcert", "postgresql.crt"),
        key: file("sslkey", "postgresql.key"),
    })
}

const TLS_VERSIONS: [&str; 4] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// libpq's `sslVerifyProtocolVersion` and `sslVerifyProtocolRange`.
pub(super) fn check_ssl_protocol_versions(layers: &Layers<'_>) -> Result<(), ConfigError> {
    let known = |v: &str| v.is_empty() || TLS_VERSIONS.iter().any(|t| t.eq_ignore_ascii_case(v));
    // libpq 15's compiled-in minimum takes part in the range check.
    let min = layers
        .value("ssl_min_protocol_version")
        .unwrap_or_else(|| "TLSv1.2".to_string());
    let max = layers.value("ssl_max_protocol_version").unwrap_or_default();
    for (keyword, v) in [
        ("ssl_min_protocol_version", &min),
        ("ssl_max_protocol_version", &max),
    ] {
        if !known(v) {
            return Err(invalid_value(keyword, v));
        }
    }
    if min.is_empty() || max.is_empty() || min.eq_ignore_ascii_case("TLSv1") {
        return Ok(());
    }
    let (min, max) = (min.to_ascii_lowercase(), max.to_ascii_lowercase());
    if max == "tlsv1" || min > max {
        return Err(ConfigError::InvalidSslProtocolRange);
    }
    Ok(())
}

/// mvtop has no GSSAPI, so it answers as a libpq built without it.
pub(super) fn check_gssencmode(layers: &Layers<'_>) -> Result<(), ConfigError> {
    match check_choice(layers, "gssencmode", &["disable", "prefer", "require"])? {
        Some(v) if v == "require" => Err(ConfigError::GssencUnsupported { value: v }),
        _ => Ok(()),
    }
}

pub(super) fn target_session_attrs(layers: &Layers<'_>) -> Result<TargetSessionAttrs, ConfigError> {
    match layers.value("target_session_attrs") {
        None => Ok(TargetSessionAttrs::Any),
        Some(v) => TargetSessionAttrs::from_libpq(&v)
            .ok_or_else(|| invalid_value("target_session_attrs", &v)),
    }
}

pub(super) fn connect_timeout(layers: &Layers<'_>) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = layers.value("connect_timeout") else {
        return Ok(None);
    };
    let secs = parse_int_param(&v, "connect_timeout")?;
    // libpq: 0 or negative waits forever; 1 becomes 2 so rounding cannot make it instant.
    Ok((secs > 0).then(|| Duration::from_secs(u64::from(secs.max(2).unsigned_abs()))))
}
