//! Optional TLS for the panel (`--cert`, `--key`: PEM files), with rustls and ring.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// An acceptor for the certificate chain and private key in these PEM files.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: cannot read the certificate chain: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: cannot read the private key: {e}", key.display()))?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_wrong_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("indi-web-tls-{}", crate::users::random_hex(6)));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("x.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let error = acceptor(&dir.join("missing.pem"), &not_pem).err().unwrap();
        assert!(error.contains("missing.pem: cannot read the certificate chain"), "{error}");
        let error = acceptor(&not_pem, &not_pem).err().unwrap();
        assert!(error.contains("no certificate"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
