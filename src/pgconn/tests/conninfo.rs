//! `conninfo`: which parser a `-d` argument goes to.

use super::pairs;
use crate::pgconn::Params;
use crate::pgconn::conninfo::{is_conninfo_or_uri, parse_dbname_arg};

// --- dispatch ---

#[test]
fn recognizes_connection_strings() {
    assert!(is_conninfo_or_uri("postgresql://h"));
    assert!(is_conninfo_or_uri("postgres://"));
    assert!(is_conninfo_or_uri("host=h"));
    assert!(is_conninfo_or_uri("a=b"));
    assert!(!is_conninfo_or_uri("mydb"));
    assert!(!is_conninfo_or_uri(""));
    assert!(!is_conninfo_or_uri("postgresql:/h"));
    assert!(!is_conninfo_or_uri("Postgres://h"));
}

#[test]
fn dbname_argument() {
    assert_eq!(
        parse_dbname_arg("mydb").unwrap(),
        pairs(&[("dbname", "mydb")])
    );
    assert_eq!(parse_dbname_arg("").unwrap(), Params::new());
    assert_eq!(
        parse_dbname_arg("my db with spaces").unwrap(),
        pairs(&[("dbname", "my db with spaces")])
    );
    assert_eq!(
        parse_dbname_arg("host=h dbname=d").unwrap(),
        pairs(&[("host", "h"), ("dbname", "d")])
    );
    assert_eq!(
        parse_dbname_arg("postgresql://h/d").unwrap(),
        pairs(&[("host", "h"), ("dbname", "d")])
    );
    assert_eq!(
        parse_dbname_arg("a=b").unwrap_err().to_string(),
        "invalid connection option \"a\""
    );
}
