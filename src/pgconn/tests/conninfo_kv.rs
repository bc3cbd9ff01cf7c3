//! `conninfo::kv`: `key = value` strings as libpq reads them.

use super::pairs;
use crate::pgconn::Params;
use crate::pgconn::conninfo::{KEYWORDS, parse_conninfo};

fn conninfo(s: &str) -> Params {
    parse_conninfo(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn conninfo_err(s: &str) -> String {
    parse_conninfo(s).unwrap_err().to_string()
}

// --- conninfo ---

#[test]
fn empty_conninfo_is_empty() {
    assert_eq!(conninfo(""), Params::new());
    assert_eq!(conninfo("  \t\n "), Params::new());
}

#[test]
fn plain_pairs() {
    assert_eq!(
        conninfo("host=db port=5433 dbname=app user=alice"),
        pairs(&[
            ("host", "db"),
            ("port", "5433"),
            ("dbname", "app"),
            ("user", "alice")
        ])
    );
}

#[test]
fn blanks_around_equals_and_between_pairs() {
    assert_eq!(
        conninfo("  host = db\tport\n=\n5433  "),
        pairs(&[("host", "db"), ("port", "5433")])
    );
}

#[test]
fn quoted_values() {
    assert_eq!(
        conninfo(r"application_name='my app' options='-c search_path=a,b'"),
        pairs(&[
            ("application_name", "my app"),
            ("options", "-c search_path=a,b")
        ])
    );
}

#[test]
fn quoted_escapes() {
    assert_eq!(
        conninfo(r"password='it\'s a \\ secret'").get("password"),
        Some(r"it's a \ secret")
    );
    // Any escaped character stands for itself.
    assert_eq!(conninfo(r"dbname='a\bc'").get("dbname"), Some("abc"));
}

#[test]
fn empty_quoted_value() {
    assert_eq!(
        conninfo("host='' port=1"),
        pairs(&[("host", ""), ("port", "1")])
    );
}

#[test]
fn unquoted_backslash_escapes() {
    assert_eq!(conninfo(r"dbname=a\ b").get("dbname"), Some("a b"));
    assert_eq!(conninfo(r"dbname=a\\b").get("dbname"), Some(r"a\b"));
    assert_eq!(conninfo(r"dbname=a\'b").get("dbname"), Some("a'b"));
    // A trailing lone backslash is dropped, as in libpq.
    assert_eq!(conninfo(r"dbname=ab\").get("dbname"), Some("ab"));
}

#[test]
fn quote_inside_unquoted_value_is_literal() {
    assert_eq!(conninfo("dbname=a'b").get("dbname"), Some("a'b"));
}

#[test]
fn next_pair_may_follow_closing_quote_directly() {
    assert_eq!(
        conninfo("host='a'port=1"),
        pairs(&[("host", "a"), ("port", "1")])
    );
}

#[test]
fn empty_unquoted_value_swallows_next_word_like_libpq() {
    // libpq skips blanks after '=' before reading the value.
    assert_eq!(conninfo("host= port=5"), pairs(&[("host", "port=5")]));
    assert_eq!(conninfo("host="), pairs(&[("host", "")]));
}

#[test]
fn later_value_wins() {
    assert_eq!(conninfo("port=1 port=2").get("port"), Some("2"));
}

#[test]
fn non_ascii_values() {
    assert_eq!(
        conninfo("dbname=bäse user='jörg'").get("dbname"),
        Some("bäse")
    );
    assert_eq!(conninfo(r"dbname=\é").get("dbname"), Some("é"));
}

#[test]
fn missing_equals() {
    assert_eq!(
        conninfo_err("foo"),
        "missing \"=\" after \"foo\" in connection info string"
    );
    assert_eq!(
        conninfo_err("foo bar=baz"),
        "missing \"=\" after \"foo\" in connection info string"
    );
    assert_eq!(
        conninfo_err("host=a stray"),
        "missing \"=\" after \"stray\" in connection info string"
    );
}

#[test]
fn unterminated_quote() {
    for s in ["host='abc", r"host='abc\'", r"host='abc\"] {
        assert_eq!(
            conninfo_err(s),
            "unterminated quoted string in connection info string"
        );
    }
}

#[test]
fn unknown_keyword() {
    assert_eq!(conninfo_err("hots=x"), "invalid connection option \"hots\"");
    assert_eq!(conninfo_err("=x"), "invalid connection option \"\"");
    // PostgreSQL 16+ keywords are not libpq 15's.
    assert_eq!(
        conninfo_err("load_balance_hosts=random"),
        "invalid connection option \"load_balance_hosts\""
    );
}

#[test]
fn every_libpq15_keyword_is_accepted() {
    for k in KEYWORDS {
        let p = conninfo(&format!("{k}=v"));
        assert_eq!(p.get(k), Some("v"), "{k}");
    }
    assert_eq!(KEYWORDS.len(), 36);
}

#[test]
fn requiressl_is_libpqs_alias_for_sslmode() {
    assert_eq!(conninfo("requiressl=1").get("sslmode"), Some("require"));
    assert_eq!(conninfo("requiressl=0").get("sslmode"), Some("prefer"));
    assert_eq!(conninfo("requiressl=1").get("requiressl"), None);
}

#[test]
fn unquoted_password_tail_is_not_echoed() {
    let e = conninfo_err("password=my secret");
    assert!(!e.contains("secret"), "{e}");
    assert_eq!(
        e,
        "missing \"=\" after \"********\" in connection info string"
    );
    assert_eq!(
        conninfo_err("password=a b=c"),
        "invalid connection option \"********\""
    );
    // A quoted password cannot have been split, so the next word is shown.
    assert_eq!(
        conninfo_err("password='a b' stray"),
        "missing \"=\" after \"stray\" in connection info string"
    );
    // A misplaced quote leaves the password outside any value (found by the fuzz test).
    let e = conninfo_err("host=' password='Sekr1t-pw");
    assert!(!e.contains("Sekr1t"), "{e}");
    let e = conninfo_err("host=' password='Sekr1t-pw=x");
    assert!(!e.contains("Sekr1t"), "{e}");
}
