//! `resolve`: host, hostaddr and port lists into the targets to try.

use super::{FakeEnv, err, ok, tcp, unix};
use crate::pgconn::{HostSpec, Target};

// --- hosts and ports ---

#[test]
fn multiple_hosts_and_ports() {
    let env = FakeEnv::new();
    let r = ok(&[("host", "h1,h2"), ("port", "1,2")], &env);
    assert_eq!(r.targets, vec![tcp("h1", 1), tcp("h2", 2)]);
    // One port applies to every host.
    let r = ok(&[("host", "h1,h2,h3"), ("port", "7")], &env);
    assert_eq!(r.targets, vec![tcp("h1", 7), tcp("h2", 7), tcp("h3", 7)]);
}

#[test]
fn empty_list_entries_use_defaults() {
    let env = FakeEnv::new();
    let r = ok(&[("host", "h1,,/tmp"), ("port", "1,,3")], &env);
    assert_eq!(
        r.targets,
        vec![
            tcp("h1", 1),
            unix("/var/run/postgresql", 5432),
            unix("/tmp", 3)
        ]
    );
    // From a URI: postgresql://h1:1,h2/db
    let r = ok(&[("host", "h1,h2"), ("port", "1,")], &env);
    assert_eq!(r.targets, vec![tcp("h1", 1), tcp("h2", 5432)]);
}

#[test]
fn port_count_must_match_host_count() {
    let env = FakeEnv::new();
    assert_eq!(
        err(&[("host", "h1,h2"), ("port", "1,2,3")], &env),
        "could not match 3 port numbers to 2 hosts"
    );
    assert_eq!(
        err(&[("port", "1,2")], &env),
        "could not match 2 port numbers to 1 hosts"
    );
}

#[test]
fn socket_directories_and_abstract_sockets() {
    let env = FakeEnv::new();
    assert_eq!(
        ok(&[("host", "/srv/pg")], &env).targets,
        vec![unix("/srv/pg", 5432)]
    );
    assert_eq!(
        ok(&[("host", "@pgsock")], &env).targets,
        vec![unix("@pgsock", 5432)]
    );
}

#[test]
fn hostaddr_without_host_is_tcp_to_the_address() {
    let env = FakeEnv::new();
    let r = ok(&[("hostaddr", "192.0.2.7")], &env);
    assert_eq!(
        r.targets,
        vec![Target {
            host: HostSpec::Tcp(String::new()),
            hostaddr: Some("192.0.2.7".parse().unwrap()),
            port: 5432
        }]
    );
    let env = FakeEnv::new().with_var("PGHOSTADDR", "::1");
    assert_eq!(
        ok(&[], &env).targets[0].hostaddr,
        Some("::1".parse().unwrap())
    );
}

#[test]
fn hostaddr_with_host_keeps_both() {
    let env = FakeEnv::new();
    let r = ok(
        &[
            ("host", "db.example.com,b"),
            ("hostaddr", "192.0.2.7,192.0.2.8"),
        ],
        &env,
    );
    assert_eq!(r.targets[0].host, HostSpec::Tcp("db.example.com".into()));
    assert_eq!(r.targets[1].hostaddr, Some("192.0.2.8".parse().unwrap()));
    // Mixed: the empty hostaddr entry leaves that host to name resolution.
    let r = ok(&[("host", "a,b"), ("hostaddr", ",192.0.2.8")], &env);
    assert_eq!(r.targets[0], tcp("a", 5432));
}

#[test]
fn host_and_hostaddr_counts_must_match() {
    let env = FakeEnv::new();
    assert_eq!(
        err(
            &[("host", "a,b,c"), ("hostaddr", "192.0.2.1,192.0.2.2")],
            &env
        ),
        "could not match 3 host names to 2 hostaddr values"
    );
    assert_eq!(
        err(
            &[
                ("host", "a"),
                ("hostaddr", "192.0.2.1,192.0.2.2"),
                ("port", "1,2,3")
            ],
            &env
        ),
        "could not match 1 host names to 2 hostaddr values"
    );
}

#[test]
fn hostaddr_must_be_numeric() {
    let env = FakeEnv::new();
    assert_eq!(
        err(&[("hostaddr", "db.example.com")], &env),
        "could not parse network address \"db.example.com\": Name or service not known"
    );
}
