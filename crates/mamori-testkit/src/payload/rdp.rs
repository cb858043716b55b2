//! RDP connection start: TPKT + X.224 Connection Request with an `mstshash` cookie and an
//! RDP negotiation request, and the matching Connection Confirm.
//!
//! ```
//! use mamori_testkit::payload::rdp;
//! let cr = rdp::connection_request("administrator", rdp::PROTOCOL_SSL | rdp::PROTOCOL_HYBRID);
//! assert_eq!(&cr[..2], &[3, 0]);
//! assert!(cr.windows(30).any(|w| w == b"Cookie: mstshash=administrator"));
//! ```

/// Standard RDP security.
pub const PROTOCOL_RDP: u32 = 0;
/// TLS.
pub const PROTOCOL_SSL: u32 = 1;
/// CredSSP (NLA).
pub const PROTOCOL_HYBRID: u32 = 2;

fn tpkt(x224: &[u8]) -> Vec<u8> {
    let len = u16::try_from(x224.len() + 4).unwrap_or(u16::MAX);
    let mut v = vec![3, 0];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(x224);
    v
}

/// X.224 Connection Request with `Cookie: mstshash=<user>` and RDP_NEG_REQ.
pub fn connection_request(user: &str, protocols: u32) -> Vec<u8> {
    let mut var = format!("Cookie: mstshash={user}\r\n").into_bytes();
    var.extend_from_slice(&[1, 0, 8, 0]);
    var.extend_from_slice(&protocols.to_le_bytes());
    let mut x = vec![0u8, 0xE0, 0, 0, 0, 0, 0];
    x.extend_from_slice(&var);
    x[0] = u8::try_from(x.len() - 1).unwrap_or(u8::MAX);
    tpkt(&x)
}

/// X.224 Connection Confirm with RDP_NEG_RSP selecting `protocol`.
pub fn connection_confirm(protocol: u32) -> Vec<u8> {
    let mut x = vec![0u8, 0xD0, 0, 0, 0x12, 0x34, 0];
    x.extend_from_slice(&[2, 0x1F, 8, 0]);
    x.extend_from_slice(&protocol.to_le_bytes());
    x[0] = u8::try_from(x.len() - 1).unwrap_or(u8::MAX);
    tpkt(&x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_consistent() {
        let cr = connection_request("bob", PROTOCOL_SSL);
        assert_eq!(usize::from(u16::from_be_bytes([cr[2], cr[3]])), cr.len());
        assert_eq!(usize::from(cr[4]) + 5, cr.len());
        assert_eq!(cr[5], 0xE0);
        assert_eq!(&cr[cr.len() - 8..], &[1, 0, 8, 0, 1, 0, 0, 0]);
        let cc = connection_confirm(PROTOCOL_HYBRID);
        assert_eq!(cc.len(), 19);
        assert_eq!(cc[5], 0xD0);
        assert_eq!(&cc[15..], &[2, 0, 0, 0]);
    }
}
