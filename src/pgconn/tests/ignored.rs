//! `ignored`: settings mvtop does not honour warn once each, without their values.

use super::{FakeEnv, ok};

// --- warnings ---

#[test]
fn unsupported_environment_variables_warn() {
    let env = FakeEnv::new()
        .with_var("PGSSLCRL", "/crl.pem")
        .with_var("PGREQUIREPEER", "postgres");
    let r = ok(&[], &env);
    assert_eq!(
        r.warnings,
        vec![
            "environment variable PGSSLCRL is not supported by mvtop and is ignored",
            "environment variable PGREQUIREPEER is not supported by mvtop and is ignored",
        ]
    );
}

#[test]
fn unsupported_explicit_options_warn_without_their_values() {
    let env = FakeEnv::new();
    let r = ok(
        &[("keepalives_idle", "30"), ("sslpassword", "hunter2")],
        &env,
    );
    assert_eq!(
        r.warnings,
        vec![
            "connection option \"keepalives_idle\" is not supported by mvtop and is ignored",
            "connection option \"sslpassword\" is not supported by mvtop and is ignored",
        ]
    );
    assert!(!format!("{r:?}").contains("hunter2"));
}

#[test]
fn harmless_settings_do_not_warn() {
    let env = FakeEnv::new()
        .with_var("PGGSSENCMODE", "disable")
        .with_var("PGCLIENTENCODING", "UTF-8")
        .with_var("PGSSLSNI", "1")
        .with_var("PGCHANNELBINDING", "prefer");
    let r = ok(
        &[("keepalives", "1"), ("ssl_min_protocol_version", "TLSv1.2")],
        &env,
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = ok(
        &[
            ("channel_binding", "require"),
            ("client_encoding", "LATIN1"),
        ],
        &env,
    );
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
}
