//! Server certificate fields from the first certificate of a cleartext Certificate message,
//! parsed with `x509-parser`.

use mamori_core::{Fields, Timestamp, Value};
use sha1::{Digest, Sha1};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::app::http::text::{bounded_str, hex_upper};
use crate::app::tor;

/// Subject alternative names kept.
pub const MAX_SAN: usize = 64;
/// Longest name kept.
const MAX_CERT_NAME: usize = 512;

/// What mamori keeps of a server certificate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CertInfo {
    /// Subject common name.
    pub subject_cn: Option<String>,
    /// Issuer common name.
    pub issuer_cn: Option<String>,
    /// Subject distinguished name.
    pub subject_dn: String,
    /// Issuer distinguished name.
    pub issuer_dn: String,
    /// Validity start.
    pub not_before: Timestamp,
    /// Validity end.
    pub not_after: Timestamp,
    /// SHA-1 of the DER, uppercase hex.
    pub sha1: String,
    /// Serial number, uppercase hex.
    pub serial: String,
    /// DNS names and IP addresses from subjectAltName.
    pub alt_names: Vec<String>,
    /// Subject and issuer names are identical.
    pub self_signed: bool,
}

/// Parse one DER certificate; `None` when it is not a valid X.509 certificate.
pub fn parse(der: &[u8]) -> Option<CertInfo> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let cn = |n: &x509_parser::x509::X509Name<'_>| {
        n.iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(|s| bounded_str(s.as_bytes(), MAX_CERT_NAME))
    };
    let mut alt_names = Vec::new();
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for g in san.value.general_names.iter().take(MAX_SAN) {
            match g {
                GeneralName::DNSName(s) => alt_names.push(bounded_str(s.as_bytes(), MAX_CERT_NAME)),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        alt_names.push(std::net::Ipv4Addr::from(a).to_string());
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        alt_names.push(std::net::Ipv6Addr::from(a).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Some(CertInfo {
        subject_cn: cn(c.subject()),
        issuer_cn: cn(c.issuer()),
        subject_dn: bounded_str(c.subject().to_string().as_bytes(), MAX_CERT_NAME),
        issuer_dn: bounded_str(c.issuer().to_string().as_bytes(), MAX_CERT_NAME),
        not_before: Timestamp::from_unix_secs(c.validity().not_before.timestamp()),
        not_after: Timestamp::from_unix_secs(c.validity().not_after.timestamp()),
        sha1: hex_upper(Sha1::digest(der).as_slice()),
        serial: hex_upper(c.tbs_certificate.raw_serial()),
        alt_names,
        self_signed: c.subject().as_raw() == c.issuer().as_raw(),
    })
}

impl CertInfo {
    /// Tor-style certificate: subject and issuer common names are both random
    /// `www.<x>.com|net` names and differ (see [`tor`]).
    pub fn tor_like(&self) -> bool {
        match (&self.subject_cn, &self.issuer_cn) {
            (Some(s), Some(i)) => s != i && tor::is_tor_like_name(s) && tor::is_tor_like_name(i),
            _ => false,
        }
    }

    /// Write the ECS `tls.server.*` fields.
    pub fn write_fields(&self, f: &mut Fields) {
        if let Some(s) = &self.subject_cn {
            f.insert(
                "tls.server.x509.subject.common_name".into(),
                Value::from(s.clone()),
            );
        }
        if let Some(s) = &self.issuer_cn {
            f.insert(
                "tls.server.x509.issuer.common_name".into(),
                Value::from(s.clone()),
            );
        }
        f.insert(
            "tls.server.subject".into(),
            Value::from(self.subject_dn.clone()),
        );
        f.insert(
            "tls.server.issuer".into(),
            Value::from(self.issuer_dn.clone()),
        );
        f.insert(
            "tls.server.x509.not_before".into(),
            Value::from(self.not_before),
        );
        f.insert(
            "tls.server.x509.not_after".into(),
            Value::from(self.not_after),
        );
        f.insert(
            "tls.server.hash.sha1".into(),
            Value::from(self.sha1.clone()),
        );
        f.insert(
            "tls.server.x509.serial_number".into(),
            Value::from(self.serial.clone()),
        );
        if !self.alt_names.is_empty() {
            f.insert(
                "tls.server.x509.alternative_names".into(),
                Value::List(
                    self.alt_names
                        .iter()
                        .map(|s| Value::from(s.clone()))
                        .collect(),
                ),
            );
        }
        f.insert(
            "mamori.tls.self_signed".into(),
            Value::from(self.self_signed),
        );
    }
}
