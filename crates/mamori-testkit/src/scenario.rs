//! Ready-made captures: [`demo`], a realistic small office with planted suspicious activity,
//! and [`bench_capture`], a large streamed mixed capture for benchmarks.
//!
//! ```
//! use mamori_testkit::scenario::{demo, hosts};
//! let frames = demo();
//! assert!(frames.len() > 3_000 && frames.len() < 20_000);
//! assert!(frames.windows(2).all(|w| w[0].ts <= w[1].ts));
//! assert_eq!(frames[0].ts, mamori_testkit::scenario::DEMO_START);
//! # let _ = hosts::SCANNER;
//! ```
//!
//! ```
//! use mamori_testkit::scenario::bench_capture;
//! let mut out = Vec::new();
//! let stats = bench_capture(&mut out, 10_000, 500, 1)?;
//! assert_eq!(stats.packets, 10_000);
//! assert!(stats.flows >= 500);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;

use mamori_core::{Duration, Timestamp};

use crate::conv::{dhcp_dora, ping, TcpConversation, UdpExchange};
use crate::packet::{ipv4_frame_into, linktype, FastL4, Frame, Mac, TcpFlags};
use crate::payload::dns::{qtype, DnsMessage};
use crate::payload::http::{exe_body, HttpRequest, HttpResponse};
use crate::payload::text::{ftp_login_retr, smtp_session, telnet_session, SmtpAuth};
use crate::payload::{asn1, dns, ntp, rdp, smb, ssh, tls};
use crate::pcap::PcapWriter;
use crate::rng::SplitMix64;
use crate::TimedFrame;

/// Start of the demo capture: 2026-11-02T09:00:00Z.
pub const DEMO_START: Timestamp = Timestamp::from_unix_secs(1_793_610_000);

/// Addresses used by [`demo`], so tests can assert on ground truth.
pub mod hosts {
    use std::net::Ipv4Addr;

    /// Office client network 192.168.10.0/24.
    pub const HOME_NET: &str = "192.168.10.0/24";
    /// Server network 10.0.0.0/24.
    pub const SERVER_NET: &str = "10.0.0.0/24";
    /// Router, DHCP server.
    pub const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 1);
    /// Managed switch (Telnet, SNMP).
    pub const SWITCH: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 2);
    /// Server-side gateway and NTP server.
    pub const NTP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    /// Monitoring host polling SNMP.
    pub const MONITOR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
    /// File server (SMB2).
    pub const FILE_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
    /// Domain controller (LDAP, Kerberos).
    pub const DC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 11);
    /// Application server (SSH; target of the port scan and UDP probes).
    pub const APP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 20);
    /// FTP server.
    pub const FTP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 21);
    /// Mail server (SMTP).
    pub const MAIL_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 25);
    /// Terminal server exposed to the internet (RDP).
    pub const RDP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 30);
    /// Internal DNS resolver.
    pub const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);
    /// Scanning host (port scan, 445 sweep, ICMP sweep, UDP probes).
    pub const SCANNER: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 66);
    /// Host sending DNS-tunnelling-like queries.
    pub const TUNNEL_CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 27);
    /// Domain used by the tunnelling queries.
    pub const TUNNEL_DOMAIN: &str = "t.cdn-telemetry-sync.net";
    /// Beaconing host.
    pub const BEACON_CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 28);
    /// Beacon destination (HTTP, every 60 s ± 1 s).
    pub const BEACON_SERVER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 66);
    /// Number of beacons.
    pub const BEACON_COUNT: u32 = 20;
    /// External address connecting to RDP.
    pub const RDP_ATTACKER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 77);
    /// Host downloading an executable over plain HTTP.
    pub const EXE_CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 25);
    /// Web server the executable comes from.
    pub const EXE_SERVER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 80);
    /// Ports open on [`APP_SERVER`] (answered with SYN/ACK by the scan).
    pub const APP_OPEN_PORTS: [u16; 4] = [22, 80, 111, 443];
    /// Number of ports probed by the vertical scan (1..=1000).
    pub const SCAN_PORTS: u16 = 1000;
}

const ROUTER_MAC: Mac = Mac::with_oui([0x00, 0x1B, 0x21], 0x0A_0001);

fn at(secs: f64) -> Timestamp {
    DEMO_START + Duration::from_nanos((secs * 1e9) as i64)
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

fn is_office(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    o[0] == 192 && o[1] == 168 && o[2] == 10
}

/// MACs as seen on the office segment: hosts in 192.168.10.0/24 use their own MAC, anything
/// else is behind the router.
fn macs(c: Ipv4Addr, s: Ipv4Addr) -> (Mac, Mac) {
    let m = |ip: Ipv4Addr| {
        if is_office(ip) {
            Mac::for_ip(IpAddr::V4(ip))
        } else {
            ROUTER_MAC
        }
    };
    let (cm, sm) = (m(c), m(s));
    if !is_office(c) && !is_office(s) {
        // Server-net traffic seen on the server segment: real host MACs.
        return (Mac::for_ip(IpAddr::V4(c)), Mac::for_ip(IpAddr::V4(s)));
    }
    (cm, sm)
}

fn tcp(c: Ipv4Addr, cport: u16, s: Ipv4Addr, sport: u16, t: Timestamp) -> TcpConversation {
    let (cm, sm) = macs(c, s);
    let ttl_s = if is_office(c) == is_office(s) { 64 } else { 63 };
    TcpConversation::new(sa(c, cport), sa(s, sport), t)
        .macs(cm, sm)
        .ttls(
            if c.octets()[3].is_multiple_of(3) {
                128
            } else {
                64
            },
            ttl_s,
        )
}

fn udp(c: Ipv4Addr, cport: u16, s: Ipv4Addr, sport: u16, t: Timestamp) -> UdpExchange {
    let (cm, sm) = macs(c, s);
    UdpExchange::new(sa(c, cport), sa(s, sport), t).macs(cm, sm)
}

fn dns_lookup(
    out: &mut Vec<TimedFrame>,
    client: Ipv4Addr,
    port: u16,
    id: u16,
    name: &str,
    ip: Ipv4Addr,
    t: Timestamp,
) {
    let q = DnsMessage::query(id, name, qtype::A).build();
    let r = DnsMessage::response(id, name, qtype::A)
        .a(name, 300, ip)
        .build();
    out.extend(
        udp(client, port, hosts::DNS, 53, t)
            .rtt(Duration::from_millis(12))
            .request(&q)
            .response(&r)
            .frames(),
    );
}

fn office_client(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 10, n)
}

