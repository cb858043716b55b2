//! NTP (RFC 5905) client and server packets.
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_testkit::payload::ntp;
//! let q = ntp::client(Timestamp::from_unix_secs(0));
//! assert_eq!(q.len(), 48);
//! assert_eq!(q[0], 0x23); // LI 0, version 4, mode 3
//! assert_eq!(&q[40..44], &2_208_988_800u32.to_be_bytes());
//! ```

use mamori_core::Timestamp;

/// Seconds between the NTP era 0 epoch (1900) and the Unix epoch.
pub const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
/// Length of an NTP packet without extensions.
pub const PACKET_LEN: usize = 48;

/// The 64-bit NTP timestamp of `ts` (era 0, wrapping).
pub fn ntp_timestamp(ts: Timestamp) -> [u8; 8] {
    let secs = ts.unix_secs().wrapping_add(NTP_UNIX_OFFSET) as u32;
    let frac = ((u64::from(ts.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&secs.to_be_bytes());
    b[4..].copy_from_slice(&frac.to_be_bytes());
    b
}

/// A client (mode 3) request transmitted at `ts`.
pub fn client(ts: Timestamp) -> Vec<u8> {
    let mut p = vec![0u8; PACKET_LEN];
    p[0] = 0x23;
    p[2] = 6;
    p[3] = 0xE9;
    p[40..48].copy_from_slice(&ntp_timestamp(ts));
    p
}

/// A server (mode 4, stratum 2) reply to a request sent at `request_ts`, received at
/// `rx_ts` and sent at `tx_ts`, synchronised to `refid`.
pub fn server(
    request_ts: Timestamp,
    rx_ts: Timestamp,
    tx_ts: Timestamp,
    refid: [u8; 4],
) -> Vec<u8> {
    let mut p = vec![0u8; PACKET_LEN];
    p[0] = 0x24;
    p[1] = 2;
    p[2] = 6;
    p[3] = 0xE9;
    p[4..8].copy_from_slice(&0x0000_0123u32.to_be_bytes());
    p[8..12].copy_from_slice(&0x0000_0456u32.to_be_bytes());
    p[12..16].copy_from_slice(&refid);
    let reference = Timestamp::from_unix_secs(tx_ts.unix_secs() - 64);
    p[16..24].copy_from_slice(&ntp_timestamp(reference));
    p[24..32].copy_from_slice(&ntp_timestamp(request_ts));
    p[32..40].copy_from_slice(&ntp_timestamp(rx_ts));
    p[40..48].copy_from_slice(&ntp_timestamp(tx_ts));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_echoes_origin_and_fractions() {
        let t = Timestamp::from_unix_parts(1_793_610_000, 500_000_000);
        let r = server(t, t, t, [10, 0, 0, 1]);
        assert_eq!(r[0] & 7, 4);
        assert_eq!(&r[24..32], &ntp_timestamp(t));
        assert_eq!(&r[44..48], &0x8000_0000u32.to_be_bytes());
    }
}
