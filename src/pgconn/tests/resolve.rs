//! `resolve`: the defaults, and precedence between explicit settings and the environment.

use std::path::PathBuf;
use std::time::Duration;

use super::{FakeEnv, err, ok, tcp, unix};
use crate::pgconn::{SslMode, TargetSessionAttrs};

// --- defaults ---

#[test]
fn defaults() {
    let env = FakeEnv::new();
    let r = ok(&[], &env);
    assert_eq!(r.targets, vec![unix("/var/run/postgresql", 5432)]);
    assert_eq!(r.user, "alice");
    assert_eq!(r.dbname, "alice");
    assert_eq!(r.password, None);
    assert_eq!(r.passfile, Some(env.home_path().join(".pgpass")));
    assert_eq!(r.application_name, "mvtop");
    assert_eq!(r.options, None);
    assert_eq!(r.connect_timeout, None);
    assert_eq!(r.sslmode, SslMode::Prefer);
    assert_eq!(r.sslrootcert, None);
    assert!(!r.sslrootcert_defaulted);
    assert_eq!(r.sslcert, None);
    assert_eq!(r.sslkey, None);
    assert_eq!(r.target_session_attrs, TargetSessionAttrs::Any);
    assert_eq!(r.service, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn default_socket_directory_follows_the_socket() {
    let env = FakeEnv::new().with_socket("/tmp/.s.PGSQL.5432");
    assert_eq!(ok(&[], &env).targets, vec![unix("/tmp", 5432)]);

    let env = FakeEnv::new()
        .with_socket("/tmp/.s.PGSQL.5432")
        .with_socket("/var/run/postgresql/.s.PGSQL.5432");
    assert_eq!(
        ok(&[], &env).targets,
        vec![unix("/var/run/postgresql", 5432)]
    );

    // The socket file is named after the port.
    let env = FakeEnv::new().with_socket("/tmp/.s.PGSQL.5433");
    assert_eq!(
        ok(&[], &env).targets,
        vec![unix("/var/run/postgresql", 5432)]
    );
    assert_eq!(
        ok(&[("port", "5433")], &env).targets,
        vec![unix("/tmp", 5433)]
    );
}

#[test]
fn no_home_means_no_default_passfile() {
    let mut env = FakeEnv::new();
    env.home = None;
    assert_eq!(ok(&[], &env).passfile, None);
}

#[test]
fn unknown_explicit_keyword_is_refused() {
    let env = FakeEnv::new();
    assert_eq!(
        err(&[("hots", "x")], &env),
        "invalid connection option \"hots\""
    );
}

#[test]
fn unknown_os_user_is_an_error_only_when_needed() {
    let mut env = FakeEnv::new();
    env.user = String::new();
    assert_eq!(err(&[], &env), "could not look up the local user name");
    assert_eq!(ok(&[("user", "bob")], &env).user, "bob");
}

// --- precedence ---

#[test]
fn environment_variables() {
    let env = FakeEnv::new()
        .with_var("PGHOST", "envhost")
        .with_var("PGPORT", "6000")
        .with_var("PGUSER", "envuser")
        .with_var("PGDATABASE", "envdb")
        .with_var("PGPASSWORD", "envpw")
        .with_var("PGPASSFILE", "/secrets/pgpass")
        .with_var("PGAPPNAME", "envapp")
        .with_var("PGOPTIONS", "-c work_mem=64MB")
        .with_var("PGCONNECT_TIMEOUT", "7")
        .with_var("PGSSLMODE", "verify-full")
        .with_var("PGSSLROOTCERT", "/ca.crt")
        .with_var("PGSSLCERT", "/client.crt")
        .with_var("PGSSLKEY", "/client.key")
        .with_var("PGTARGETSESSIONATTRS", "read-write");
    let r = ok(&[], &env);
    assert_eq!(r.targets, vec![tcp("envhost", 6000)]);
    assert_eq!(r.user, "envuser");
    assert_eq!(r.dbname, "envdb");
    assert_eq!(r.password.as_deref(), Some("envpw"));
    assert_eq!(r.passfile, Some(PathBuf::from("/secrets/pgpass")));
    assert_eq!(r.application_name, "envapp");
    assert_eq!(r.options.as_deref(), Some("-c work_mem=64MB"));
    assert_eq!(r.connect_timeout, Some(Duration::from_secs(7)));
    assert_eq!(r.sslmode, SslMode::VerifyFull);
    assert_eq!(r.sslrootcert.as_deref(), Some("/ca.crt"));
    assert!(!r.sslrootcert_defaulted);
    assert_eq!(r.sslcert, Some(PathBuf::from("/client.crt")));
    assert_eq!(r.sslkey, Some(PathBuf::from("/client.key")));
    assert_eq!(r.target_session_attrs, TargetSessionAttrs::ReadWrite);
}

#[test]
fn explicit_beats_environment() {
    let env = FakeEnv::new()
        .with_var("PGHOST", "envhost")
        .with_var("PGPORT", "6000")
        .with_var("PGUSER", "envuser")
        .with_var("PGDATABASE", "envdb")
        .with_var("PGSSLMODE", "require");
    let r = ok(
        &[
            ("host", "cli"),
            ("port", "7000"),
            ("user", "bob"),
            ("dbname", "app"),
            ("sslmode", "disable"),
        ],
        &env,
    );
    assert_eq!(r.targets, vec![tcp("cli", 7000)]);
    assert_eq!((r.user.as_str(), r.dbname.as_str()), ("bob", "app"));
    assert_eq!(r.sslmode, SslMode::Disable);
}

#[test]
fn dbname_defaults_to_the_resolved_user() {
    let env = FakeEnv::new().with_var("PGUSER", "envuser");
    assert_eq!(ok(&[], &env).dbname, "envuser");
    assert_eq!(ok(&[("user", "bob")], &env).dbname, "bob");
}

#[test]
fn empty_explicit_value_shadows_environment_then_means_default() {
    let env = FakeEnv::new()
        .with_var("PGHOST", "envhost")
        .with_var("PGUSER", "envuser")
        .with_var("PGDATABASE", "envdb")
        .with_var("PGPASSWORD", "envpw");
    let r = ok(
        &[("host", ""), ("user", ""), ("dbname", ""), ("password", "")],
        &env,
    );
    assert_eq!(r.targets, vec![unix("/var/run/postgresql", 5432)]);
    assert_eq!(r.user, "alice");
    assert_eq!(r.dbname, "alice");
    assert_eq!(r.password, None);
}

#[test]
fn application_name_precedence() {
    let env = FakeEnv::new();
    assert_eq!(
        ok(&[("fallback_application_name", "fb")], &env).application_name,
        "fb"
    );
    let env = FakeEnv::new().with_var("PGAPPNAME", "envapp");
    assert_eq!(
        ok(&[("fallback_application_name", "fb")], &env).application_name,
        "envapp"
    );
    assert_eq!(
        ok(
            &[
                ("application_name", "x"),
                ("fallback_application_name", "fb")
            ],
            &env
        )
        .application_name,
        "x"
    );
}