/// The demo capture: a small office (192.168.10.0/24 clients, 10.0.0.0/24 servers) starting
/// at [`DEMO_START`], about 20 minutes of event time, Ethernet link type, sorted by time.
/// Same bytes on every run. See [`hosts`] for the planted activity.
pub fn demo() -> Vec<TimedFrame> {
    let mut rng = SplitMix64::new(0x6D61_6D6F_7269);
    let mut out: Vec<TimedFrame> = Vec::with_capacity(8_000);

    // DHCP DORA for the office hosts (including the scanner and the odd ones).
    let names = [
        (21u8, "PC-SOUMU-01"),
        (22, "PC-EIGYO-02"),
        (23, "PC-SEKKEI-03"),
        (24, "PC-SEKKEI-04"),
        (25, "PC-SEIZO-05"),
        (26, "PC-LEGACY-06"),
        (27, "PC-KAIHATSU-07"),
        (28, "PC-KEIRI-08"),
        (66, "kali"),
    ];
    for (i, (n, host)) in names.iter().enumerate() {
        let ip = office_client(*n);
        out.extend(dhcp_dora(
            Mac::for_ip(IpAddr::V4(ip)),
            host,
            ip,
            hosts::ROUTER,
            0x3903_F326 ^ (u32::from(*n) << 8),
            at(i as f64 * 2.5),
        ));
    }

    // NBNS broadcast for the file server name.
    out.push(
        Frame::ethernet(Mac::for_ip(IpAddr::V4(office_client(26))), Mac::BROADCAST)
            .ipv4(office_client(26), Ipv4Addr::new(192, 168, 10, 255))
            .udp(137, 137)
            .payload(&dns::nbns_query(0x8001, "FILESRV", 0x20))
            .at(at(30.0)),
    );

    // NTP.
    for (i, n) in [21u8, 22, 23, 24, 25].iter().enumerate() {
        let t = at(25.0 + i as f64 * 1.7);
        let c = office_client(*n);
        let q = ntp::client(t);
        let rtt = Duration::from_millis(2);
        let r = ntp::server(
            t,
            t + Duration::from_millis(1),
            t + Duration::from_millis(1),
            [133, 243, 238, 164],
        );
        out.extend(
            udp(c, 123, hosts::NTP, 123, t)
                .rtt(rtt)
                .request(&q)
                .response(&r)
                .frames(),
        );
    }

    // HTTPS to well-known-looking names.
    let sites: [(&str, Ipv4Addr, &str); 6] = [
        (
            "www.google.co.jp",
            Ipv4Addr::new(203, 0, 113, 10),
            "GTS CA 1C3",
        ),
        (
            "login.microsoftonline.com",
            Ipv4Addr::new(203, 0, 113, 11),
            "Microsoft Azure RSA TLS Issuing CA 03",
        ),
        (
            "github.com",
            Ipv4Addr::new(203, 0, 113, 12),
            "Sectigo ECC Domain Validation Secure Server CA",
        ),
        (
            "www.yahoo.co.jp",
            Ipv4Addr::new(203, 0, 113, 13),
            "Cybertrust Japan SureServer CA G4",
        ),
        (
            "slack.com",
            Ipv4Addr::new(203, 0, 113, 14),
            "Amazon RSA 2048 M02",
        ),
        (
            "update.googleapis.com",
            Ipv4Addr::new(203, 0, 113, 15),
            "GTS CA 1C3",
        ),
    ];
    let mut t = 40.0;
    for (round, client) in [21u8, 22, 23, 24, 25, 27, 28].iter().enumerate() {
        for (k, (name, ip, issuer)) in sites.iter().enumerate() {
            if (round + k) % 3 == 2 {
                continue;
            }
            let c = office_client(*client);
            let port = 50_000 + (round * 16 + k) as u16;
            let id = rng.next_u32() as u16;
            dns_lookup(&mut out, c, 53_000 + port % 1000, id, name, *ip, at(t));
            let leaf = tls::Certificate::new(name, issuer).san(&[name]).validity(
                DEMO_START - Duration::from_secs(40 * 86_400),
                DEMO_START + Duration::from_secs(50 * 86_400),
            );
            let ca = tls::Certificate::new(issuer, "Example Root CA").ca(true);
            let hello = tls::ClientHello::new()
                .sni(name)
                .alpn(&["h2", "http/1.1"])
                .grease(Some(k + round));
            let flight = tls::server_flight_tls12(0xC02F, &leaf, Some(&ca));
            let conv = tcp(c, port, *ip, 443, at(t + 0.03))
                .rtt(Duration::from_millis(8 + k as i64))
                .handshake()
                .client(&hello.build())
                .server(&flight)
                .client(&tls::record(
                    tls::content::HANDSHAKE,
                    0x0303,
                    &[16, 0, 0, 33, 32],
                ))
                .client(&tls::application_data(420, k as u8))
                .server(&tls::application_data(3_800 + 700 * k, round as u8))
                .wait(Duration::from_millis(300))
                .fin();
            out.extend(conv.frames());
            t += 3.1;
        }
    }

    // Plain HTTP download of an executable.
    {
        let c = hosts::EXE_CLIENT;
        dns_lookup(
            &mut out,
            c,
            53_999,
            0x4242,
            "downloads.freeware-hub.example",
            hosts::EXE_SERVER,
            at(70.0),
        );
        let req = HttpRequest::get(
            "downloads.freeware-hub.example",
            "/files/PDFConverterSetup.exe",
        )
        .build();
        let resp = HttpResponse::ok()
            .content_type("application/x-msdownload")
            .header(
                "Content-Disposition",
                "attachment; filename=\"PDFConverterSetup.exe\"",
            )
            .body(&exe_body(48 * 1024))
            .build();
        out.extend(
            tcp(c, 49_731, hosts::EXE_SERVER, 80, at(70.05))
                .rtt(Duration::from_millis(30))
                .handshake()
                .client(&req)
                .server(&resp)
                .fin()
                .frames(),
        );
    }

    // SSH to the application server.
    {
        let c = office_client(23);
        let mut conv = tcp(c, 51_022, hosts::APP_SERVER, 22, at(90.0))
            .handshake()
            .server(&ssh::banner("OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"))
            .client(&ssh::banner("OpenSSH_for_Windows_9.5"))
            .client(&ssh::KexInit::openssh_client().build(3))
            .server(&ssh::KexInit::openssh_server().build(4));
        for i in 0..12u8 {
            conv = conv
                .wait(Duration::from_millis(400))
                .client(&rng.bytes(36 + usize::from(i % 3) * 16))
                .server(&rng.bytes(52 + usize::from(i) * 20));
        }
        out.extend(conv.fin().frames());
    }

    // SMB2 between internal hosts, and an SMB1 negotiate from the legacy PC.
    {
        let c = office_client(24);
        out.extend(
            tcp(c, 49_800, hosts::FILE_SERVER, 445, at(100.0))
                .handshake()
                .client(&smb::smb2_negotiate_request(&[
                    0x0202, 0x0210, 0x0300, 0x0302,
                ]))
                .server(&smb::smb2_negotiate_response(
                    0x0302,
                    smb::filetime(DEMO_START.unix_secs() + 100),
                ))
                .wait(Duration::from_secs(5))
                .fin()
                .frames(),
        );
        let legacy = office_client(26);
        out.extend(
            tcp(legacy, 1_046, hosts::FILE_SERVER, 445, at(104.0))
                .handshake()
                .client(&smb::smb1_negotiate_request())
                .rst_from_server()
                .frames(),
        );
    }

    // SMTP with AUTH PLAIN in cleartext.
    out.extend(
        tcp(office_client(22), 50_400, hosts::MAIL_SERVER, 25, at(110.0))
            .rtt(Duration::from_millis(1))
            .handshake()
            .play(&smtp_session(
                "PC-EIGYO-02.corp.example",
                SmtpAuth::Plain,
                "tanaka",
                "Natsu2026!",
                "tanaka@corp.example",
                "order@supplier.example",
            ))
            .fin()
            .frames(),
    );

    // FTP login and RETR (control + passive data connection).
    {
        let c = office_client(25);
        let size = 20_000;
        out.extend(
            tcp(c, 50_500, hosts::FTP_SERVER, 21, at(120.0))
                .handshake()
                .play(&ftp_login_retr(
                    "ftpuser",
                    "ftp123",
                    hosts::FTP_SERVER.octets(),
                    40_123,
                    "drawings/part-7731.dxf",
                    size,
                ))
                .fin()
                .frames(),
        );
        out.extend(
            tcp(c, 50_501, hosts::FTP_SERVER, 40_123, at(120.02))
                .handshake()
                .server(&rng.bytes(size))
                .fin_from_server()
                .frames(),
        );
    }

    // Telnet to the switch.
    out.extend(
        tcp(office_client(21), 50_600, hosts::SWITCH, 23, at(130.0))
            .gap(Duration::from_millis(150))
            .handshake()
            .play(&telnet_session("admin", "admin123"))
            .fin()
            .frames(),
    );

    // LDAP simple bind (one success, one failure) and Kerberos AS-REQ.
    {
        let c = office_client(24);
        out.extend(
            tcp(c, 50_700, hosts::DC, 389, at(140.0))
                .handshake()
                .client(&asn1::ldap_simple_bind(
                    1,
                    "CN=svc-scan,OU=Service,DC=corp,DC=example",
                    "Scan#2026",
                ))
                .server(&asn1::ldap_bind_response(1, 0))
                .fin()
                .frames(),
        );
        out.extend(
            tcp(c, 50_701, hosts::DC, 389, at(141.0))
                .handshake()
                .client(&asn1::ldap_simple_bind(
                    1,
                    "CN=Administrator,CN=Users,DC=corp,DC=example",
                    "password",
                ))
                .server(&asn1::ldap_bind_response(1, 49))
                .fin()
                .frames(),
        );
        let till = Timestamp::from_civil(2037, 9, 13, 2, 48, 5, 0).unwrap_or(DEMO_START);
        let req = asn1::kerberos_as_req("suzuki", "CORP.EXAMPLE", 0x1F2E_3D4C, till, &[18, 17, 23]);
        out.extend(
            udp(c, 50_702, hosts::DC, 88, at(142.0))
                .request(&req)
                .frames(),
        );
    }

    // SNMP v2c with community "public".
    for i in 0..3u8 {
        let t = at(150.0 + f64::from(i) * 30.0);
        let id = 1_000 + i64::from(i);
        let q = asn1::snmp_get_request("public", id, &[asn1::SYS_DESCR, asn1::SYS_NAME]);
        let r = asn1::snmp_get_response(
            "public",
            id,
            &[
                (
                    asn1::SYS_DESCR,
                    "Cisco IOS Software, C2960 Software, Version 15.0(2)SE11",
                ),
                (asn1::SYS_NAME, "sw-core-01"),
            ],
        );
        out.extend(
            udp(hosts::MONITOR, 40_161, hosts::SWITCH, 161, t)
                .request(&q)
                .response(&r)
                .frames(),
        );
    }

    // --- Suspicious activity -------------------------------------------------------------

    // Vertical TCP SYN scan of 1,000 ports on the application server.
    {
        let s = hosts::SCANNER;
        for p in 1..=hosts::SCAN_PORTS {
            let t = at(200.0 + f64::from(p) * 0.004);
            let conv =
                tcp(s, 61_000 + (p % 7), hosts::APP_SERVER, p, t).rtt(Duration::from_micros(400));
            let conv = if hosts::APP_OPEN_PORTS.contains(&p) {
                conv.half_open()
            } else {
                conv.rejected()
            };
            out.extend(conv.frames());
        }
    }

    // Horizontal sweep on 445 over the server network.
    for h in 1..=254u8 {
        let target = Ipv4Addr::new(10, 0, 0, h);
        let t = at(215.0 + f64::from(h) * 0.01);
        let conv = tcp(hosts::SCANNER, 40_000 + u16::from(h), target, 445, t)
            .rtt(Duration::from_micros(600));
        let conv = match target {
            hosts::FILE_SERVER | hosts::DC => conv.half_open(),
            hosts::APP_SERVER | hosts::NTP => conv.rejected(),
            _ => conv.syn_only(),
        };
        out.extend(conv.frames());
    }

    // ICMP sweep of the office network.
    for h in 1..=254u8 {
        let target = office_client(h);
        let alive = matches!(h, 1 | 2 | 21..=28);
        out.extend(ping(
            IpAddr::V4(hosts::SCANNER),
            IpAddr::V4(target),
            0x0B0B,
            u16::from(h),
            at(230.0 + f64::from(h) * 0.005),
            Duration::from_micros(350),
            alive,
        ));
    }

    // UDP probes to closed ports answered by ICMP port unreachable.
    for (i, p) in [
        7u16, 9, 13, 17, 19, 37, 49, 67, 69, 111, 123, 135, 137, 138, 139, 161, 162, 177, 427, 500,
        520, 623, 1434, 1900, 5353,
    ]
    .iter()
    .enumerate()
    {
        let t = at(240.0 + i as f64 * 0.05);
        let ex = udp(hosts::SCANNER, 55_000 + i as u16, hosts::APP_SERVER, *p, t).request(&[]);
        let ex = if *p == 123 {
            ex.response(&ntp::server(t, t, t, [10, 0, 0, 1]))
        } else {
            ex.port_unreachable()
        };
        out.extend(ex.frames());
    }

    // DNS tunnelling-like queries: long high-entropy labels under one domain, TXT answers.
    {
        const B32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        let c = hosts::TUNNEL_CLIENT;
        for i in 0..150u32 {
            let t = at(260.0 + f64::from(i) * 0.4);
            let l1 = rng.string_from(B32, 56);
            let l2 = rng.string_from(B32, 40);
            let name = format!("{l1}.{l2}.{i:x}.{}", hosts::TUNNEL_DOMAIN);
            let id = rng.next_u32() as u16;
            let q = DnsMessage::query(id, &name, qtype::TXT).build();
            let answer = crate::payload::base64(&rng.bytes(120));
            let r = DnsMessage::response(id, &name, qtype::TXT)
                .txt(&name, 0, &[&answer])
                .build();
            out.extend(
                udp(c, 40_000 + (i % 20_000) as u16, hosts::DNS, 53, t)
                    .rtt(Duration::from_millis(40))
                    .request(&q)
                    .response(&r)
                    .frames(),
            );
        }
    }

    // Beaconing: HTTP every 60 s ± 1 s, 20 times.
    {
        let c = hosts::BEACON_CLIENT;
        let mut t = 300.0;
        for i in 0..hosts::BEACON_COUNT {
            let jitter = (rng.below(2_001) as f64 - 1_000.0) / 1_000.0;
            let req =
                HttpRequest::get("203.0.113.66", &format!("/api/v2/status?id=8f3a21c7&n={i}"))
                    .user_agent("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1)")
                    .build();
            let resp = HttpResponse::ok()
                .content_type("text/plain")
                .body(b"{\"cmd\":\"sleep\",\"t\":60}")
                .build();
            out.extend(
                tcp(c, 49_152 + i as u16 * 3, hosts::BEACON_SERVER, 80, at(t))
                    .rtt(Duration::from_millis(90))
                    .handshake()
                    .client(&req)
                    .server(&resp)
                    .fin()
                    .frames(),
            );
            t += 60.0 + jitter;
        }
    }

    // RDP from an external address to the exposed terminal server.
    for i in 0..8u16 {
        let t = at(400.0 + f64::from(i) * 7.3);
        let user = ["administrator", "admin", "user", "test"][usize::from(i % 4)];
        let conv = TcpConversation::new(
            sa(hosts::RDP_ATTACKER, 50_100 + i),
            sa(hosts::RDP_SERVER, 3389),
            t,
        )
        .macs(ROUTER_MAC, Mac::for_ip(IpAddr::V4(hosts::RDP_SERVER)))
        .ttls(113, 128)
        .rtt(Duration::from_millis(120))
        .handshake()
        .client(&rdp::connection_request(
            user,
            rdp::PROTOCOL_SSL | rdp::PROTOCOL_HYBRID,
        ))
        .server(&rdp::connection_confirm(rdp::PROTOCOL_HYBRID))
        .client(&tls::ClientHello::legacy(tls::version::TLS12).build())
        .server(&tls::server_flight_tls12(
            0xC030,
            &tls::Certificate::self_signed("TS01.corp.example"),
            None,
        ))
        .rst_from_client();
        out.extend(conv.frames());
    }

    out.sort_by_key(|f| f.ts);
    out
}

