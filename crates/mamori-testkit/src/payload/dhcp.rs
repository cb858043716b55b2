//! DHCP (RFC 2131) DISCOVER, OFFER, REQUEST and ACK messages.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use mamori_testkit::packet::Mac;
//! use mamori_testkit::payload::dhcp::{self, Lease};
//! let lease = Lease::new(Mac::local(5), "pc-05", Ipv4Addr::new(192, 168, 10, 50), Ipv4Addr::new(192, 168, 10, 1));
//! let d = dhcp::discover(0x1234, &lease);
//! assert_eq!(&d[236..240], &dhcp::MAGIC_COOKIE);
//! ```

use std::net::Ipv4Addr;

use crate::packet::Mac;

/// The DHCP magic cookie after the BOOTP header.
pub const MAGIC_COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];
/// Size of the fixed BOOTP header.
pub const BOOTP_HEADER_LEN: usize = 236;
/// Longest option value (one-byte length).
pub const OPTION_MAX: usize = 255;

/// DHCP message type option values.
pub mod msg {
    /// DHCPDISCOVER.
    pub const DISCOVER: u8 = 1;
    /// DHCPOFFER.
    pub const OFFER: u8 = 2;
    /// DHCPREQUEST.
    pub const REQUEST: u8 = 3;
    /// DHCPACK.
    pub const ACK: u8 = 5;
    /// DHCPNAK.
    pub const NAK: u8 = 6;
    /// DHCPRELEASE.
    pub const RELEASE: u8 = 7;
}

/// What a lease looks like from both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Client hardware address.
    pub client_mac: Mac,
    /// Client host name (option 12).
    pub hostname: String,
    /// Leased address.
    pub ip: Ipv4Addr,
    /// DHCP server identifier.
    pub server: Ipv4Addr,
    /// Default router.
    pub router: Ipv4Addr,
    /// DNS server.
    pub dns: Ipv4Addr,
    /// Subnet mask.
    pub mask: Ipv4Addr,
    /// Lease time in seconds.
    pub lease_secs: u32,
    /// Domain name (option 15).
    pub domain: String,
}

impl Lease {
    /// A /24 lease with the server as router and DNS, one day long, domain `corp.example`.
    pub fn new(client_mac: Mac, hostname: &str, ip: Ipv4Addr, server: Ipv4Addr) -> Lease {
        Lease {
            client_mac,
            hostname: hostname.to_owned(),
            ip,
            server,
            router: server,
            dns: server,
            mask: Ipv4Addr::new(255, 255, 255, 0),
            lease_secs: 86_400,
            domain: "corp.example".to_owned(),
        }
    }
}

fn header(
    op: u8,
    xid: u32,
    broadcast: bool,
    yiaddr: Ipv4Addr,
    siaddr: Ipv4Addr,
    mac: Mac,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(300);
    p.extend_from_slice(&[op, 1, 6, 0]);
    p.extend_from_slice(&xid.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&(if broadcast { 0x8000u16 } else { 0 }).to_be_bytes());
    p.extend_from_slice(&[0; 4]); // ciaddr
    p.extend_from_slice(&yiaddr.octets());
    p.extend_from_slice(&siaddr.octets());
    p.extend_from_slice(&[0; 4]); // giaddr
    p.extend_from_slice(&mac.0);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(&[0; 64 + 128]);
    p.extend_from_slice(&MAGIC_COOKIE);
    p
}

/// Append option `code` with `value` (cut to [`OPTION_MAX`] bytes).
pub fn option(p: &mut Vec<u8>, code: u8, value: &[u8]) {
    let v = value.get(..OPTION_MAX).unwrap_or(value);
    p.push(code);
    p.push(v.len() as u8);
    p.extend_from_slice(v);
}

fn client_opts(p: &mut Vec<u8>, l: &Lease) {
    let mut cid = vec![1];
    cid.extend_from_slice(&l.client_mac.0);
    option(p, 61, &cid);
    option(p, 12, l.hostname.as_bytes());
    option(p, 60, b"MSFT 5.0");
    option(
        p,
        55,
        &[1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252],
    );
}

