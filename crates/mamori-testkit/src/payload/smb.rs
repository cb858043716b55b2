//! SMB over TCP 445: SMB2 NEGOTIATE request/response and an SMB1 NEGOTIATE request, each
//! with the 4-byte NetBIOS session header.
//!
//! ```
//! use mamori_testkit::payload::smb;
//! let req = smb::smb2_negotiate_request(&[0x0202, 0x0210, 0x0300, 0x0302]);
//! assert_eq!(&req[4..8], b"\xfeSMB");
//! let old = smb::smb1_negotiate_request();
//! assert_eq!(&old[4..8], b"\xffSMB");
//! ```

use super::der;

/// SMB2 dialect revisions.
pub mod dialect {
    /// SMB 2.0.2.
    pub const SMB202: u16 = 0x0202;
    /// SMB 2.1.
    pub const SMB210: u16 = 0x0210;
    /// SMB 3.0.
    pub const SMB300: u16 = 0x0300;
    /// SMB 3.0.2.
    pub const SMB302: u16 = 0x0302;
}

/// SMB1 dialect strings of a typical Windows client negotiate.
pub const SMB1_DIALECTS: &[&str] = &[
    "PC NETWORK PROGRAM 1.0",
    "LANMAN1.0",
    "Windows for Workgroups 3.1a",
    "LM1.2X002",
    "LANMAN2.1",
    "NT LM 0.12",
    "SMB 2.002",
    "SMB 2.???",
];

fn netbios(body: &[u8]) -> Vec<u8> {
    let n = u32::try_from(body.len().min(0xFF_FFFF))
        .unwrap_or(0xFF_FFFF)
        .to_be_bytes();
    let mut v = vec![0, n[1], n[2], n[3]];
    v.extend_from_slice(body);
    v
}