/// Write [`demo`] as a classic pcap (µs, Ethernet) to `path`.
pub fn write_demo(path: impl AsRef<Path>) -> io::Result<()> {
    crate::pcap::write_pcap_file(path, &demo())
}

/// Write [`demo`] as pcapng (one Ethernet interface, µs) to `path`.
pub fn write_demo_pcapng(path: impl AsRef<Path>) -> io::Result<()> {
    crate::pcap::write_pcapng_file(path, &demo())
}

/// One frame of every link type and encapsulation the kit builds, for decoder tests: Ethernet,
/// 802.1Q, QinQ, Linux SLL and SLL2, raw IP, BSD NULL; IPv6 with extension headers; GRE
/// (IP and Ethernet), VXLAN; IPv4 and IPv6 fragments; ICMP and ICMPv6 errors; ARP. Mixed
/// link types: write it with [`crate::pcap::PcapNgWriter`] or
/// [`crate::pcap::write_pcapng_file`].
pub fn encapsulation_samples() -> Vec<TimedFrame> {
    let a = Ipv4Addr::new(192, 168, 10, 21);
    let b = Ipv4Addr::new(10, 0, 0, 20);
    let a6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 10, 0, 0, 0, 0, 21);
    let b6: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 20);
    let ma = Mac::for_ip(IpAddr::V4(a));
    let mb = Mac::for_ip(IpAddr::V4(b));
    let dns = DnsMessage::query(0x1111, "www.example.com", qtype::A).build();
    let seg = crate::packet::TcpSeg {
        flags: TcpFlags::SYN,
        seq: 1_000,
        options: crate::packet::tcp_syn_options(1460, 1, 7),
        ..crate::packet::TcpSeg::new(50_000, 443)
    };
    let inner_eth = Frame::ethernet(Mac::local(0x10), Mac::local(0x11))
        .ipv4(a, b)
        .udp(53_000, 53)
        .payload(&dns)
        .build();
    let inner_ip = Frame::raw().ipv4(a, b).tcp(seg.clone()).build_ip();
    let probe = Frame::raw()
        .ipv4(a, b)
        .udp(40_000, 33_434)
        .payload(b"traceroute")
        .build_ip();
    let probe6 = Frame::raw()
        .ipv6(a6, b6)
        .udp(40_000, 9)
        .payload(b"x")
        .build_ip();
    let mut frames: Vec<Frame> = vec![
        Frame::ethernet(ma, mb).ipv4(a, b).tcp(seg.clone()),
        Frame::ethernet(ma, mb)
            .vlan(10)
            .ipv4(a, b)
            .udp(53_000, 53)
            .payload(&dns),
        Frame::ethernet(ma, mb)
            .qinq(100, 10)
            .ipv4(a, b)
            .udp(53_001, 53)
            .payload(&dns),
        Frame::sll(ma).ipv4(a, b).udp(53_002, 53).payload(&dns),
        Frame::sll2(ma, 2)
            .ipv6(a6, b6)
            .udp(53_003, 53)
            .payload(&dns),
        Frame::raw().ipv4(a, b).udp(53_004, 53).payload(&dns),
        Frame::raw().ipv6(a6, b6).tcp(seg.clone()),
        Frame::null().ipv4(a, b).udp(53_005, 53).payload(&dns),
        Frame::null().ipv6(a6, b6).icmpv6_echo_request(7, 1),
        Frame::ethernet(ma, mb)
            .ipv6(a6, b6)
            .ext_header(crate::packet::Ipv6Ext::HopByHop(vec![5, 2, 0, 0]))
            .ext_header(crate::packet::Ipv6Ext::DestOpts(vec![]))
            .udp(53_006, 53)
            .payload(&dns),
        Frame::ethernet(ma, mb).ipv4(b, a).gre_ip(&inner_ip),
        Frame::ethernet(ma, mb)
            .ipv4(b, a)
            .gre_eth(&inner_eth)
            .gre_key(42),
        Frame::ethernet(ma, mb).ipv4(b, a).vxlan(5_001, &inner_eth),
        Frame::ethernet(mb, ma)
            .ipv4(b, a)
            .icmp_port_unreachable(&probe),
        Frame::ethernet(mb, ma)
            .ipv4(Ipv4Addr::new(10, 0, 0, 1), a)
            .icmp_ttl_exceeded(&probe),
        Frame::ethernet(mb, ma)
            .ipv6(b6, a6)
            .icmpv6_port_unreachable(&probe6),
        Frame::ethernet(ma, Mac::BROADCAST).arp(
            1,
            ma,
            a,
            Mac::ZERO,
            Ipv4Addr::new(192, 168, 10, 1),
        ),
    ];
    let big: Vec<u8> = (0..4_000u32).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::new();
    let mut t = DEMO_START;
    for f in frames.drain(..) {
        out.push(f.at(t));
        t = t + Duration::from_millis(1);
    }
    let v4 = Frame::ethernet(ma, mb)
        .ipv4(a, b)
        .ip_id(0x4242)
        .udp(5_000, 5_001)
        .payload(&big);
    let v6 = Frame::ethernet(ma, mb)
        .ipv6(a6, b6)
        .udp(5_000, 5_001)
        .payload(&big);
    for data in v4.fragment(1_500).into_iter().chain(v6.fragment(1_280)) {
        out.push(TimedFrame {
            ts: t,
            linktype: linktype::ETHERNET,
            data,
        });
        t = t + Duration::from_millis(1);
    }
    out
}

