//! BER-encoded protocols: SNMP v2c get/response, LDAP simple bind, Kerberos AS-REQ.
//!
//! ```
//! use mamori_testkit::payload::asn1::{snmp_get_request, ldap_simple_bind, SYS_DESCR};
//! let g = snmp_get_request("public", 42, &[SYS_DESCR]);
//! assert!(g.windows(6).any(|w| w == b"public"));
//! let b = ldap_simple_bind(1, "cn=admin,dc=corp,dc=example", "Passw0rd!");
//! assert_eq!(b[0], 0x30);
//! ```

use mamori_core::Timestamp;

use super::der;

/// sysDescr.0 (1.3.6.1.2.1.1.1.0).
pub const SYS_DESCR: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 1, 0];
/// sysName.0 (1.3.6.1.2.1.1.5.0).
pub const SYS_NAME: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];

/// SNMP PDU tags.
pub mod pdu {
    /// GetRequest-PDU.
    pub const GET: u8 = 0xA0;
    /// GetNextRequest-PDU.
    pub const GET_NEXT: u8 = 0xA1;
    /// Response-PDU.
    pub const RESPONSE: u8 = 0xA2;
    /// SetRequest-PDU.
    pub const SET: u8 = 0xA3;
}

fn snmp_message(community: &str, tag: u8, request_id: i64, binds: Vec<Vec<u8>>) -> Vec<u8> {
    let body = [
        der::integer_i64(request_id),
        der::integer_u64(0),
        der::integer_u64(0),
        der::seq(&binds),
    ]
    .concat();
    der::seq(&[
        der::integer_u64(1),
        der::octets(community.as_bytes()),
        der::tlv(tag, &body),
    ])
}

/// SNMP v2c GetRequest for `oids` with `community`.
pub fn snmp_get_request(community: &str, request_id: i64, oids: &[&[u64]]) -> Vec<u8> {
    let binds = oids
        .iter()
        .map(|o| der::seq(&[der::oid(o), der::null()]))
        .collect();
    snmp_message(community, pdu::GET, request_id, binds)
}

/// SNMP v2c Response with OCTET STRING values.
pub fn snmp_get_response(community: &str, request_id: i64, values: &[(&[u64], &str)]) -> Vec<u8> {
    let binds = values
        .iter()
        .map(|(o, v)| der::seq(&[der::oid(o), der::octets(v.as_bytes())]))
        .collect();
    snmp_message(community, pdu::RESPONSE, request_id, binds)
}

/// LDAP BindRequest (simple authentication, version 3).
pub fn ldap_simple_bind(message_id: i64, dn: &str, password: &str) -> Vec<u8> {
    der::seq(&[
        der::integer_i64(message_id),
        der::application(
            0,
            &[
                der::integer_u64(3),
                der::octets(dn.as_bytes()),
                der::implicit(0, password.as_bytes()),
            ],
        ),
    ])
}

/// LDAP BindResponse with `result_code` (0 success, 49 invalidCredentials).
pub fn ldap_bind_response(message_id: i64, result_code: u8) -> Vec<u8> {
    let diag: &[u8] = if result_code == 49 {
        b"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563"
    } else {
        b""
    };
    der::seq(&[
        der::integer_i64(message_id),
        der::tlv(
            0x61,
            &[
                der::enumerated(result_code),
                der::octets(b""),
                der::octets(diag),
            ]
            .concat(),
        ),
    ])
}

/// Kerberos encryption types.
pub mod etype {
    /// aes256-cts-hmac-sha1-96.
    pub const AES256: i64 = 18;
    /// aes128-cts-hmac-sha1-96.
    pub const AES128: i64 = 17;
    /// rc4-hmac.
    pub const RC4_HMAC: i64 = 23;
}

