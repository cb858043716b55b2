//! TLS server configuration for syslog over TLS (RFC 5425).
//!
//! The certificate and key come from PEM files, or a self-signed pair is generated on first
//! start and persisted in a directory (`syslog-tls-cert.pem`, `syslog-tls-key.pem`, the key
//! with mode 0600), so senders can pin it across restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::CollectError;

/// File name of the generated certificate inside the state directory.
pub const SELF_SIGNED_CERT_FILE: &str = "syslog-tls-cert.pem";
/// File name of the generated private key inside the state directory.
pub const SELF_SIGNED_KEY_FILE: &str = "syslog-tls-key.pem";

/// Where the TLS listener's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsIdentity {
    /// PEM files: a certificate chain and its private key.
    Pem {
        /// Certificate chain (leaf first).
        cert: PathBuf,
        /// Private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A self-signed pair kept in `dir`, generated on first start for `names` (DNS names or IPs).
    SelfSigned {
        /// Directory where the pair is persisted.
        dir: PathBuf,
        /// Subject alternative names.
        names: Vec<String>,
    },
}

fn tls_err(path: &Path, reason: impl ToString) -> CollectError {
    CollectError::Tls {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Make sure a self-signed pair exists in `dir` (generating it when either file is missing)
/// and return the (certificate, key) paths.
pub fn ensure_self_signed(
    dir: &Path,
    names: &[String],
) -> Result<(PathBuf, PathBuf), CollectError> {
    let cert = dir.join(SELF_SIGNED_CERT_FILE);
    let key = dir.join(SELF_SIGNED_KEY_FILE);
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).map_err(|e| CollectError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let names = if names.is_empty() {
        vec!["localhost".to_owned()]
    } else {
        names.to_vec()
    };
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| tls_err(dir, e))?;
    crate::file::write_atomic(&key, ck.signing_key.serialize_pem().as_bytes(), true)?;
    crate::file::write_atomic(&cert, ck.cert.pem().as_bytes(), false)?;
    Ok((cert, key))
}

/// Build the rustls server configuration for `identity` (ring provider, TLS 1.2 and 1.3,
/// no client authentication).
pub fn server_config(identity: &TlsIdentity) -> Result<Arc<ServerConfig>, CollectError> {
    let (cert_path, key_path) = match identity {
        TlsIdentity::Pem { cert, key } => (cert.clone(), key.clone()),
        TlsIdentity::SelfSigned { dir, names } => ensure_self_signed(dir, names)?,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| tls_err(&cert_path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_err(&cert_path, e))?;
    if certs.is_empty() {
        return Err(tls_err(&cert_path, "no certificate in pem file"));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| tls_err(&key_path, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(&cert_path, e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_err(&key_path, e))?;
    Ok(Arc::new(cfg))
}