/// What [`bench_capture`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Packets written.
    pub packets: u64,
    /// Flows started (TCP connections, UDP exchanges, ICMP echo sequences).
    pub flows: u64,
    /// TCP flows started.
    pub tcp_flows: u64,
    /// UDP flows started.
    pub udp_flows: u64,
    /// ICMP flows started.
    pub icmp_flows: u64,
    /// Bytes of packet data (without pcap headers).
    pub bytes: u64,
    /// Time of the first packet.
    pub first_ts: Timestamp,
    /// Time of the last packet.
    pub last_ts: Timestamp,
}

/// Flows open at the same time in [`bench_capture`].
pub const BENCH_ACTIVE_FLOWS: usize = 1_024;
/// Flows kept open once the requested flow count is reached and packets remain.
pub const BENCH_EXTRA_FLOWS_OPEN: usize = 64;
/// Start time of [`bench_capture`] (2026-11-02T09:00:00Z).
pub const BENCH_START: Timestamp = DEMO_START;
/// Mean gap between packets of [`bench_capture`] (20 µs: 50k packets per second).
pub const BENCH_MEAN_GAP_NS: u64 = 20_000;
/// Longest flow of [`bench_capture`] in packets.
pub const BENCH_FLOW_PACKETS_MAX: u64 = 2_000;