/// A minimal Kerberos AS-REQ (RFC 4120) for `user@realm` asking for `krbtgt/REALM`, as sent
/// over UDP 88.
pub fn kerberos_as_req(
    user: &str,
    realm: &str,
    nonce: u32,
    till: Timestamp,
    etypes: &[i64],
) -> Vec<u8> {
    let principal = |ty: u64, names: &[&str]| {
        der::seq(&[
            der::explicit(0, &[der::integer_u64(ty)]),
            der::explicit(
                1,
                &[der::seq(
                    &names
                        .iter()
                        .map(|n| der::general_string(n))
                        .collect::<Vec<_>>(),
                )],
            ),
        ])
    };
    let body = der::seq(&[
        der::explicit(0, &[der::bit_string(&[0x40, 0x81, 0x00, 0x10])]),
        der::explicit(1, &[principal(1, &[user])]),
        der::explicit(2, &[der::general_string(realm)]),
        der::explicit(3, &[principal(2, &["krbtgt", realm])]),
        der::explicit(5, &[der::generalized_time(till)]),
        der::explicit(7, &[der::integer_u64(u64::from(nonce))]),
        der::explicit(
            8,
            &[der::seq(
                &etypes
                    .iter()
                    .map(|e| der::integer_i64(*e))
                    .collect::<Vec<_>>(),
            )],
        ),
    ]);
    let pa_pac = der::seq(&[
        der::explicit(1, &[der::integer_u64(128)]),
        der::explicit(
            2,
            &[der::octets(&der::seq(&[der::explicit(
                0,
                &[der::boolean(true)],
            )]))],
        ),
    ]);
    der::application(
        10,
        &[der::seq(&[
            der::explicit(1, &[der::integer_u64(5)]),
            der::explicit(2, &[der::integer_u64(10)]),
            der::explicit(3, &[der::seq(&[pa_pac])]),
            der::explicit(4, &[body]),
        ])],
    )
}

/// The AS-REQ with the 4-byte length prefix used over TCP 88.
pub fn kerberos_as_req_tcp(
    user: &str,
    realm: &str,
    nonce: u32,
    till: Timestamp,
    etypes: &[i64],
) -> Vec<u8> {
    let m = kerberos_as_req(user, realm, nonce, till, etypes);
    let mut v = u32::try_from(m.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    v.extend_from_slice(&m);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snmp_get_exact_bytes() {
        let g = snmp_get_request("public", 1, &[SYS_DESCR]);
        let expected: Vec<u8> = vec![
            0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xA0,
            0x19, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0E, 0x30, 0x0C,
            0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00,
        ];
        assert_eq!(g, expected);
        let r = snmp_get_response("public", 1, &[(SYS_DESCR, "Linux sw")]);
        assert!(r.contains(&pdu::RESPONSE));
    }

    #[test]
    fn ldap_bind_layout() {
        let b = ldap_simple_bind(1, "cn=a", "pw");
        assert_eq!(
            b,
            vec![
                0x30, 0x12, 0x02, 0x01, 0x01, 0x60, 0x0D, 0x02, 0x01, 0x03, 0x04, 0x04, b'c', b'n',
                b'=', b'a', 0x80, 0x02, b'p', b'w'
            ]
        );
        let r = ldap_bind_response(1, 49);
        assert!(r.windows(3).any(|w| w == [0x0A, 0x01, 49]));
    }

    #[test]
    fn as_req_is_application_10() {
        let t = Timestamp::from_civil(2037, 9, 13, 2, 48, 5, 0).unwrap();
        let m = kerberos_as_req(
            "alice",
            "CORP.EXAMPLE",
            7,
            t,
            &[etype::AES256, etype::RC4_HMAC],
        );
        assert_eq!(m[0], 0x6A);
        assert!(m.windows(5).any(|w| w == b"alice"));
        assert!(m.windows(6).any(|w| w == b"krbtgt"));
        assert!(m.windows(15).any(|w| w == b"20370913024805Z"));
        let t2 = kerberos_as_req_tcp("alice", "CORP.EXAMPLE", 7, t, &[18]);
        assert_eq!(
            u32::from_be_bytes([t2[0], t2[1], t2[2], t2[3]]) as usize + 4,
            t2.len()
        );
    }
}
