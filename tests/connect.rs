//! Connecting like psql, end to end through the binary: pgpass, service files, the PG*
//! environment, and one-line errors that never show a password.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use mvtop::cluster::{Cluster, ClusterOptions};

const ROLE: &str = "app_user";
/// Holds both pgpass escapes (`\:` and `\\`).
const PASSWORD: &str = r"S3cr:t\pw-4711";

fn auth_cluster() -> &'static Cluster {
    let c = common::cluster_with(|| ClusterOptions {
        listen_tcp: true,
        data_files: vec![(
            "pg_hba.conf".into(),
            b"local all postgres trust\n\
              local all all scram-sha-256\n\
              host all postgres 127.0.0.1/32 trust\n\
              host all all 127.0.0.1/32 scram-sha-256\n"
                .to_vec(),
        )],
        ..ClusterOptions::default()
    });
    static ROLE_MADE: std::sync::Once = std::sync::Once::new();
    ROLE_MADE.call_once(|| {
        let out = mvtop::cluster::psql_command(c, "postgres")
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!(
                    "CREATE ROLE {ROLE} LOGIN PASSWORD '{}'",
                    PASSWORD.replace('\'', "''")
                ),
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    c
}

/// The binary with a clean PG* environment and HOME pointing at `home`.
fn mvtop(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mvtop"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home);
    cmd
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn pgpass_escape(s: &str) -> String {
    s.replace('\\', r"\\").replace(':', r"\:")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_listed(o: &Output) {
    assert!(common::json_of(o).is_array());
}

fn assert_one_line_failure(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert!(
        !err.contains(PASSWORD) && !err.contains("4711"),
        "password leaked: {err}"
    );
}

#[test]
fn pgpass_with_escapes_is_used_over_tcp() {
    let c = auth_cluster();
    let home = tempfile::tempdir().unwrap();
    write_private(
        &home.path().join(".pgpass"),
        &format!(
            "# a comment\nother:*:*:*:nope\nlocalhost:{}:*:{ROLE}:{}\n",
            c.port(),
            pgpass_escape(PASSWORD)
        ),
        0o600,
    );
    let o = mvtop(home.path())
        .args([
            "-h",
            "localhost",
            "-p",
            &c.port().to_string(),
            "-U",
            ROLE,
            "-d",
            "postgres",
        ])
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert_listed(&o);
}

#[test]
fn pgpass_matches_a_non_default_socket_directory_by_its_path() {
    let c = auth_cluster();
    let home = tempfile::tempdir().unwrap();
    let passfile = home.path().join("custom-pgpass");
    write_private(
        &passfile,
        &format!(
            "{}:{}:postgres:{ROLE}:{}\n",
            pgpass_escape(&c.socket_dir().to_string_lossy()),
            c.port(),
            pgpass_escape(PASSWORD)
        ),
        0o400,
    );
    let o = mvtop(home.path())
        .env("PGPASSFILE", &passfile)
        .env("PGHOST", c.socket_dir())
        .env("PGPORT", c.port().to_string())
        .env("PGUSER", ROLE)
        .env("PGDATABASE", "postgres")
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert_listed(&o);
}

#[test]
fn group_readable_pgpass_is_ignored_with_a_warning() {
    let c = auth_cluster();
    let home = tempfile::tempdir().unwrap();
    write_private(
        &home.path().join(".pgpass"),
        &format!("*:*:*:{ROLE}:{}\n", pgpass_escape(PASSWORD)),
        0o644,
    );
    let o = mvtop(home.path())
        .args([
            "-w",
            "-h",
            "127.0.0.1",
            "-p",
            &c.port().to_string(),
            "-U",
            ROLE,
        ])
        .args(["-d", "postgres", "list"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("has group or world access"), "{err}");
    assert!(err.contains("no password supplied"), "{err}");
}

#[test]
fn service_file_settings_beat_the_environment_and_lose_to_explicit_ones() {
    let c = auth_cluster();
    let home = tempfile::tempdir().unwrap();
    let svc = home.path().join("services.conf");
    std::fs::write(
        &svc,
        format!(
            "# comment\n[mvtest]\nhost=127.0.0.1\nport={}\nuser={ROLE}\ndbname=postgres\n\n[wrongport]\nhost=127.0.0.1\nport=1\nuser={ROLE}\n",
            c.port()
        ),
    )
    .unwrap();
    // PGPORT=1 must lose to the service's port.
    let o = mvtop(home.path())
        .env("PGSERVICEFILE", &svc)
        .env("PGPORT", "1")
        .env("PGPASSWORD", PASSWORD)
        .args(["-d", "service=mvtest", "list", "--format", "json"])
        .output()
        .unwrap();
    assert_listed(&o);
    // PGSERVICE works too, and an explicit port beats the service's wrong one.
    let o = mvtop(home.path())
        .env("PGSERVICEFILE", &svc)
        .env("PGSERVICE", "wrongport")
        .env("PGPASSWORD", PASSWORD)
        .args(["-d", &format!("port={} dbname=postgres", c.port())])
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    assert_listed(&o);
}

#[test]
fn wrong_password_is_one_line_and_never_shows_the_password() {
    let c = auth_cluster();
    let home = tempfile::tempdir().unwrap();
    let o = mvtop(home.path())
        .env("PGPASSWORD", format!("{PASSWORD}-wrong"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &c.port().to_string(),
            "-U",
            ROLE,
            "-d",
            "postgres",
        ])
        .arg("list")
        .output()
        .unwrap();
    assert_one_line_failure(
        &o,
        2,
        "password authentication failed for user \"app_user\"",
    );
}

#[test]
fn password_in_a_uri_never_appears_in_errors() {
    let c = auth_cluster();
    let home = tempfile::tempdir().unwrap();
    let uri = format!(
        "postgresql://{ROLE}:wrong-4711@127.0.0.1:{}/nosuchdb",
        c.port()
    );
    let o = mvtop(home.path())
        .args(["-d", &uri, "list"])
        .output()
        .unwrap();
    assert_one_line_failure(&o, 2, "failed");
}

#[test]
fn connection_errors_are_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let cases: [(&[&str], &str); 4] = [
        (
            &["-h", "no-such-host.invalid"],
            "could not translate host name \"no-such-host.invalid\"",
        ),
        (&["-h", "127.0.0.1", "-p", &port], "Connection refused"),
        (
            &["-d", "service=nope"],
            "definition of service \"nope\" not found",
        ),
        (
            &["-d", "host=localhost port"],
            "missing \"=\" after \"port\"",
        ),
    ];
    for (args, needle) in cases {
        let o = mvtop(home.path()).args(args).arg("list").output().unwrap();
        assert_one_line_failure(&o, 2, needle);
    }
}

#[tokio::test]
async fn every_session_carries_the_monitoring_settings() {
    let s = common::connector(&auth_cluster().params("postgres"))
        .connect(&mvtop::pgconn::SessionSettings::MONITORING)
        .await
        .expect("session");
    let row = s
        .client
        .query_one(
            "SELECT current_setting('application_name'), current_setting('jit'),
                    current_setting('lock_timeout'), current_setting('statement_timeout')",
            &[],
        )
        .await
        .unwrap();
    let got: (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(got.0, "mvtop");
    assert_eq!(got.1, "off");
    assert_eq!(got.2, "500ms");
    assert_eq!(got.3, "30s");
}

#[test]
fn demo_without_server_binaries_names_the_package_to_install() {
    let home = tempfile::tempdir().unwrap();
    let o = mvtop(home.path())
        .env("PG_BINDIR", home.path())
        .arg("demo")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("apt-get install postgresql postgresql-contrib"),
        "{err}"
    );
}

/// Every place a password could surface, after a successful login (through PGPASSWORD, as a
/// script would): JSON and table output, the daemon's log, the console's screen, the command
/// lines of every process on the machine (mvtop starts none with it).
#[test]
fn a_password_never_appears_in_output_logs_screens_or_processes() {
    let c = auth_cluster();
    let db = "pw_nowhere";
    let setup = mvtop::cluster::psql_command(c, "postgres")
        .args(["-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {db} OWNER {ROLE}"))
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", stderr(&setup));
    let home = tempfile::tempdir().unwrap();
    let port = c.port().to_string();
    let run = |args: &[&str]| {
        mvtop(home.path())
            .env("PGPASSWORD", PASSWORD)
            .args(["-h", "127.0.0.1", "-p", &port, "-U", ROLE, "-d", db])
            .args(args)
            .output()
            .unwrap()
    };
    let leaked = |what: &str, text: &str| {
        assert!(
            !text.contains(PASSWORD) && !text.contains("4711"),
            "password in {what}: {text}"
        );
    };
    let fixture = format!(
        "SET ROLE {ROLE}; CREATE TABLE t (id int PRIMARY KEY); \
         CREATE MATERIALIZED VIEW m AS SELECT count(*) AS n FROM t;"
    );
    let made = mvtop::cluster::psql_command(c, db)
        .args(["-v", "ON_ERROR_STOP=1", "-c", &fixture])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    for args in [
        &["install"][..],
        &["list", "--format", "json"],
        &["list"],
        &["refresh", "m", "--format", "json"],
        &["history", "--format", "json"],
        &["locks", "--format", "json"],
        &["top", "--format", "json"],
        &["schedule", "set", "m", "--every", "1s"],
        &["schedule", "list", "--format", "json"],
    ] {
        let o = run(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        leaked(
            &format!("{args:?} stdout"),
            &String::from_utf8_lossy(&o.stdout),
        );
        leaked(&format!("{args:?} stderr"), &stderr(&o));
    }

    // The daemon, running, and its log; every process's command line meanwhile.
    let log = home.path().join("daemon.log");
    let log_file = home.path().join("daemon-file.log");
    let daemon = mvtop(home.path())
        .env("PGPASSWORD", PASSWORD)
        .args(["-h", "127.0.0.1", "-p", &port, "-U", ROLE, "-d", db])
        .args(["daemon", "--log-format", "json", "--log-file"])
        .arg(&log_file)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            leaked(
                "a process's command line",
                &String::from_utf8_lossy(&cmdline),
            );
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let out = daemon.wait_with_output().unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("\"finished\""), "the daemon refreshed: {log}");
    leaked("the daemon's log", &log);
    leaked("the daemon's stderr", &stderr(&out));
    let log_file = std::fs::read_to_string(&log_file).unwrap();
    assert!(log_file.contains(" finished "), "{log_file}");
    leaked("the daemon's --log-file", &log_file);

    // The console's screen.
    let console_log = home.path().join("console.log");
    let command = format!(
        "env PGPASSWORD='{}' {} -h 127.0.0.1 -p {port} -U {ROLE} -d {db} --log-file {}; sleep 30",
        PASSWORD.replace('\'', r"'\''"),
        env!("CARGO_BIN_EXE_mvtop"),
        console_log.display()
    );
    let tmux = common::tmux::Tmux::start(&command);
    let screen = tmux.wait_for("m ");
    leaked("the console", &screen);
    tmux.keys(&["?"]);
    leaked("the help", &tmux.wait_for("keys"));
    let console_log = std::fs::read_to_string(&console_log).unwrap();
    assert!(console_log.contains("console_opened"), "{console_log}");
    leaked("the console's --log-file", &console_log);
}