const MSS: u32 = 1_448;
/// Size of one TLS application-data record in the bench pool (5-byte header + 1 400).
const TLS_APP_RECORD: u32 = 1_405;
/// Smallest packet budget for which a TCP conversation is generated.
const TCP_FLOW_MIN_PACKETS: u64 = 16;
/// Size of the random byte pool that bench payloads are cut from.
const BENCH_RANDOM_BLOB: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
enum Blob {
    None,
    Http(u8),
    FlowHead,
    Hello(u8),
    Flight,
    SshBannerC,
    SshBannerS,
    SshKexC,
    SshKexS,
    Random,
    TlsApp,
    TlsClientData,
    DnsQ(u16),
    DnsR(u16),
    Icmp,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    client: bool,
    flags: TcpFlags,
    blob: Blob,
    off: u32,
    len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    Icmp,
}

#[derive(Debug)]
struct Flow {
    kind: Kind,
    c: Ipv4Addr,
    s: Ipv4Addr,
    cp: u16,
    sp: u16,
    cmac: Mac,
    smac: Mac,
    cseq: u32,
    sseq: u32,
    cid: u16,
    sid: u16,
    tag: u16,
    head: Vec<u8>,
    steps: Vec<Step>,
    pos: usize,
}

struct Blobs {
    http: Vec<Vec<u8>>,
    hellos: Vec<Vec<u8>>,
    flight: Vec<u8>,
    ssh: [Vec<u8>; 4],
    random: Vec<u8>,
    tls_app: Vec<u8>,
    tls_client: Vec<u8>,
    dns_q: Vec<Vec<u8>>,
    dns_r: Vec<Vec<u8>>,
    icmp: Vec<u8>,
}

const BENCH_NAMES: &[&str] = &[
    "www.example.com",
    "api.example.net",
    "cdn.example.org",
    "mail.example.co.jp",
    "login.example.com",
    "static.example.net",
    "update.example.com",
    "files.example.org",
    "news.example.jp",
    "docs.example.com",
    "img.example.net",
    "auth.example.org",
    "git.example.com",
    "chat.example.net",
    "video.example.org",
    "portal.example.co.jp",
];

impl Blobs {
    fn new(rng: &mut SplitMix64) -> Blobs {
        let http = BENCH_NAMES
            .iter()
            .map(|n| {
                HttpRequest::get(n, "/index.html")
                    .header("Accept-Language", "ja,en;q=0.8")
                    .build()
            })
            .collect();
        let hellos = BENCH_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                tls::ClientHello::new()
                    .sni(n)
                    .alpn(&["h2", "http/1.1"])
                    .grease(Some(i))
                    .build()
            })
            .collect();
        let flight = tls::server_flight_tls12(
            0xC02F,
            &tls::Certificate::new("www.example.com", "Example CA"),
            None,
        );
        let ssh = [
            ssh::banner("OpenSSH_9.6"),
            ssh::banner("OpenSSH_9.2p1 Debian-2+deb12u3"),
            ssh::KexInit::openssh_client().build(1),
            ssh::KexInit::openssh_server().build(2),
        ];
        let random = rng.bytes(BENCH_RANDOM_BLOB);
        let n_records = BENCH_RANDOM_BLOB / TLS_APP_RECORD as usize;
        let mut tls_app = Vec::with_capacity(n_records * TLS_APP_RECORD as usize);
        for (i, chunk) in random
            .chunks_exact(TLS_APP_RECORD as usize - 5)
            .take(n_records)
            .enumerate()
        {
            let mut rec = tls::record(tls::content::APPLICATION_DATA, tls::version::TLS12, chunk);
            if let Some(b) = rec.get_mut(5) {
                *b ^= i as u8;
            }
            tls_app.extend_from_slice(&rec);
        }
        let tls_client = tls::application_data(295, 9);
        let dns_q = BENCH_NAMES
            .iter()
            .map(|n| DnsMessage::query(0, n, qtype::A).build())
            .collect();
        let dns_r = BENCH_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                DnsMessage::response(0, n, qtype::A)
                    .a(n, 300, Ipv4Addr::new(203, 0, 113, i as u8 + 1))
                    .build()
            })
            .collect();
        Blobs {
            http,
            hellos,
            flight,
            ssh,
            random,
            tls_app,
            tls_client,
            dns_q,
            dns_r,
            icmp: b"abcdefghijklmnopqrstuvwabcdefghi".to_vec(),
        }
    }

    fn bytes<'a>(&'a self, b: Blob, head: &'a [u8]) -> &'a [u8] {
        let pick = |v: &'_ [Vec<u8>], i: usize| -> usize { i % v.len().max(1) };
        match b {
            Blob::None => &[],
            Blob::Http(i) => self
                .http
                .get(pick(&self.http, usize::from(i)))
                .map_or(&[][..], |v| v.as_slice()),
            Blob::FlowHead => head,
            Blob::Hello(i) => self
                .hellos
                .get(pick(&self.hellos, usize::from(i)))
                .map_or(&[][..], |v| v.as_slice()),
            Blob::Flight => &self.flight,
            Blob::SshBannerC => &self.ssh[0],
            Blob::SshBannerS => &self.ssh[1],
            Blob::SshKexC => &self.ssh[2],
            Blob::SshKexS => &self.ssh[3],
            Blob::Random => &self.random,
            Blob::TlsApp => &self.tls_app,
            Blob::TlsClientData => &self.tls_client,
            Blob::DnsQ(i) => self
                .dns_q
                .get(pick(&self.dns_q, usize::from(i)))
                .map_or(&[][..], |v| v.as_slice()),
            Blob::DnsR(i) => self
                .dns_r
                .get(pick(&self.dns_r, usize::from(i)))
                .map_or(&[][..], |v| v.as_slice()),
            Blob::Icmp => &self.icmp,
        }
    }
}

