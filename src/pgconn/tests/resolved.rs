//! `resolved`: what resolution produces never shows a password; targets read like psql's.

use super::{FakeEnv, ok, tcp, unix};
use crate::pgconn::{HostSpec, REDACTED, Target, describe_target};

// --- secrets and messages ---

#[test]
fn password_never_in_debug() {
    let env = FakeEnv::new().with_var("PGPASSWORD", "hunter2");
    let r = ok(&[], &env);
    assert_eq!(r.password.as_deref(), Some("hunter2"));
    let shown = format!("{r:?} {r:#?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains(REDACTED), "{shown}");
}

#[test]
fn describes_targets_like_psql() {
    assert_eq!(
        describe_target(&unix("/var/run/postgresql", 5432)),
        "server on socket \"/var/run/postgresql/.s.PGSQL.5432\""
    );
    assert_eq!(
        describe_target(&tcp("db.example.com", 5433)),
        "server at \"db.example.com\", port 5433"
    );
    let with_addr = Target {
        host: HostSpec::Tcp("db.example.com".into()),
        hostaddr: Some("1.2.3.4".parse().unwrap()),
        port: 5432,
    };
    assert_eq!(
        describe_target(&with_addr),
        "server at \"1.2.3.4\", port 5432"
    );
}
