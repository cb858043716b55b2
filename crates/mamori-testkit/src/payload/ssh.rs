//! SSH version banners and the binary-packet KEXINIT message (RFC 4253).
//!
//! ```
//! use mamori_testkit::payload::ssh::{banner, KexInit};
//! assert_eq!(banner("OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"), b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n".to_vec());
//! let pkt = KexInit::openssh_client().build(1);
//! assert_eq!(pkt.len() % 8, 0);
//! assert_eq!(pkt[5], 20); // SSH_MSG_KEXINIT
//! ```

/// SSH_MSG_KEXINIT.
pub const MSG_KEXINIT: u8 = 20;
/// Smallest padding of a binary packet.
pub const PADDING_MIN: usize = 4;
/// Block size used for padding before encryption starts.
pub const BLOCK: usize = 8;

/// The identification line `SSH-2.0-<software>\r\n`.
pub fn banner(software: &str) -> Vec<u8> {
    format!("SSH-2.0-{software}\r\n").into_bytes()
}

/// KEXINIT algorithm lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexInit {
    /// Key exchange algorithms.
    pub kex: Vec<String>,
    /// Host key algorithms.
    pub host_key: Vec<String>,
    /// Ciphers (both directions).
    pub ciphers: Vec<String>,
    /// MACs (both directions).
    pub macs: Vec<String>,
    /// Compression (both directions).
    pub compression: Vec<String>,
}

fn list(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

impl KexInit {
    /// Lists as sent by a current OpenSSH client.
    pub fn openssh_client() -> KexInit {
        KexInit {
            kex: list(&[
                "sntrup761x25519-sha512@openssh.com",
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                "ecdh-sha2-nistp256",
                "diffie-hellman-group16-sha512",
                "diffie-hellman-group14-sha256",
                "ext-info-c",
                "kex-strict-c-v00@openssh.com",
            ]),
            host_key: list(&[
                "ssh-ed25519",
                "ecdsa-sha2-nistp256",
                "rsa-sha2-512",
                "rsa-sha2-256",
            ]),
            ciphers: list(&[
                "chacha20-poly1305@openssh.com",
                "aes128-ctr",
                "aes256-ctr",
                "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com",
            ]),
            macs: list(&[
                "umac-64-etm@openssh.com",
                "hmac-sha2-256-etm@openssh.com",
                "hmac-sha2-512-etm@openssh.com",
                "hmac-sha2-256",
                "hmac-sha1",
            ]),
            compression: list(&["none", "zlib@openssh.com"]),
        }
    }

    /// Lists as sent by a current OpenSSH server.
    pub fn openssh_server() -> KexInit {
        let mut k = KexInit::openssh_client();
        k.kex
            .retain(|s| !s.ends_with("-c") && !s.ends_with("-c-v00@openssh.com"));
        k.kex.push("kex-strict-s-v00@openssh.com".to_owned());
        k.host_key = list(&[
            "rsa-sha2-512",
            "rsa-sha2-256",
            "ecdsa-sha2-nistp256",
            "ssh-ed25519",
        ]);
        k
    }

    /// A legacy client offering weak algorithms (group1, 3des-cbc, hmac-md5).
    pub fn legacy() -> KexInit {
        KexInit {
            kex: list(&["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"]),
            host_key: list(&["ssh-rsa", "ssh-dss"]),
            ciphers: list(&["aes128-cbc", "3des-cbc", "arcfour"]),
            macs: list(&["hmac-md5", "hmac-sha1"]),
            compression: list(&["none"]),
        }
    }

    /// The KEXINIT payload (message number, cookie, ten name-lists, flag, reserved).
    pub fn payload(&self, cookie_seed: u8) -> Vec<u8> {
        let mut p = vec![MSG_KEXINIT];
        p.extend((0..16u8).map(|i| i.wrapping_mul(17).wrapping_add(cookie_seed)));
        let lists: [&Vec<String>; 10] = [
            &self.kex,
            &self.host_key,
            &self.ciphers,
            &self.ciphers,
            &self.macs,
            &self.macs,
            &self.compression,
            &self.compression,
            &Vec::new(),
            &Vec::new(),
        ];
        for l in lists {
            let s = l.join(",");
            p.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            p.extend_from_slice(s.as_bytes());
        }
        p.push(0);
        p.extend_from_slice(&[0; 4]);
        p
    }

    /// The unencrypted binary packet carrying the KEXINIT payload.
    pub fn build(&self, cookie_seed: u8) -> Vec<u8> {
        binary_packet(&self.payload(cookie_seed))
    }
}

/// Wrap `payload` in an unencrypted SSH binary packet (length, padding length, payload,
/// zero padding to a multiple of 8 bytes).
pub fn binary_packet(payload: &[u8]) -> Vec<u8> {
    let mut pad = BLOCK - (4 + 1 + payload.len()) % BLOCK;
    if pad < PADDING_MIN {
        pad += BLOCK;
    }
    let plen = 1 + payload.len() + pad;
    let mut out = Vec::with_capacity(4 + plen);
    out.extend_from_slice(&u32::try_from(plen).unwrap_or(u32::MAX).to_be_bytes());
    out.push(pad as u8);
    out.extend_from_slice(payload);
    out.extend(std::iter::repeat_n(0, pad));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kexinit_packet_layout() {
        let pkt = KexInit::openssh_client().build(9);
        let plen = u32::from_be_bytes([pkt[0], pkt[1], pkt[2], pkt[3]]) as usize;
        assert_eq!(plen + 4, pkt.len());
        let pad = usize::from(pkt[4]);
        assert!(pad >= PADDING_MIN);
        let payload = &pkt[5..pkt.len() - pad];
        assert_eq!(payload[0], MSG_KEXINIT);
        let l = u32::from_be_bytes([payload[17], payload[18], payload[19], payload[20]]) as usize;
        let kex = std::str::from_utf8(&payload[21..21 + l]).unwrap();
        assert!(kex.starts_with("sntrup761x25519-sha512@openssh.com,curve25519-sha256"));
        assert_eq!(&payload[payload.len() - 5..], &[0, 0, 0, 0, 0]);
    }

    #[test]
    fn padding_rules_for_all_small_sizes() {
        for n in 0..40 {
            let p = binary_packet(&vec![1; n]);
            assert_eq!(p.len() % BLOCK, 0);
            assert!(usize::from(p[4]) >= PADDING_MIN);
        }
    }
}
