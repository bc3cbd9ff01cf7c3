//! TLS against a throwaway cluster with ssl=on and certificates made here: libpq's sslmode
//! semantics (verify-full checks the name, verify-ca only the chain, require neither).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use mvtop::cluster::ClusterOptions;
use mvtop::pgconn::{Params, SessionSettings};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

struct Pki {
    dir: tempfile::TempDir,
    ca_crt: String,
    server_crt: String,
    server_key: String,
}

impl Pki {
    fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }
    fn other_ca_path(&self) -> PathBuf {
        self.dir.path().join("other-ca.crt")
    }
    fn client_crt_path(&self) -> PathBuf {
        self.dir.path().join("client.crt")
    }
    fn client_key_path(&self) -> PathBuf {
        self.dir.path().join("client.key")
    }
}

/// The role that logs in with a client certificate only (pg_hba `cert`: CN = role).
const CERT_USER: &str = "cert_user";

fn make_ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

/// A CA, a second unrelated CA, and a server certificate valid for DNS:localhost only.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (ca_params, ca_key, ca_pem) = make_ca("mvtop test CA");
        let (_, _, other_pem) = make_ca("some other CA");
        let issuer = Issuer::new(ca_params, ca_key);
        let mut server = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_key = KeyPair::generate().unwrap();
        let server_crt = server.signed_by(&server_key, &issuer).unwrap().pem();
        let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
        client
            .distinguished_name
            .push(DnType::CommonName, CERT_USER);
        let client_key = KeyPair::generate().unwrap();
        let client_crt = client.signed_by(&client_key, &issuer).unwrap().pem();
        std::fs::write(dir.path().join("ca.crt"), &ca_pem).unwrap();
        std::fs::write(dir.path().join("other-ca.crt"), other_pem).unwrap();
        std::fs::write(dir.path().join("client.crt"), client_crt).unwrap();
        std::fs::write(dir.path().join("client.key"), client_key.serialize_pem()).unwrap();
        Pki {
            dir,
            ca_crt: ca_pem,
            server_crt,
            server_key: server_key.serialize_pem(),
        }
    })
}

fn tls_cluster() -> &'static mvtop::cluster::Cluster {
    common::cluster_with(|| {
        let pki = pki();
        ClusterOptions {
            settings: vec![
                ("ssl".into(), "on".into()),
                ("ssl_cert_file".into(), "server.crt".into()),
                ("ssl_key_file".into(), "server.key".into()),
                ("ssl_ca_file".into(), "ca.crt".into()),
            ],
            listen_tcp: true,
            data_files: vec![
                ("server.crt".into(), pki.server_crt.clone().into_bytes()),
                ("server.key".into(), pki.server_key.clone().into_bytes()),
                ("ca.crt".into(), pki.ca_crt.clone().into_bytes()),
                (
                    "pg_hba.conf".into(),
                    format!(
                        "local all all trust\n\
                         hostssl all {CERT_USER} 127.0.0.1/32 cert\n\
                         hostssl all all 127.0.0.1/32 trust\n"
                    )
                    .into_bytes(),
                ),
            ],
            ..ClusterOptions::default()
        }
    })
}

fn tcp_params(host: &str, extra: &[(&str, &str)]) -> Params {
    let c = tls_cluster();
    let mut p = Params::default();
    p.set("host", host);
    p.set("hostaddr", "127.0.0.1");
    p.set("port", c.port().to_string());
    p.set("user", "postgres");
    p.set("dbname", "postgres");
    for (k, v) in extra {
        p.set(k, *v);
    }
    p
}

