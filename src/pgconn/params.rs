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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Params {
        [
            ("host", "db.example.com"),
            ("password", "hunter2"),
            ("sslpassword", "keypass"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn get_and_set() {
        let mut p = Params::new();
        assert!(p.is_empty());
        assert_eq!(p.get("host"), None);
        p.set("host", "a");
        p.set("host", String::from("b"));
        assert_eq!(p.get("host"), Some("b"));
        assert_eq!(p.len(), 1);
        assert!(p.contains("host"));
        assert_eq!(p.remove("host"), Some("b".to_string()));
        assert!(p.is_empty());
    }

    #[test]
    fn empty_value_is_still_present() {
        let mut p = Params::new();
        p.set("host", "");
        assert_eq!(p.get("host"), Some(""));
        assert!(p.contains("host"));
    }

    #[test]
    fn merge_from_lets_later_values_override() {
        let mut base: Params = [("host", "h1"), ("port", "1"), ("user", "u")]
            .into_iter()
            .collect();
        let later: Params = [("host", "h2"), ("dbname", "d")].into_iter().collect();
        base.merge_from(&later);
        assert_eq!(base.get("host"), Some("h2"));
        assert_eq!(base.get("port"), Some("1"));
        assert_eq!(base.get("user"), Some("u"));
        assert_eq!(base.get("dbname"), Some("d"));
    }

    #[test]
    fn merge_from_empty_changes_nothing() {
        let mut base = sample();
        base.merge_from(&Params::new());
        assert_eq!(base, sample());
    }

    #[test]
    fn debug_hides_passwords() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("keypass"), "{shown}");
        assert!(shown.contains("db.example.com"), "{shown}");
        assert!(shown.contains(REDACTED), "{shown}");
        let pretty = format!("{:#?}", sample());
        assert!(!pretty.contains("hunter2"), "{pretty}");
    }

    #[test]
    fn iter_yields_sorted_pairs() {
        let pairs: Vec<_> = sample().iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(pairs, ["host", "password", "sslpassword"]);
    }

    #[test]
    fn secret_keywords() {
        assert!(is_secret_keyword("password"));
        assert!(is_secret_keyword("sslpassword"));
        assert!(!is_secret_keyword("passfile"));
        assert!(!is_secret_keyword("user"));
    }

    #[test]
    fn messages_are_worded_like_libpq() {
        let cases = [
            (
                ConfigError::MissingEquals {
                    keyword: "foo".into(),
                },
                "missing \"=\" after \"foo\" in connection info string",
            ),
            (
                ConfigError::UnterminatedQuote,
                "unterminated quoted string in connection info string",
            ),
            (
                ConfigError::InvalidOption {
                    keyword: "x".into(),
                },
                "invalid connection option \"x\"",
            ),
            (
                ConfigError::InvalidUriParameter {
                    keyword: "x".into(),
                },
                "invalid URI query parameter: \"x\"",
            ),
            (
                ConfigError::InvalidPercentEncoding {
                    value: "%zz".into(),
                },
                "invalid percent-encoded token: \"%zz\"",
            ),
            (
                ConfigError::ServiceNotFound {
                    service: "nope".into(),
                },
                "definition of service \"nope\" not found",
            ),
            (
                ConfigError::ServiceFileNotFound {
                    path: "/x/pg_service.conf".into(),
                },
                "service file \"/x/pg_service.conf\" not found",
            ),
            (
                ConfigError::ServiceFileSyntax {
                    path: "/x".into(),
                    line: 3,
                },
                "syntax error in service file \"/x\", line 3",
            ),
            (
                ConfigError::InvalidValue {
                    option: "sslmode".into(),
                    value: "x".into(),
                },
                "invalid sslmode value: \"x\"",
            ),
            (
                ConfigError::InvalidValue {
                    option: "target_session_attrs".into(),
                    value: "x".into(),
                },
                "invalid target_session_attrs value: \"x\"",
            ),
            (
                ConfigError::InvalidPort { value: "x".into() },
                "invalid port number: \"x\"",
            ),
            (
                ConfigError::InvalidInteger {
                    value: "x".into(),
                    option: "connect_timeout".into(),
                },
                "invalid integer value \"x\" for connection option \"connect_timeout\"",
            ),
            (
                ConfigError::PortCountMismatch { ports: 3, hosts: 2 },
                "could not match 3 port numbers to 2 hosts",
            ),
            (
                ConfigError::HostCountMismatch {
                    hosts: 3,
                    hostaddrs: 2,
                },
                "could not match 3 host names to 2 hostaddr values",
            ),
            (
                ConfigError::UriUnexpectedChar {
                    ch: 'x',
                    position: 17,
                    uri: "postgresql://[::1]x".into(),
                },
                "unexpected character \"x\" at position 17 in URI (expected \":\" or \"/\"): \"postgresql://[::1]x\"",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn messages_stay_on_one_line() {
        let err = ConfigError::InvalidValue {
            option: "sslmode".into(),
            value: "a\nb\r\tc".into(),
        };
        let text = err.to_string();
        assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
        assert_eq!(text, "invalid sslmode value: \"a\\nb\\r\\tc\"");
    }
}
