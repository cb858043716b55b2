//! NTLMSSP messages (MS-NLMP) found inside SMB session setup (and SPNEGO) security blobs.

use crate::app::registry_a::util::{bounded_str, le16, le32, utf16le};

/// The NTLMSSP signature.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// Longest user, domain or workstation name decoded (characters).
pub const MAX_NAME_CHARS: usize = 256;
/// Bytes of a security blob searched for the signature.
pub const MAX_SEARCH: usize = 4096;

/// What an AUTHENTICATE (type 3) message says about the client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authenticate {
    /// User name (empty for anonymous).
    pub user: String,
    /// Domain name.
    pub domain: String,
    /// Workstation name.
    pub workstation: String,
    /// `v1` (24-byte NT response), `v2`, or `anonymous` (no responses).
    pub version: &'static str,
}

/// Find an NTLMSSP message in a blob (raw or wrapped in SPNEGO/GSS-API); returns it and its
/// message type.
pub fn find(blob: &[u8]) -> Option<(&[u8], u32)> {
    let area = blob.get(..blob.len().min(MAX_SEARCH)).unwrap_or(blob);
    let at = area.windows(SIGNATURE.len()).position(|w| w == SIGNATURE)?;
    let msg = blob.get(at..)?;
    Some((msg, le32(msg, 8)?))
}

fn field(msg: &[u8], off: usize) -> Option<&[u8]> {
    let len = usize::from(le16(msg, off)?);
    let start = le32(msg, off + 4)? as usize;
    msg.get(start..start.checked_add(len)?)
}

/// Decode an AUTHENTICATE message.
pub fn authenticate(msg: &[u8]) -> Option<Authenticate> {
    if msg.get(..8)? != SIGNATURE || le32(msg, 8)? != 3 {
        return None;
    }
    let flags = le32(msg, 60).unwrap_or(0);
    let unicode = flags & 0x1 != 0;
    let text = |b: &[u8]| {
        if unicode {
            utf16le(b, MAX_NAME_CHARS)
        } else {
            bounded_str(b, MAX_NAME_CHARS)
        }
    };
    let lm = field(msg, 12).map_or(0, <[u8]>::len);
    let nt = field(msg, 20).map_or(0, <[u8]>::len);
    let version = match (lm, nt) {
        (_, 24) => "v1",
        (0 | 1, 0) => "anonymous",
        (_, 0) => "lm",
        _ => "v2",
    };
    Some(Authenticate {
        domain: field(msg, 28).map(text).unwrap_or_default(),
        user: field(msg, 36).map(text).unwrap_or_default(),
        workstation: field(msg, 44).map(text).unwrap_or_default(),
        version,
    })
}
