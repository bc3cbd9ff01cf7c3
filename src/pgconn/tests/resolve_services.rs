//! `resolve` with service files: where they are found and how they rank.

use super::{FakeEnv, err, ok, tcp};
use crate::pgconn::{Params, resolve};

// --- service files ---

#[test]
fn service_beats_environment_and_explicit_beats_service() {
    let env = FakeEnv::new()
        .with_var("PGPORT", "1111")
        .with_var("PGHOST", "envhost");
    env.write_system_services("[svc]\nport=2222\nhost=svchost\ndbname=svcdb\n");
    let r = ok(&[("service", "svc")], &env);
    assert_eq!(r.targets, vec![tcp("svchost", 2222)]);
    assert_eq!(r.dbname, "svcdb");
    assert_eq!(r.service.as_deref(), Some("svc"));
    let r = ok(&[("service", "svc"), ("port", "3333")], &env);
    assert_eq!(r.targets, vec![tcp("svchost", 3333)]);
}

#[test]
fn environment_fills_what_the_service_leaves_out() {
    let env = FakeEnv::new().with_var("PGUSER", "envuser");
    env.write_system_services("[svc]\nhost=svchost\n");
    let r = ok(&[("service", "svc")], &env);
    assert_eq!(r.user, "envuser");
    assert_eq!(r.targets, vec![tcp("svchost", 5432)]);
}

#[test]
fn pgservice_names_the_service() {
    let env = FakeEnv::new().with_var("PGSERVICE", "svc");
    env.write_system_services("[svc]\nhost=a\n[other]\nhost=b\n");
    assert_eq!(ok(&[], &env).targets, vec![tcp("a", 5432)]);
    assert_eq!(
        ok(&[("service", "other")], &env).targets,
        vec![tcp("b", 5432)]
    );
}

#[test]
fn unknown_service() {
    let env = FakeEnv::new();
    env.write_system_services("[svc]\nhost=a\n");
    assert_eq!(
        err(&[("service", "nope")], &env),
        "definition of service \"nope\" not found"
    );
    // Nothing at all to look in is the same error.
    let env = FakeEnv::new();
    assert_eq!(
        err(&[("service", "nope")], &env),
        "definition of service \"nope\" not found"
    );
}

#[test]
fn user_service_file_wins_over_system() {
    let env = FakeEnv::new();
    env.write_home(".pg_service.conf", "[svc]\nhost=userhost\n");
    env.write_system_services("[svc]\nhost=syshost\nport=9999\n[sysonly]\nhost=s\n");
    let r = ok(&[("service", "svc")], &env);
    // The whole section comes from the user file: no port from the system file.
    assert_eq!(r.targets, vec![tcp("userhost", 5432)]);
    assert_eq!(
        ok(&[("service", "sysonly")], &env).targets,
        vec![tcp("s", 5432)]
    );
}

#[test]
fn pgservicefile_replaces_the_user_file() {
    let env = FakeEnv::new();
    env.write_home(".pg_service.conf", "[svc]\nhost=home\n");
    let named = env.write_home("elsewhere.conf", "[svc]\nhost=named\n");
    let env = env.with_var("PGSERVICEFILE", &named.display().to_string());
    assert_eq!(
        ok(&[("service", "svc")], &env).targets,
        vec![tcp("named", 5432)]
    );
}

#[test]
fn missing_pgservicefile_is_an_error_when_a_service_is_wanted() {
    let env = FakeEnv::new().with_var("PGSERVICEFILE", "/nonexistent/services.conf");
    env.write_system_services("[svc]\nhost=a\n");
    assert_eq!(
        err(&[("service", "svc")], &env),
        "service file \"/nonexistent/services.conf\" not found"
    );
    // Without a service the file is never looked at.
    assert!(resolve(&Params::new(), &env).is_ok());
}

#[test]
fn service_file_syntax_error() {
    let env = FakeEnv::new();
    env.write_system_services("[svc]\nhost=a\nbogus=1\n");
    let path = env.sysconf_dir.path().join("pg_service.conf");
    assert_eq!(
        err(&[("service", "svc")], &env),
        format!(
            "syntax error in service file \"{}\", line 3",
            path.display()
        )
    );
}

#[test]
fn service_password_is_used() {
    let env = FakeEnv::new().with_var("PGPASSWORD", "envpw");
    env.write_system_services("[svc]\npassword=svcpw\n");
    assert_eq!(
        ok(&[("service", "svc")], &env).password.as_deref(),
        Some("svcpw")
    );
}