fn step(client: bool, flags: TcpFlags, blob: Blob, off: u32, len: u32) -> Step {
    Step {
        client,
        flags,
        blob,
        off,
        len,
    }
}

/// Push a data transfer from one side cut at MSS, with a delayed ACK every two segments.
fn push_data(
    steps: &mut Vec<Step>,
    client: bool,
    blob: Blob,
    blob_len: u32,
    total: u32,
    rng: &mut SplitMix64,
) {
    let mut sent = 0;
    let mut segs = 0;
    let start = match blob {
        Blob::Random => rng.below(u64::from(blob_len.saturating_sub(total).max(1))) as u32,
        // Start on a record boundary so the stream parses as TLS records.
        Blob::TlsApp => {
            let records = u64::from(blob_len.saturating_sub(total) / TLS_APP_RECORD).max(1);
            rng.below(records) as u32 * TLS_APP_RECORD
        }
        _ => 0,
    };
    while sent < total {
        let len = (total - sent).min(MSS);
        let last = sent + len >= total;
        steps.push(step(
            client,
            if last {
                TcpFlags::PSH_ACK
            } else {
                TcpFlags::ACK
            },
            blob,
            start + sent,
            len,
        ));
        sent += len;
        segs += 1;
        if segs % 2 == 0 || last {
            steps.push(step(!client, TcpFlags::ACK, Blob::None, 0, 0));
        }
    }
}

fn tcp_plan(rng: &mut SplitMix64, blobs: &Blobs, target: u64) -> (u16, Vec<Step>, Vec<u8>) {
    let mut s = vec![
        step(true, TcpFlags::SYN, Blob::None, 0, 0),
        step(false, TcpFlags::SYN_ACK, Blob::None, 0, 0),
        step(true, TcpFlags::ACK, Blob::None, 0, 0),
    ];
    let body_segments = target.saturating_sub(10).max(1);
    let body = (body_segments * 2 / 3).max(1) * u64::from(MSS) - rng.below(u64::from(MSS) / 2);
    let rand_len = blobs.random.len() as u32;
    let body = (body as u32).min(rand_len);
    let mut head = Vec::new();
    let port = match rng.below(10) {
        0..=3 => {
            let i = rng.below(16) as u8;
            let hb = blobs.bytes(Blob::Http(i), &[]).len() as u32;
            push_data(&mut s, true, Blob::Http(i), hb, hb, rng);
            head = HttpResponse::ok()
                .content_type("application/octet-stream")
                .build_head(u64::from(body));
            let rh = head.len() as u32;
            push_data(&mut s, false, Blob::FlowHead, rh, rh, rng);
            push_data(&mut s, false, Blob::Random, rand_len, body, rng);
            80
        }
        4..=8 => {
            let i = rng.below(16) as u8;
            let hl = blobs.bytes(Blob::Hello(i), &[]).len() as u32;
            push_data(&mut s, true, Blob::Hello(i), hl, hl, rng);
            let fl = blobs.flight.len() as u32;
            push_data(&mut s, false, Blob::Flight, fl, fl, rng);
            let cl = blobs.tls_client.len() as u32;
            push_data(&mut s, true, Blob::TlsClientData, cl, cl, rng);
            let app_len = blobs.tls_app.len() as u32;
            let records = (body / TLS_APP_RECORD).max(1);
            push_data(
                &mut s,
                false,
                Blob::TlsApp,
                app_len,
                (records * TLS_APP_RECORD).min(app_len),
                rng,
            );
            443
        }
        _ => {
            for (client, b) in [
                (false, Blob::SshBannerS),
                (true, Blob::SshBannerC),
                (true, Blob::SshKexC),
                (false, Blob::SshKexS),
            ] {
                let l = blobs.bytes(b, &[]).len() as u32;
                push_data(&mut s, client, b, l, l, rng);
            }
            push_data(&mut s, true, Blob::Random, rand_len, 48, rng);
            push_data(
                &mut s,
                false,
                Blob::Random,
                rand_len,
                body.min(64 * 1024),
                rng,
            );
            22
        }
    };
    s.push(step(true, TcpFlags::FIN_ACK, Blob::None, 0, 0));
    s.push(step(false, TcpFlags::FIN_ACK, Blob::None, 0, 0));
    s.push(step(true, TcpFlags::ACK, Blob::None, 0, 0));
    (port, s, head)
}

fn external_ip(rng: &mut SplitMix64) -> Ipv4Addr {
    const FIRST: [u8; 12] = [13, 20, 23, 34, 35, 52, 104, 142, 151, 157, 185, 203];
    let a = FIRST[rng.below(FIRST.len() as u64) as usize];
    Ipv4Addr::new(
        a,
        rng.below(256) as u8,
        rng.below(256) as u8,
        rng.range(1, 254) as u8,
    )
}

fn new_flow(rng: &mut SplitMix64, blobs: &Blobs, target: u64, serial: u64) -> Flow {
    let c = Ipv4Addr::new(
        10,
        10 + rng.below(4) as u8,
        rng.below(256) as u8,
        rng.range(2, 254) as u8,
    );
    let cp = 32_768 + (serial % 28_000) as u16;
    // Short budgets cannot hold a TCP conversation: use DNS, ICMP or unknown UDP.
    let r = if target < TCP_FLOW_MIN_PACKETS {
        60 + rng.below(40)
    } else {
        rng.below(100)
    };
    let mut head = Vec::new();
    let (kind, s, sp, steps) = if r < 60 {
        let (port, steps, h) = tcp_plan(rng, blobs, target);
        head = h;
        (Kind::Tcp, external_ip(rng), port, steps)
    } else if r < 85 || target < 2 {
        let i = rng.below(BENCH_NAMES.len() as u64) as u16;
        let steps = vec![
            step(true, TcpFlags::NONE, Blob::DnsQ(i), 0, u32::MAX),
            step(false, TcpFlags::NONE, Blob::DnsR(i), 0, u32::MAX),
        ];
        (Kind::Udp, Ipv4Addr::new(10, 0, 0, 53), 53, steps)
    } else if r < 92 {
        let n = target.clamp(2, 20);
        let steps = (0..n)
            .map(|i| step(i % 2 == 0, TcpFlags::NONE, Blob::Icmp, 0, u32::MAX))
            .collect();
        (Kind::Icmp, external_ip(rng), 0, steps)
    } else {
        let n = target.clamp(1, 200);
        let steps = (0..n)
            .map(|i| {
                step(
                    i % 3 != 2,
                    TcpFlags::NONE,
                    Blob::Random,
                    (rng.below(200_000)) as u32,
                    40 + rng.below(1_000) as u32,
                )
            })
            .collect();
        (
            Kind::Udp,
            external_ip(rng),
            10_000 + rng.below(50_000) as u16,
            steps,
        )
    };
    let cseq = rng.next_u32();
    let sseq = rng.next_u32();
    Flow {
        kind,
        c,
        s,
        cp,
        sp,
        cmac: Mac::for_ip(IpAddr::V4(c)),
        smac: ROUTER_MAC,
        cseq,
        sseq,
        cid: rng.next_u32() as u16,
        sid: rng.next_u32() as u16,
        tag: rng.next_u32() as u16,
        head,
        steps,
        pos: 0,
    }
}

