//! Protocol payload builders producing real wire bytes.
//!
//! | module | protocols |
//! |---|---|
//! | [`dns`] | DNS queries/responses (A, AAAA, CNAME, TXT, PTR, MX, NXDOMAIN, compression), NBNS |
//! | [`tls`] | TLS records, ClientHello, ServerHello, Certificate (DER X.509 v3) |
//! | [`http`] | HTTP/1.1 requests/responses, chunked bodies, `MZ` executables |
//! | [`dhcp`] | DHCP DISCOVER/OFFER/REQUEST/ACK |
//! | [`ssh`] | SSH banners and KEXINIT |
//! | [`text`] | SMTP (AUTH PLAIN/LOGIN), FTP login + RETR, Telnet |
//! | [`smb`] | SMB2 and SMB1 NEGOTIATE |
//! | [`ntp`] | NTP client/server |
//! | [`asn1`] | SNMP v2c, LDAP simple bind, Kerberos AS-REQ |
//! | [`rdp`] | RDP X.224 connection request/confirm |
//! | [`der`] | the DER/BER encoder the others use |

pub mod asn1;
pub mod der;
pub mod dhcp;
pub mod dns;
pub mod http;
pub mod ntp;
pub mod rdp;
pub mod smb;
pub mod ssh;
pub mod text;
pub mod tls;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648).
///
/// ```
/// assert_eq!(mamori_testkit::payload::base64(b"foob"), "Zm9vYg==");
/// ```
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let idx = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, &x) in idx.iter().enumerate() {
            if i <= c.len() {
                out.push(char::from(B64[x as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
