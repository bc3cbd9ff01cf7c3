//! libpq `sslmode` semantics on top of rustls.
//!
//! Every rustls verifier checks like libpq's verify-full; libpq's weaker modes need our own
//! verifiers: `NoVerify` for prefer/require without a root certificate, `VerifyCa` for
//! verify-ca (and require/prefer when a root certificate file exists, as libpq does).

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::resolved::{Resolved, SslMode};

/// How the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    None,
    Chain,
    ChainAndName,
}

/// Which verification libpq applies for a mode, given whether a root certificate is configured.
pub fn verification_for(mode: SslMode, has_root_cert: bool) -> Verification {
    match mode {
        SslMode::VerifyFull => Verification::ChainAndName,
        SslMode::VerifyCa => Verification::Chain,
        // libpq verifies the chain whenever a root certificate file exists, even for require.
        _ if has_root_cert => Verification::Chain,
        _ => Verification::None,
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the TLS connector for `resolved`; `Err` is a one-line message.
pub fn make_connector(resolved: &Resolved) -> Result<MakeRustlsConnect, String> {
    let provider = provider();
    let root_source = resolved.sslrootcert.as_deref();
    let system_roots = root_source == Some("system");
    if system_roots
        && matches!(
            resolved.sslmode,
            SslMode::Allow | SslMode::Require | SslMode::VerifyCa
        )
    {
        return Err(format!(
            "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
            resolved.sslmode
        ));
    }
    let mode = if system_roots && resolved.sslmode == SslMode::Prefer {
        SslMode::VerifyFull
    } else {
        resolved.sslmode
    };
    let verification = verification_for(mode, root_source.is_some());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let builder = if verification == Verification::None {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let roots = Arc::new(load_roots(root_source, resolved.sslmode)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        if verification == Verification::Chain {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(VerifyCa(webpki)))
        } else {
            builder.with_webpki_verifier(webpki)
        }
    };
    let config = match (&resolved.sslcert, &resolved.sslkey) {
        (Some(cert), Some(key)) => {
            let chain = load_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                format!("could not load private key file \"{}\": {e}", key.display())
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("could not use client certificate: {e}"))?
        }
        (Some(cert), None) => {
            return Err(format!(
                "certificate present, but not private key file (sslcert \"{}\")",
                cert.display()
            ));
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

fn load_roots(source: Option<&str>, mode: SslMode) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match source {
        Some("system") => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err("could not load the system's trusted root certificates".into());
            }
        }
        Some(path) => {
            for cert in load_certs(Path::new(path))? {
                store
                    .add(cert)
                    .map_err(|e| format!("could not read root certificate file \"{path}\": {e}"))?;
            }
        }
        None => {
            return Err(format!(
                "root certificate file \"~/.postgresql/root.crt\" does not exist; either provide \
                 the file, use the system's trusted roots with sslrootcert=system, or change \
                 sslmode (now \"{mode}\") to disable server certificate verification"
            ));
        }
    }
    Ok(store)
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            format!(
                "could not read certificate file \"{}\": {e}",
                path.display()
            )
        })?
        .collect();
    let certs = certs.map_err(|e| {
        format!(
            "could not read certificate file \"{}\": {e}",
            path.display()
        )
    })?;
    if certs.is_empty() {
        return Err(format!("no certificate found in \"{}\"", path.display()));
    }
    Ok(certs)
}

/// libpq's prefer/require without a root certificate: encryption, no authentication.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// libpq's verify-ca: the chain must lead to a trusted root; the host name is not checked.
#[derive(Debug)]
struct VerifyCa(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for VerifyCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name, so a name error means the chain was good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_follows_libpq() {
        use Verification::*;
        assert_eq!(verification_for(SslMode::Prefer, false), None);
        assert_eq!(verification_for(SslMode::Require, false), None);
        assert_eq!(verification_for(SslMode::Require, true), Chain);
        assert_eq!(verification_for(SslMode::VerifyCa, true), Chain);
        assert_eq!(verification_for(SslMode::VerifyFull, true), ChainAndName);
    }
}
