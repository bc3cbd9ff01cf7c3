//! `params`: the parameters as given, and the wording of every configuration error.

use crate::pgconn::{ConfigError, Params, REDACTED, is_secret_keyword};

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