/// Connects and returns whether the session is encrypted, or the one-line error.
async fn try_connect(params: Params) -> Result<bool, String> {
    let resolved =
        mvtop::pgconn::resolve(&params, &mvtop::pgconn::SystemEnv).map_err(|e| e.to_string())?;
    let connector = mvtop::pgconn::Connector::new(resolved, mvtop::pgconn::PasswordPrompt::Never)
        .map_err(|e| e.to_string())?;
    let s = connector
        .connect(&SessionSettings::MONITORING)
        .await
        .map_err(|e| e.to_string())?;
    let row = s
        .client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn verify_full_passes_with_the_right_name_and_ca() {
    let ca = pki().ca_path();
    let r = try_connect(tcp_params(
        "localhost",
        &[
            ("sslmode", "verify-full"),
            ("sslrootcert", ca.to_str().unwrap()),
        ],
    ))
    .await;
    assert_eq!(r, Ok(true));
}

#[tokio::test]
async fn verify_full_fails_on_a_wrong_name() {
    let ca = pki().ca_path();
    let err = try_connect(tcp_params(
        "127.0.0.1",
        &[
            ("sslmode", "verify-full"),
            ("sslrootcert", ca.to_str().unwrap()),
        ],
    ))
    .await
    .unwrap_err();
    assert!(err.contains("not valid for name"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[tokio::test]
async fn verify_full_fails_with_another_ca() {
    let other = pki().other_ca_path();
    let err = try_connect(tcp_params(
        "localhost",
        &[
            ("sslmode", "verify-full"),
            ("sslrootcert", other.to_str().unwrap()),
        ],
    ))
    .await
    .unwrap_err();
    assert!(
        err.to_lowercase().contains("unknownissuer") || err.contains("issuer"),
        "{err}"
    );
}

#[tokio::test]
async fn verify_ca_passes_on_the_ip() {
    let ca = pki().ca_path();
    let r = try_connect(tcp_params(
        "127.0.0.1",
        &[
            ("sslmode", "verify-ca"),
            ("sslrootcert", ca.to_str().unwrap()),
        ],
    ))
    .await;
    assert_eq!(r, Ok(true));
}

#[tokio::test]
async fn verify_ca_still_checks_the_chain() {
    let other = pki().other_ca_path();
    let r = try_connect(tcp_params(
        "127.0.0.1",
        &[
            ("sslmode", "verify-ca"),
            ("sslrootcert", other.to_str().unwrap()),
        ],
    ))
    .await;
    assert!(r.is_err(), "{r:?}");
}

#[tokio::test]
async fn require_and_prefer_encrypt_without_verifying() {
    for mode in ["require", "prefer"] {
        let r = try_connect(tcp_params("127.0.0.1", &[("sslmode", mode)])).await;
        assert_eq!(r, Ok(true), "sslmode={mode}");
    }
}

#[tokio::test]
async fn disable_is_refused_by_a_hostssl_only_server() {
    let err = try_connect(tcp_params("127.0.0.1", &[("sslmode", "disable")]))
        .await
        .unwrap_err();
    assert!(
        err.contains("no encryption") || err.contains("pg_hba.conf"),
        "{err}"
    );
}

#[tokio::test]
async fn allow_falls_back_to_tls_when_plaintext_is_refused() {
    let r = try_connect(tcp_params("127.0.0.1", &[("sslmode", "allow")])).await;
    assert_eq!(r, Ok(true));
}

#[tokio::test]
async fn a_client_certificate_logs_in_where_pg_hba_asks_for_one() {
    let c = tls_cluster();
    let out = mvtop::cluster::psql_command(c, "postgres")
        .args(["-c", &format!("CREATE ROLE {CERT_USER} LOGIN")])
        .output()
        .unwrap();
    assert!(
        out.status.success() || String::from_utf8_lossy(&out.stderr).contains("already exists")
    );
    let pki = pki();
    let (crt, key) = (pki.client_crt_path(), pki.client_key_path());
    let mut with_cert = tcp_params(
        "localhost",
        &[
            ("sslmode", "verify-full"),
            ("sslrootcert", pki.ca_path().to_str().unwrap()),
            ("sslcert", crt.to_str().unwrap()),
            ("sslkey", key.to_str().unwrap()),
        ],
    );
    with_cert.set("user", CERT_USER);
    assert_eq!(try_connect(with_cert.clone()).await, Ok(true));
    let mut without = with_cert;
    without.remove("sslcert");
    without.remove("sslkey");
    let err = try_connect(without).await.unwrap_err();
    assert!(err.contains("certificate"), "{err}");
}

/// A cancel goes over a connection of its own, encrypted and verified like the session's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_the_server_over_verify_full() {
    let ca = pki().ca_path();
    let params = tcp_params(
        "localhost",
        &[
            ("sslmode", "verify-full"),
            ("sslrootcert", ca.to_str().unwrap()),
        ],
    );
    let resolved = mvtop::pgconn::resolve(&params, &mvtop::pgconn::SystemEnv).unwrap();
    let connector =
        mvtop::pgconn::Connector::new(resolved, mvtop::pgconn::PasswordPrompt::Never).unwrap();
    let s = std::sync::Arc::new(
        connector
            .connect(&SessionSettings::MONITORING)
            .await
            .unwrap(),
    );
    let sleeper = s.clone();
    let sleep =
        tokio::spawn(async move { sleeper.client.batch_execute("SELECT pg_sleep(20)").await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let start = std::time::Instant::now();
    s.cancel().await.expect("the cancel request is sent");
    let e = sleep.await.unwrap().expect_err("cancelled");
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{e}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