/// Stream a large mixed capture (classic pcap, µs, Ethernet) of exactly `packets` packets
/// and at least `flows` flows to `w`: TCP HTTP/TLS/SSH conversations of various lengths,
/// DNS over UDP, ICMP echo and unknown UDP. At most [`BENCH_ACTIVE_FLOWS`] flows are open
/// at once and their packets are interleaved in time; memory use does not grow with the
/// packet count. The same `seed` gives the same bytes. When all `flows` have finished before
/// `packets` are written, further flows are started (counted in [`Stats::flows`]).
pub fn bench_capture<W: Write>(w: W, packets: u64, flows: u64, seed: u64) -> io::Result<Stats> {
    let mut rng = SplitMix64::new(seed ^ 0x6265_6E63_6821);
    let blobs = Blobs::new(&mut rng);
    let mut pcap = PcapWriter::new(BufWriter::with_capacity(1 << 20, w), linktype::ETHERNET)?;
    let mut stats = Stats {
        first_ts: BENCH_START,
        last_ts: BENCH_START,
        ..Stats::default()
    };
    let mut active: Vec<Flow> = Vec::with_capacity(BENCH_ACTIVE_FLOWS);
    let mut now_ns: u64 = 0;
    let mut buf: Vec<u8> = Vec::with_capacity(2_048);
    let mut scratch: Vec<u8> = Vec::with_capacity(1_600);
    // Packets still owed by open flows: new flows are sized from what is left so that the
    // requested number of flows fits into the packet budget.
    let mut owed: u64 = 0;
    while stats.packets < packets {
        let remaining_pk = packets - stats.packets;
        let remaining_fl = flows.saturating_sub(stats.flows);
        let free = remaining_pk.saturating_sub(owed);
        if active.len() < BENCH_ACTIVE_FLOWS
            && free > 0
            && (remaining_fl > 0 || active.len() < BENCH_EXTRA_FLOWS_OPEN)
        {
            let target = if let Some(q) = free.checked_div(remaining_fl) {
                let mean = q.max(2);
                // Heavy-tailed: most flows short, a few long (mean slightly under budget).
                let r = rng.below(100);
                let t = if mean <= 3 {
                    2
                } else if r < 70 {
                    rng.range(2, mean)
                } else if r < 95 {
                    rng.range(mean, mean.saturating_mul(2))
                } else {
                    mean.saturating_mul(4)
                };
                t.min(BENCH_FLOW_PACKETS_MAX)
            } else {
                rng.range(2, 64)
            };
            let f = new_flow(&mut rng, &blobs, target.min(free).max(1), stats.flows);
            match f.kind {
                Kind::Tcp => stats.tcp_flows += 1,
                Kind::Udp => stats.udp_flows += 1,
                Kind::Icmp => stats.icmp_flows += 1,
            }
            stats.flows += 1;
            owed += f.steps.len() as u64;
            active.push(f);
        }
        if active.is_empty() {
            break;
        }
        let idx = rng.below(active.len() as u64) as usize;
        now_ns += rng.below(BENCH_MEAN_GAP_NS * 2) + 1;
        let ts = BENCH_START + Duration::from_nanos(now_ns as i64);
        let done = {
            let Some(f) = active.get_mut(idx) else { break };
            let Some(st) = f.steps.get(f.pos).copied() else {
                active.swap_remove(idx);
                continue;
            };
            f.pos += 1;
            let src = blobs.bytes(st.blob, &f.head);
            let off = (st.off as usize).min(src.len());
            let end = off.saturating_add(st.len as usize).min(src.len());
            let mut payload = src.get(off..end).unwrap_or(&[]);
            if let Blob::DnsQ(_) | Blob::DnsR(_) = st.blob {
                scratch.clear();
                scratch.extend_from_slice(payload);
                if let Some(id) = scratch.get_mut(0..2) {
                    id.copy_from_slice(&f.tag.to_be_bytes());
                }
                payload = &scratch;
            }
            let (smac, dmac, sip, dip, ttl) = if st.client {
                (f.cmac, f.smac, f.c, f.s, 64)
            } else {
                (f.smac, f.cmac, f.s, f.c, 57)
            };
            let id = if st.client { &mut f.cid } else { &mut f.sid };
            let ip_id = *id;
            *id = id.wrapping_add(1);
            let l4 = match f.kind {
                Kind::Tcp => {
                    let (seq, ack) = if st.client {
                        (f.cseq, f.sseq)
                    } else {
                        (f.sseq, f.cseq)
                    };
                    let l4 = FastL4::Tcp {
                        sport: if st.client { f.cp } else { f.sp },
                        dport: if st.client { f.sp } else { f.cp },
                        seq,
                        ack: if st.flags.contains(TcpFlags::ACK) {
                            ack
                        } else {
                            0
                        },
                        flags: st.flags,
                        window: 1_024,
                    };
                    let adv = payload.len() as u32
                        + u32::from(
                            st.flags.contains(TcpFlags::SYN) || st.flags.contains(TcpFlags::FIN),
                        );
                    if st.client {
                        f.cseq = f.cseq.wrapping_add(adv);
                    } else {
                        f.sseq = f.sseq.wrapping_add(adv);
                    }
                    l4
                }
                Kind::Udp => FastL4::Udp {
                    sport: if st.client { f.cp } else { f.sp },
                    dport: if st.client { f.sp } else { f.cp },
                },
                Kind::Icmp => {
                    let seq = (f.pos as u16).div_ceil(2);
                    let cp = f.cp.to_be_bytes();
                    let sq = seq.to_be_bytes();
                    FastL4::Icmp {
                        ty: if st.client { 8 } else { 0 },
                        code: 0,
                        rest: [cp[0], cp[1], sq[0], sq[1]],
                    }
                }
            };
            buf.clear();
            ipv4_frame_into(&mut buf, smac, dmac, sip, dip, ttl, ip_id, &l4, payload);
            f.pos >= f.steps.len()
        };
        pcap.write_packet(ts, &buf)?;
        owed = owed.saturating_sub(1);
        stats.packets += 1;
        stats.bytes += buf.len() as u64;
        stats.last_ts = ts;
        if stats.packets == 1 {
            stats.first_ts = ts;
        }
        if done {
            active.swap_remove(idx);
        }
    }
    pcap.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::checksum;

    fn fnv(frames: &[TimedFrame]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for f in frames {
            for b in f.ts.unix_nanos().to_le_bytes().iter().chain(f.data.iter()) {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    #[test]
    fn demo_is_deterministic_and_sized() {
        let a = demo();
        let b = demo();
        assert_eq!(fnv(&a), fnv(&b));
        assert!(a.len() > 3_000, "{}", a.len());
        assert!(a.len() < 20_000, "{}", a.len());
        assert!(a.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert!(a.iter().all(|f| f.linktype == linktype::ETHERNET));
        let span = a.last().unwrap().ts - a.first().unwrap().ts;
        assert!(span > Duration::from_mins(10) && span < Duration::from_mins(40));
    }

    #[test]
    fn demo_ipv4_checksums_are_valid() {
        for f in demo() {
            if u16::from_be_bytes([f.data[12], f.data[13]]) == 0x0800 {
                let ihl = usize::from(f.data[14] & 0x0F) * 4;
                assert_eq!(checksum(&f.data[14..14 + ihl]), 0);
            }
        }
    }

    fn tcp_to(
        frames: &[TimedFrame],
        src: Ipv4Addr,
        dst: Ipv4Addr,
        dport: Option<u16>,
        flags: u8,
    ) -> usize {
        frames
            .iter()
            .filter(|f| f.data.len() >= 54 && f.data[12..14] == [8, 0] && f.data[23] == 6)
            .filter(|f| f.data[26..30] == src.octets() && f.data[30..34] == dst.octets())
            .filter(|f| dport.is_none_or(|p| f.data[36..38] == p.to_be_bytes()))
            .filter(|f| f.data[47] == flags)
            .count()
    }

    #[test]
    fn demo_contains_planted_activity() {
        let d = demo();
        // 1000 SYNs from the scanner to the app server, 996 RST/ACK answers.
        assert_eq!(
            tcp_to(&d, hosts::SCANNER, hosts::APP_SERVER, None, 0x02),
            1000 + 1
        );
        assert_eq!(
            tcp_to(&d, hosts::APP_SERVER, hosts::SCANNER, None, 0x14),
            996 + 1
        );
        // 254 SYNs to port 445 in the sweep.
        let swept = (1..=254u8)
            .filter(|&h| {
                tcp_to(
                    &d,
                    hosts::SCANNER,
                    Ipv4Addr::new(10, 0, 0, h),
                    Some(445),
                    0x02,
                ) > 0
            })
            .count();
        assert_eq!(swept, 254);
        // 20 beacons.
        assert_eq!(
            tcp_to(
                &d,
                hosts::BEACON_CLIENT,
                hosts::BEACON_SERVER,
                Some(80),
                0x02
            ),
            20
        );
        // Telnet password in cleartext, SMTP AUTH PLAIN, SNMP community, MZ body.
        let has = |needle: &[u8]| {
            d.iter()
                .any(|f| f.data.windows(needle.len()).any(|w| w == needle))
        };
        assert!(has(b"admin123\r\n"));
        assert!(has(b"AUTH PLAIN "));
        assert!(has(b"public"));
        assert!(has(b"This program cannot be run in DOS mode"));
        assert!(has(b"Cookie: mstshash=administrator"));
        assert!(has(hosts::TUNNEL_DOMAIN
            .split('.')
            .nth(1)
            .unwrap()
            .as_bytes()));
        // ICMP port unreachable answers.
        let unreach = d
            .iter()
            .filter(|f| f.data[23] == 1 && f.data[34] == 3 && f.data[35] == 3)
            .count();
        assert_eq!(unreach, 24);
    }

    #[test]
    fn write_demo_writes_a_pcap() {
        let dir = std::env::temp_dir().join(format!("mamori-testkit-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("demo.pcap");
        write_demo(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        let expected: usize = 24 + demo().iter().map(|f| 16 + f.data.len()).sum::<usize>();
        assert_eq!(bytes.len(), expected);
        let ng = dir.join("demo.pcapng");
        write_demo_pcapng(&ng).unwrap();
        let ng_bytes = std::fs::read(&ng).unwrap();
        assert_eq!(&ng_bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert!(ng_bytes.len() > bytes.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bench_capture_counts_and_determinism() {
        let mut a = Vec::new();
        let sa = bench_capture(&mut a, 50_000, 2_000, 7).unwrap();
        assert_eq!(sa.packets, 50_000);
        assert!(sa.flows >= 2_000, "{sa:?}");
        assert!(sa.tcp_flows > 0 && sa.udp_flows > 0 && sa.icmp_flows > 0);
        assert_eq!(sa.tcp_flows + sa.udp_flows + sa.icmp_flows, sa.flows);
        assert_eq!(a.len() as u64, 24 + 16 * sa.packets + sa.bytes);
        let mut b = Vec::new();
        let sb = bench_capture(&mut b, 50_000, 2_000, 7).unwrap();
        assert_eq!(sa, sb);
        assert_eq!(a, b);
        let mut c = Vec::new();
        bench_capture(&mut c, 50_000, 2_000, 8).unwrap();
        assert_ne!(a, c);
        // Timestamps strictly increase and every IPv4 header checksum verifies.
        let mut i = 24;
        let mut last = 0u64;
        while i < a.len() {
            let secs = u64::from(u32::from_le_bytes(a[i..i + 4].try_into().unwrap()));
            let us = u64::from(u32::from_le_bytes(a[i + 4..i + 8].try_into().unwrap()));
            let cap = u32::from_le_bytes(a[i + 8..i + 12].try_into().unwrap()) as usize;
            let t = secs * 1_000_000 + us;
            assert!(t >= last);
            last = t;
            let frame = &a[i + 16..i + 16 + cap];
            assert_eq!(checksum(&frame[14..34]), 0);
            i += 16 + cap;
        }
    }

    #[test]
    fn encapsulation_samples_cover_link_types() {
        let s = encapsulation_samples();
        let mut lts: Vec<u16> = s.iter().map(|f| f.linktype).collect();
        lts.sort_unstable();
        lts.dedup();
        assert_eq!(
            lts,
            vec![
                linktype::NULL,
                linktype::ETHERNET,
                linktype::RAW,
                linktype::LINUX_SLL,
                linktype::LINUX_SLL2
            ]
        );
        assert_eq!(s.len(), 17 + 3 + 4);
        let ng = crate::pcap::pcapng_bytes(&s).unwrap();
        assert_eq!(ng.len() % 4, 0);
    }

    #[test]
    fn bench_capture_edge_counts() {
        let mut v = Vec::new();
        let s = bench_capture(&mut v, 0, 0, 1).unwrap();
        assert_eq!(s.packets, 0);
        assert_eq!(v.len(), 24);
        let mut v = Vec::new();
        let s = bench_capture(&mut v, 1_000, 10, 1).unwrap();
        assert_eq!(s.packets, 1_000);
        assert!(s.flows >= 10);
    }

    #[test]
    fn demo_tcp_side_and_udp_flows_exist() {
        let d = demo();
        // SSH banners in both directions.
        let has = |needle: &[u8]| {
            d.iter()
                .any(|f| f.data.windows(needle.len()).any(|w| w == needle))
        };
        assert!(has(b"SSH-2.0-OpenSSH_9.6p1"));
        assert!(has(b"SSH-2.0-OpenSSH_for_Windows"));
        assert!(has(b"\xfeSMB"));
        assert!(has(b"NT LM 0.12"));
        assert!(has(b"login.microsoftonline.com"));
    }
}