fn server_opts(p: &mut Vec<u8>, l: &Lease) {
    option(p, 54, &l.server.octets());
    option(p, 51, &l.lease_secs.to_be_bytes());
    option(p, 58, &(l.lease_secs / 2).to_be_bytes());
    option(p, 59, &(l.lease_secs / 8 * 7).to_be_bytes());
    option(p, 1, &l.mask.octets());
    option(p, 3, &l.router.octets());
    option(p, 6, &l.dns.octets());
    option(p, 15, l.domain.as_bytes());
}

/// DHCPDISCOVER from the client (broadcast flag set).
pub fn discover(xid: u32, l: &Lease) -> Vec<u8> {
    let mut p = header(
        1,
        xid,
        true,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        l.client_mac,
    );
    option(&mut p, 53, &[msg::DISCOVER]);
    client_opts(&mut p, l);
    p.push(255);
    p
}

/// DHCPOFFER from the server.
pub fn offer(xid: u32, l: &Lease) -> Vec<u8> {
    let mut p = header(2, xid, false, l.ip, l.server, l.client_mac);
    option(&mut p, 53, &[msg::OFFER]);
    server_opts(&mut p, l);
    p.push(255);
    p
}

/// DHCPREQUEST from the client (requested address and server id).
pub fn request(xid: u32, l: &Lease) -> Vec<u8> {
    let mut p = header(
        1,
        xid,
        true,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        l.client_mac,
    );
    option(&mut p, 53, &[msg::REQUEST]);
    option(&mut p, 50, &l.ip.octets());
    option(&mut p, 54, &l.server.octets());
    client_opts(&mut p, l);
    option(&mut p, 81, &[0, 0, 0]); // client FQDN flags, empty name
    p.push(255);
    p
}

/// DHCPACK from the server.
pub fn ack(xid: u32, l: &Lease) -> Vec<u8> {
    let mut p = header(2, xid, false, l.ip, l.server, l.client_mac);
    option(&mut p, 53, &[msg::ACK]);
    server_opts(&mut p, l);
    option(&mut p, 12, l.hostname.as_bytes());
    p.push(255);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(p: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut i = 240;
        while p[i] != 255 {
            let len = usize::from(p[i + 1]);
            out.push((p[i], p[i + 2..i + 2 + len].to_vec()));
            i += 2 + len;
        }
        out
    }

    #[test]
    fn discover_and_ack_fields() {
        let l = Lease::new(
            Mac::local(9),
            "pc-09",
            Ipv4Addr::new(192, 168, 10, 9),
            Ipv4Addr::new(192, 168, 10, 1),
        );
        let d = discover(0xAABBCCDD, &l);
        assert_eq!(d[0], 1);
        assert_eq!(&d[4..8], &[0xAA, 0xBB, 0xCC, 0xDD]);
        assert_eq!(&d[10..12], &[0x80, 0]);
        assert_eq!(&d[28..34], &Mac::local(9).0);
        let o = options(&d);
        assert_eq!(o[0], (53, vec![1]));
        assert!(o.contains(&(12, b"pc-09".to_vec())));
        let a = ack(0xAABBCCDD, &l);
        assert_eq!(a[0], 2);
        assert_eq!(&a[16..20], &[192, 168, 10, 9]);
        let o = options(&a);
        assert_eq!(o[0], (53, vec![5]));
        assert!(o.contains(&(51, 86_400u32.to_be_bytes().to_vec())));
        let r = request(1, &l);
        assert!(options(&r).contains(&(50, vec![192, 168, 10, 9])));
    }

    #[test]
    fn long_hostname_is_cut_to_option_limit() {
        let l = Lease::new(
            Mac::local(1),
            &"h".repeat(400),
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
        );
        let d = discover(1, &l);
        let o = options(&d);
        let host = o.iter().find(|(c, _)| *c == 12).unwrap();
        assert_eq!(host.1.len(), OPTION_MAX);
    }
}
