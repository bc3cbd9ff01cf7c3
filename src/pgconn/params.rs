//! Connection parameters as the user gave them, and the errors met while reading them.
//!
//! Keywords are libpq's; nothing here applies defaults (see `resolve`). Secrets never reach a
//! `Debug` or `Display` string.

use std::collections::BTreeMap;
use std::fmt;

/// What a secret is shown as, wherever a value would otherwise be printed.
pub const REDACTED: &str = "********";

/// Keywords whose values are secrets (libpq marks both with the "*" display character).
/// Liberal on purpose (any key with "password" in it, any case): it decides what is
/// hidden, and a mistyped ` Password` still holds a password.
pub fn is_secret_keyword(keyword: &str) -> bool {
    keyword.to_ascii_lowercase().contains("password")
}

/// Keyword -> value pairs as the user gave them, in libpq keyword names. No defaults applied.
///
/// A keyword that is present with an empty value is still "given": as in libpq, it shadows the
/// service file and the environment, and then means "use the default".
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    pub fn set(&mut self, k: &str, v: impl Into<String>) {
        self.0.insert(k.to_string(), v.into());
    }

    pub fn remove(&mut self, k: &str) -> Option<String> {
        self.0.remove(k)
    }

    pub fn contains(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Later values override: every key of `other` replaces the same key of `self`.
    pub fn merge_from(&mut self, other: &Params) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Params {
        Params(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown = if is_secret_keyword(k) {
                    REDACTED
                } else {
                    v.as_str()
                };
                (k, shown)
            }))
            .finish()
    }
}

/// A value as it may appear inside a one-line message: control characters (a newline in a
/// quoted conninfo value, say) are escaped so the message stays on one line.
/// A URI's password (`scheme://user:PASSWORD@host`) is masked wherever the text came from.
fn shown(s: &str) -> String {
    let masked = mask_password_setting(&mask_uri_password(s));
    let mut out = String::with_capacity(masked.len());
    for c in masked.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `password=VALUE` inside a quoted fragment (a conninfo piece where it does not belong).
fn mask_password_setting(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let Some(start) = lower.find("password=").map(|i| i + "password=".len()) else {
        return s.to_string();
    };
    let end = s[start..]
        .find([' ', '&', '\t', '\n'])
        .map_or(s.len(), |n| start + n);
    format!(
        "{}********{}",
        &s[..start],
        mask_password_setting(&s[end..])
    )
}

fn mask_uri_password(s: &str) -> String {
    let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
        return s.to_string();
    };
    let rest = &s[scheme_end..];
    // As libpq: credentials are what precedes an '@' before the first '/'. Without one,
    // "host:port" is what the text says (an IPv6 host has colons too).
    let authority = rest.find(['/', '?']).map_or(rest, |end| &rest[..end]);
    let Some(at) = authority.rfind('@') else {
        return s.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:********{}",
            &s[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => s.to_string(),
    }
}

/// Why connection parameters could not be read or resolved. Each message is one line, worded
/// like libpq's, and never contains a password.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing \"=\" after \"{}\" in connection info string", shown(.keyword))]
    MissingEquals { keyword: String },
    #[error("unterminated quoted string in connection info string")]
    UnterminatedQuote,
    #[error("invalid connection option \"{}\"", shown(.keyword))]
    InvalidOption { keyword: String },
    #[error("invalid URI: it must start with \"postgresql://\" or \"postgres://\"")]
    NotUri,
    #[error("invalid URI query parameter: \"{}\"", shown(.keyword))]
    InvalidUriParameter { keyword: String },
    #[error("extra key/value separator \"=\" in URI query parameter: \"{}\"", shown(.keyword))]
    UriExtraSeparator { keyword: String },
    #[error("missing key/value separator \"=\" in URI query parameter: \"{}\"", shown(.parameter))]
    UriMissingSeparator { parameter: String },
    #[error("invalid percent-encoded token: \"{}\"", shown(.value))]
    InvalidPercentEncoding { value: String },
    #[error("forbidden value %00 in percent-encoded value: \"{}\"", shown(.value))]
    PercentEncodedNul { value: String },
    #[error("percent-decoded value is not valid UTF-8: \"{}\"", shown(.value))]
    PercentEncodedNotUtf8 { value: String },
    #[error(
        "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{}\"",
        shown(.uri)
    )]
    UriUnterminatedIpv6 { uri: String },
    #[error("IPv6 host address may not be empty in URI: \"{}\"", shown(.uri))]
    UriEmptyIpv6 { uri: String },
    #[error(
        "unexpected character \"{}\" at position {position} in URI (expected \":\" or \"/\"): \"{}\"",
        shown(&.ch.to_string()),
        shown(.uri)
    )]
    UriUnexpectedChar {
        ch: char,
        position: usize,
        uri: String,
    },
    #[error("definition of service \"{}\" not found", shown(.service))]
    ServiceNotFound { service: String },
    #[error("service file \"{}\" not found", shown(.path))]
    ServiceFileNotFound { path: String },
    #[error("syntax error in service file \"{}\", line {line}", shown(.path))]
    ServiceFileSyntax { path: String, line: usize },
    #[error(
        "nested service specifications not supported in service file \"{}\", line {line}",
        shown(.path)
    )]
    ServiceFileNested { path: String, line: usize },
    #[error("line {line} too long in service file \"{}\"", shown(.path))]
    ServiceFileLineTooLong { path: String, line: usize },
    #[error("LDAP lookups are not supported (service file \"{}\", line {line})", shown(.path))]
    ServiceFileLdap { path: String, line: usize },
    /// libpq's `invalid %s value: "%s"`, for sslmode, target_session_attrs, channel_binding,
    /// gssencmode and the SSL protocol versions.
    #[error("invalid {option} value: \"{}\"", shown(.value))]
    InvalidValue { option: String, value: String },
    #[error("invalid SSL protocol version range")]
    InvalidSslProtocolRange,
    #[error("gssencmode value \"{}\" invalid when GSSAPI support is not compiled in", shown(.value))]
    GssencUnsupported { value: String },
    #[error(
        "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
        shown(.sslmode)
    )]
    WeakSslmodeWithSystemRoot { sslmode: String },
    #[error("invalid port number: \"{}\"", shown(.value))]
    InvalidPort { value: String },
    #[error("invalid integer value \"{}\" for connection option \"{option}\"", shown(.value))]
    InvalidInteger { value: String, option: String },
    #[error("could not match {hosts} host names to {hostaddrs} hostaddr values")]
    HostCountMismatch { hosts: usize, hostaddrs: usize },
    #[error("could not match {ports} port numbers to {hosts} hosts")]
    PortCountMismatch { ports: usize, hosts: usize },
    #[error("could not parse network address \"{}\": Name or service not known", shown(.value))]
    InvalidHostaddr { value: String },
    #[error("could not look up the local user name")]
    UnknownLocalUser,
}
