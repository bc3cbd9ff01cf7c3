//! `conninfo::uri`: `postgresql://` URIs as libpq reads them.

use super::pairs;
use crate::pgconn::conninfo::{KEYWORDS, parse_uri};
use crate::pgconn::{ConfigError, Params};

fn uri(s: &str) -> Params {
    parse_uri(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn uri_err(s: &str) -> String {
    parse_uri(s).unwrap_err().to_string()
}

// --- URIs ---

#[test]
fn bare_uris() {
    assert_eq!(uri("postgresql://"), Params::new());
    assert_eq!(uri("postgres://"), Params::new());
    assert_eq!(uri("postgresql:///"), Params::new());
}

#[test]
fn full_uri() {
    assert_eq!(
        uri(
            "postgresql://alice:s3cret@db.example.com:5433/app?application_name=x&connect_timeout=10"
        ),
        pairs(&[
            ("user", "alice"),
            ("password", "s3cret"),
            ("host", "db.example.com"),
            ("port", "5433"),
            ("dbname", "app"),
            ("application_name", "x"),
            ("connect_timeout", "10"),
        ])
    );
}

#[test]
fn short_scheme() {
    assert_eq!(
        uri("postgres://h/d"),
        pairs(&[("host", "h"), ("dbname", "d")])
    );
}

#[test]
fn credentials_variants() {
    assert_eq!(
        uri("postgresql://alice@h"),
        pairs(&[("user", "alice"), ("host", "h")])
    );
    assert_eq!(
        uri("postgresql://:pw@h"),
        pairs(&[("password", "pw"), ("host", "h")])
    );
    assert_eq!(uri("postgresql://@h"), pairs(&[("host", "h")]));
    assert_eq!(
        uri("postgresql://alice:@h"),
        pairs(&[("user", "alice"), ("host", "h")])
    );
    // A colon in the password needs no encoding; only the first '@' ends it.
    assert_eq!(uri("postgresql://u:a:b@h").get("password"), Some("a:b"));
}

#[test]
fn percent_encoding_everywhere() {
    assert_eq!(
        uri("postgresql://us%40er:p%40ss%2Fw@h%6Fst:54%33/d%20b?application_name=a%26b"),
        pairs(&[
            ("user", "us@er"),
            ("password", "p@ss/w"),
            ("host", "host"),
            ("port", "543"),
            ("dbname", "d b"),
            ("application_name", "a&b"),
        ])
    );
    assert_eq!(uri("postgresql:///caf%C3%A9").get("dbname"), Some("café"));
    // Query keys are decoded too.
    assert_eq!(uri("postgresql://?%75ser=u").get("user"), Some("u"));
}

#[test]
fn bad_percent_encoding() {
    assert_eq!(
        uri_err("postgresql:///a%zz"),
        "invalid percent-encoded token: \"a%zz\""
    );
    assert_eq!(
        uri_err("postgresql:///a%2"),
        "invalid percent-encoded token: \"a%2\""
    );
    assert_eq!(
        uri_err("postgresql://?user=%00"),
        "forbidden value %00 in percent-encoded value: \"%00\""
    );
    assert_eq!(
        uri_err("postgresql:///%ff"),
        "percent-decoded value is not valid UTF-8: \"%ff\""
    );
}

#[test]
fn bad_percent_encoding_in_password_is_not_echoed() {
    let e = uri_err("postgresql://u:hunter%zz@h");
    assert_eq!(e, "invalid percent-encoded token: \"********\"");
    let e = uri_err("postgresql://h?password=hunter%zz");
    assert!(!e.contains("hunter"), "{e}");
}

#[test]
fn ipv6_hosts() {
    assert_eq!(
        uri("postgresql://[::1]:5433/d"),
        pairs(&[("host", "::1"), ("port", "5433"), ("dbname", "d")])
    );
    assert_eq!(
        uri("postgresql://[2001:db8::7]/d"),
        pairs(&[("host", "2001:db8::7"), ("dbname", "d")])
    );
    assert_eq!(
        uri("postgresql://[::1]?sslmode=disable"),
        pairs(&[("host", "::1"), ("sslmode", "disable")])
    );
    assert_eq!(
        uri("postgresql://[::1],[fe80::2]:6/d"),
        pairs(&[("host", "::1,fe80::2"), ("port", ",6"), ("dbname", "d")])
    );
}

#[test]
fn ipv6_errors() {
    assert_eq!(
        uri_err("postgresql://[::1"),
        "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"postgresql://[::1\""
    );
    assert_eq!(
        uri_err("postgresql://[]/d"),
        "IPv6 host address may not be empty in URI: \"postgresql://[]/d\""
    );
    assert_eq!(
        uri_err("postgresql://[::1]x/d"),
        "unexpected character \"x\" at position 19 in URI (expected \":\" or \"/\"): \"postgresql://[::1]x/d\""
    );
}

#[test]
fn uri_errors_hide_passwords() {
    let e = uri_err("postgresql://alice:hunter2@[::1");
    assert!(!e.contains("hunter2"), "{e}");
    assert!(e.contains("postgresql://alice:********@[::1"), "{e}");
    let e = uri_err("postgresql://[::1]x/d?password=hunter2&tail&user=bob");
    assert!(!e.contains("hunter2") && !e.contains("tail"), "{e}");
    assert!(e.contains("?password=********&********&user=bob"), "{e}");
    let e = uri_err("postgresql://[]?sslpassword=hunter2");
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn multiple_hosts() {
    assert_eq!(
        uri("postgresql://h1:1,h2:2/db"),
        pairs(&[("host", "h1,h2"), ("port", "1,2"), ("dbname", "db")])
    );
    assert_eq!(
        uri("postgresql://h1:1,h2/db"),
        pairs(&[("host", "h1,h2"), ("port", "1,"), ("dbname", "db")])
    );
    assert_eq!(
        uri("postgresql://h1,h2:2,h3"),
        pairs(&[("host", "h1,h2,h3"), ("port", ",2,")])
    );
    // No ports at all still yields libpq's all-empty port list.
    assert_eq!(
        uri("postgresql://h1,h2/db"),
        pairs(&[("host", "h1,h2"), ("port", ","), ("dbname", "db")])
    );
}

#[test]
fn socket_directory_hosts() {
    assert_eq!(
        uri("postgresql://%2Fvar%2Frun%2Fpostgresql/db"),
        pairs(&[("host", "/var/run/postgresql"), ("dbname", "db")])
    );
    assert_eq!(
        uri("postgresql://%2Ftmp:5433/db"),
        pairs(&[("host", "/tmp"), ("port", "5433"), ("dbname", "db")])
    );
    assert_eq!(
        uri("postgresql:///db?host=/var/run/postgresql"),
        pairs(&[("host", "/var/run/postgresql"), ("dbname", "db")])
    );
    assert_eq!(
        uri("postgresql://?host=%2Ftmp&port=5444"),
        pairs(&[("host", "/tmp"), ("port", "5444")])
    );
}

#[test]
fn empty_dbname_is_not_set() {
    assert_eq!(uri("postgresql://h/"), pairs(&[("host", "h")]));
    assert_eq!(
        uri("postgresql://h/?user=u"),
        pairs(&[("host", "h"), ("user", "u")])
    );
    assert_eq!(uri("postgresql://h?"), pairs(&[("host", "h")]));
}

#[test]
fn query_overrides_earlier_parts() {
    assert_eq!(
        uri("postgresql://h/db?dbname=other").get("dbname"),
        Some("other")
    );
    assert_eq!(uri("postgresql://h?port=1&port=2").get("port"), Some("2"));
    // A trailing '&' ends the list without an empty parameter.
    assert_eq!(
        uri("postgresql://h?port=1&"),
        pairs(&[("host", "h"), ("port", "1")])
    );
}

#[test]
fn query_errors() {
    assert_eq!(
        uri_err("postgresql://h?foo=1"),
        "invalid URI query parameter: \"foo\""
    );
    assert_eq!(
        uri_err("postgresql://h?sslmode"),
        "missing key/value separator \"=\" in URI query parameter: \"sslmode\""
    );
    assert_eq!(
        uri_err("postgresql://h?port=1&&user=2"),
        "missing key/value separator \"=\" in URI query parameter: \"\""
    );
    assert_eq!(
        uri_err("postgresql://h?options=a=b"),
        "extra key/value separator \"=\" in URI query parameter: \"options\""
    );
    assert_eq!(
        uri_err("postgresql://h?ssl=false"),
        "invalid URI query parameter: \"ssl\""
    );
}

#[test]
fn query_error_after_unencoded_amp_in_password_hides_tail() {
    let e = uri_err("postgresql://h?password=ab&cd");
    assert!(!e.contains("cd"), "{e}");
    let e = uri_err("postgresql://h?password=ab&cd=ef");
    assert!(!e.contains("cd"), "{e}");
}

#[test]
fn ssl_true_is_sslmode_require() {
    assert_eq!(
        uri("postgresql://h?ssl=true").get("sslmode"),
        Some("require")
    );
    assert_eq!(uri("postgresql://h?ssl=true").get("ssl"), None);
    assert_eq!(
        uri("postgresql://h?requiressl=1").get("sslmode"),
        Some("require")
    );
}

#[test]
fn query_keys_are_checked_like_conninfo_keys() {
    for k in KEYWORDS {
        assert_eq!(
            uri(&format!("postgresql://?{k}=v")).get(k),
            Some("v"),
            "{k}"
        );
    }
}

#[test]
fn at_sign_only_counts_before_first_slash() {
    assert_eq!(
        uri("postgresql://h/db?application_name=a@b"),
        pairs(&[("host", "h"), ("dbname", "db"), ("application_name", "a@b")])
    );
}

#[test]
fn not_a_uri() {
    assert_eq!(parse_uri("host=x"), Err(ConfigError::NotUri));
    assert_eq!(parse_uri("POSTGRESQL://h"), Err(ConfigError::NotUri));
}

#[test]
fn uri_password_not_in_debug() {
    let p = uri("postgresql://u:hunter2@h/d");
    let shown = format!("{p:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