fn smb2_header(command: u16, response: bool, message_id: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"\xfeSMB");
    h.extend_from_slice(&64u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // credit charge
    h.extend_from_slice(&0u32.to_le_bytes()); // status
    h.extend_from_slice(&command.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // credits
    h.extend_from_slice(&u32::from(response).to_le_bytes()); // flags
    h.extend_from_slice(&0u32.to_le_bytes()); // next command
    h.extend_from_slice(&message_id.to_le_bytes());
    h.extend_from_slice(&0xFEFFu32.to_le_bytes()); // process id
    h.extend_from_slice(&0u32.to_le_bytes()); // tree id
    h.extend_from_slice(&0u64.to_le_bytes()); // session id
    h.extend_from_slice(&[0; 16]); // signature
    h
}

const CLIENT_GUID: [u8; 16] = [
    0x5A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7, 0xE8, 0xF9,
];

/// SMB2 NEGOTIATE request offering `dialects`.
pub fn smb2_negotiate_request(dialects: &[u16]) -> Vec<u8> {
    let mut b = smb2_header(0, false, 0);
    b.extend_from_slice(&36u16.to_le_bytes());
    b.extend_from_slice(
        &u16::try_from(dialects.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    b.extend_from_slice(&1u16.to_le_bytes()); // signing enabled
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0x7Fu32.to_le_bytes()); // capabilities
    b.extend_from_slice(&CLIENT_GUID);
    b.extend_from_slice(&0u64.to_le_bytes());
    for d in dialects {
        b.extend_from_slice(&d.to_le_bytes());
    }
    netbios(&b)
}

/// SMB2 NEGOTIATE response selecting `dialect`, with a SPNEGO NegTokenInit offering NTLMSSP.
/// `filetime` is the server time in Windows FILETIME units.
pub fn smb2_negotiate_response(dialect: u16, filetime: u64) -> Vec<u8> {
    let blob = der::application(
        0,
        &[
            der::oid(&[1, 3, 6, 1, 5, 5, 2]),
            der::explicit(
                0,
                &[der::seq(&[der::explicit(
                    0,
                    &[der::seq(&[der::oid(&[1, 3, 6, 1, 4, 1, 311, 2, 2, 10])])],
                )])],
            ),
        ],
    );
    let mut b = smb2_header(0, true, 0);
    b.extend_from_slice(&65u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // security mode
    b.extend_from_slice(&dialect.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend(CLIENT_GUID.iter().map(|x| x ^ 0xFF)); // server guid
    b.extend_from_slice(&0x2Fu32.to_le_bytes());
    for _ in 0..3 {
        b.extend_from_slice(&8_388_608u32.to_le_bytes());
    }
    b.extend_from_slice(&filetime.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&0x80u16.to_le_bytes()); // security buffer offset from SMB2 header
    b.extend_from_slice(&u16::try_from(blob.len()).unwrap_or(u16::MAX).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&blob);
    netbios(&b)
}

/// Convert Unix seconds to a Windows FILETIME (100 ns since 1601).
pub fn filetime(unix_secs: i64) -> u64 {
    (unix_secs.saturating_add(11_644_473_600).max(0) as u64).saturating_mul(10_000_000)
}

/// SMB1 NEGOTIATE request (command 0x72) with the classic dialect list.
pub fn smb1_negotiate_request() -> Vec<u8> {
    let mut b = Vec::with_capacity(200);
    b.extend_from_slice(b"\xffSMB");
    b.push(0x72);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(0x18); // flags
    b.extend_from_slice(&0xC853u16.to_le_bytes()); // flags2
    b.extend_from_slice(&0u16.to_le_bytes()); // pid high
    b.extend_from_slice(&[0; 8]); // security features
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0xFFFFu16.to_le_bytes()); // tid
    b.extend_from_slice(&0xFEFFu16.to_le_bytes()); // pid
    b.extend_from_slice(&0u16.to_le_bytes()); // uid
    b.extend_from_slice(&0u16.to_le_bytes()); // mid
    b.push(0); // word count
    let mut bytes = Vec::new();
    for d in SMB1_DIALECTS {
        bytes.push(0x02);
        bytes.extend_from_slice(d.as_bytes());
        bytes.push(0);
    }
    b.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_le_bytes());
    b.extend_from_slice(&bytes);
    netbios(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smb2_request_layout() {
        let r = smb2_negotiate_request(&[dialect::SMB202, dialect::SMB302]);
        let len = u32::from_be_bytes([0, r[1], r[2], r[3]]) as usize;
        assert_eq!(len + 4, r.len());
        let h = &r[4..];
        assert_eq!(u16::from_le_bytes([h[4], h[5]]), 64);
        let body = &h[64..];
        assert_eq!(u16::from_le_bytes([body[0], body[1]]), 36);
        assert_eq!(u16::from_le_bytes([body[2], body[3]]), 2);
        assert_eq!(&body[36..], &[0x02, 0x02, 0x02, 0x03]);
    }

    #[test]
    fn smb2_response_points_at_blob() {
        let r = smb2_negotiate_response(dialect::SMB302, filetime(0));
        let h = &r[4..];
        assert_eq!(h[16] & 1, 1, "response flag");
        let body = &h[64..];
        assert_eq!(u16::from_le_bytes([body[4], body[5]]), 0x0302);
        let off = usize::from(u16::from_le_bytes([body[56], body[57]]));
        let len = usize::from(u16::from_le_bytes([body[58], body[59]]));
        assert_eq!(off + len, h.len());
        assert_eq!(h[off], 0x60);
        assert_eq!(filetime(0), 116_444_736_000_000_000);
    }

    #[test]
    fn smb1_dialects_present() {
        let r = smb1_negotiate_request();
        assert_eq!(r[8], 0x72);
        assert!(r.windows(11).any(|w| w == b"NT LM 0.12\0"));
        let bc = usize::from(u16::from_le_bytes([r[4 + 33], r[4 + 34]]));
        assert_eq!(4 + 35 + bc, r.len());
    }
}
