//! `checks`: each value checked as libpq does, and the SSL settings with their default files.

use std::time::Duration;

use super::{FakeEnv, err, ok, pairs};
use crate::pgconn::{SslMode, TargetSessionAttrs, resolve};

// --- value checks ---

#[test]
fn port_values() {
    let env = FakeEnv::new();
    assert_eq!(ok(&[("port", " 5433 ")], &env).targets[0].port, 5433);
    assert_eq!(ok(&[("port", "+5433")], &env).targets[0].port, 5433);
    assert_eq!(ok(&[("port", "65535")], &env).targets[0].port, 65535);
    assert_eq!(
        err(&[("port", "abc")], &env),
        "invalid integer value \"abc\" for connection option \"port\""
    );
    assert_eq!(
        err(&[("port", "54 32")], &env),
        "invalid integer value \"54 32\" for connection option \"port\""
    );
    assert_eq!(err(&[("port", "0")], &env), "invalid port number: \"0\"");
    assert_eq!(
        err(&[("port", "70000")], &env),
        "invalid port number: \"70000\""
    );
    assert_eq!(err(&[("port", "-1")], &env), "invalid port number: \"-1\"");
    let env = FakeEnv::new().with_var("PGPORT", "x");
    assert_eq!(
        err(&[], &env),
        "invalid integer value \"x\" for connection option \"port\""
    );
}

#[test]
fn connect_timeout_values() {
    let env = FakeEnv::new();
    let timeout = |v: &str| ok(&[("connect_timeout", v)], &env).connect_timeout;
    assert_eq!(timeout("10"), Some(Duration::from_secs(10)));
    assert_eq!(timeout("1"), Some(Duration::from_secs(2)));
    assert_eq!(timeout("2"), Some(Duration::from_secs(2)));
    assert_eq!(timeout("0"), None);
    assert_eq!(timeout("-5"), None);
    assert_eq!(
        err(&[("connect_timeout", "x")], &env),
        "invalid integer value \"x\" for connection option \"connect_timeout\""
    );
    assert_eq!(
        err(&[("connect_timeout", "")], &env),
        "invalid integer value \"\" for connection option \"connect_timeout\""
    );
    assert_eq!(
        err(&[("connect_timeout", "99999999999")], &env),
        "invalid integer value \"99999999999\" for connection option \"connect_timeout\""
    );
}

#[test]
fn sslmode_values() {
    let env = FakeEnv::new();
    for (word, mode) in [
        ("disable", SslMode::Disable),
        ("allow", SslMode::Allow),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ] {
        assert_eq!(ok(&[("sslmode", word)], &env).sslmode, mode);
        assert_eq!(mode.to_string(), word);
    }
    assert_eq!(
        err(&[("sslmode", "x")], &env),
        "invalid sslmode value: \"x\""
    );
    assert_eq!(
        err(&[("sslmode", "Require")], &env),
        "invalid sslmode value: \"Require\""
    );
    assert_eq!(err(&[("sslmode", "")], &env), "invalid sslmode value: \"\"");
    let env = FakeEnv::new().with_var("PGSSLMODE", "bogus");
    assert_eq!(err(&[], &env), "invalid sslmode value: \"bogus\"");
}

#[test]
fn pgrequiressl_is_honoured_below_pgsslmode() {
    let env = FakeEnv::new().with_var("PGREQUIRESSL", "1");
    assert_eq!(ok(&[], &env).sslmode, SslMode::Require);
    assert_eq!(
        ok(&[("sslmode", "disable")], &env).sslmode,
        SslMode::Disable
    );
    let env = env.with_var("PGSSLMODE", "allow");
    assert_eq!(ok(&[], &env).sslmode, SslMode::Allow);
    let env = FakeEnv::new().with_var("PGREQUIRESSL", "0");
    assert_eq!(ok(&[], &env).sslmode, SslMode::Prefer);
}

#[test]
fn target_session_attrs_values() {
    let env = FakeEnv::new();
    for (word, attrs) in [
        ("any", TargetSessionAttrs::Any),
        ("read-write", TargetSessionAttrs::ReadWrite),
        ("read-only", TargetSessionAttrs::ReadOnly),
        ("primary", TargetSessionAttrs::Primary),
        ("standby", TargetSessionAttrs::Standby),
        ("prefer-standby", TargetSessionAttrs::PreferStandby),
    ] {
        assert_eq!(
            ok(&[("target_session_attrs", word)], &env).target_session_attrs,
            attrs
        );
        assert_eq!(attrs.to_string(), word);
    }
    assert_eq!(
        err(&[("target_session_attrs", "x")], &env),
        "invalid target_session_attrs value: \"x\""
    );
}

#[test]
fn other_libpq_value_checks() {
    let env = FakeEnv::new();
    assert_eq!(
        err(&[("channel_binding", "maybe")], &env),
        "invalid channel_binding value: \"maybe\""
    );
    assert_eq!(
        err(&[("gssencmode", "x")], &env),
        "invalid gssencmode value: \"x\""
    );
    assert_eq!(
        err(&[("gssencmode", "require")], &env),
        "gssencmode value \"require\" invalid when GSSAPI support is not compiled in"
    );
    assert_eq!(
        err(&[("ssl_min_protocol_version", "SSLv3")], &env),
        "invalid ssl_min_protocol_version value: \"SSLv3\""
    );
    assert_eq!(
        err(
            &[
                ("ssl_min_protocol_version", "TLSv1.3"),
                ("ssl_max_protocol_version", "tlsv1.2")
            ],
            &env
        ),
        "invalid SSL protocol version range"
    );
    // The compiled-in minimum, TLSv1.2, is above this maximum.
    assert_eq!(
        err(&[("ssl_max_protocol_version", "TLSv1.1")], &env),
        "invalid SSL protocol version range"
    );
    assert!(
        resolve(
            &pairs(&[
                ("ssl_min_protocol_version", "TLSv1"),
                ("ssl_max_protocol_version", "TLSv1.1")
            ]),
            &env
        )
        .is_ok()
    );
}

// --- TLS files ---

#[test]
fn ssl_files_default_only_when_they_exist() {
    let env = FakeEnv::new();
    let root = env.write_home(".postgresql/root.crt", "x");
    let cert = env.write_home(".postgresql/postgresql.crt", "x");
    let r = ok(&[], &env);
    assert_eq!(r.sslrootcert, Some(root.display().to_string()));
    assert!(r.sslrootcert_defaulted);
    assert_eq!(r.sslcert, Some(cert));
    assert_eq!(r.sslkey, None);
    let key = env.write_home(".postgresql/postgresql.key", "x");
    assert_eq!(ok(&[], &env).sslkey, Some(key));
    let r = ok(&[("sslrootcert", "/etc/ca.pem")], &env);
    assert_eq!(r.sslrootcert.as_deref(), Some("/etc/ca.pem"));
    assert!(!r.sslrootcert_defaulted);
}

#[test]
fn sslrootcert_system() {
    let env = FakeEnv::new();
    let r = ok(&[("sslrootcert", "system")], &env);
    assert_eq!(r.sslrootcert.as_deref(), Some("system"));
    assert_eq!(r.sslmode, SslMode::VerifyFull);
    assert_eq!(
        ok(
            &[("sslrootcert", "system"), ("sslmode", "verify-full")],
            &env
        )
        .sslmode,
        SslMode::VerifyFull
    );
    assert_eq!(
        err(&[("sslrootcert", "system"), ("sslmode", "require")], &env),
        "weak sslmode \"require\" may not be used with sslrootcert=system (use \"verify-full\")"
    );
}
