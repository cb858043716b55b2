//! Per-parser tests: lines written here from each product's documented format.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use mamori_core::{Event, Timestamp, Value};
use mamori_logparse::{LineContext, LineStatus, LogParser, LogParserConfig};

fn recv() -> Timestamp {
    // 2026-11-23 12:00:00 JST
    Timestamp::from_civil(2026, 11, 23, 3, 0, 0, 0).unwrap()
}

fn ctx<'a>(source: &'a str, hint: Option<&'a str>) -> LineContext<'a> {
    LineContext {
        received: recv(),
        source,
        source_ip: None,
        hint,
    }
}

fn parse(line: &str) -> Event {
    let mut p = LogParser::default();
    let e = p.explain_line(line.as_bytes(), &ctx("test", None));
    assert_eq!(
        e.status,
        LineStatus::Parsed,
        "not parsed: {line}\n{:#?}",
        e.event
    );
    e.event
}

fn s<'a>(ev: &'a Event, k: &str) -> &'a str {
    ev.get_str(k)
        .unwrap_or_else(|| panic!("missing {k} in {ev:#?}"))
}
fn i(ev: &Event, k: &str) -> i64 {
    ev.get_i64(k)
        .unwrap_or_else(|| panic!("missing {k} in {ev:#?}"))
}
fn ip(ev: &Event, k: &str) -> String {
    ev.get_ip(k)
        .unwrap_or_else(|| panic!("missing {k} in {ev:#?}"))
        .to_string()
}

#[test]
fn sshd_accepted_failed_invalid_disconnect() {
    let e = parse("<38>Nov 23 10:00:01 gw sshd[1234]: Accepted password for alice from 192.168.1.10 port 51234 ssh2");
    assert_eq!(e.dataset, "sshd");
    assert_eq!(s(&e, "event.outcome"), "success");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(ip(&e, "source.ip"), "192.168.1.10");
    assert_eq!(i(&e, "source.port"), 51234);
    assert_eq!(s(&e, "mamori.auth.method"), "password");
    assert_eq!(s(&e, "host.hostname"), "gw");
    assert_eq!(i(&e, "process.pid"), 1234);
    assert_eq!(i(&e, "log.syslog.facility.code"), 4);
    assert_eq!(s(&e, "log.syslog.severity.name"), "informational");

    let e = parse("Nov 23 10:00:02 gw sshd[1235]: Failed password for invalid user admin from 203.0.113.5 port 40022 ssh2");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(s(&e, "user.name"), "admin");
    assert_eq!(
        e.get("mamori.ssh.invalid_user").as_deref(),
        Some(&Value::Bool(true))
    );

    let e = parse("Nov 23 10:00:03 gw sshd[1236]: Invalid user oracle from 203.0.113.5 port 40100");
    assert_eq!(s(&e, "event.action"), "invalid-user");
    assert_eq!(s(&e, "user.name"), "oracle");

    let e = parse("Nov 23 10:00:04 gw sshd[1237]: Disconnected from authenticating user root 203.0.113.5 port 40200 [preauth]");
    assert_eq!(s(&e, "user.name"), "root");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.5");
    assert_eq!(
        e.get("mamori.ssh.preauth").as_deref(),
        Some(&Value::Bool(true))
    );

    let e = parse(
        "Nov 23 10:00:05 gw sshd[1238]: Connection closed by 203.0.113.6 port 40300 [preauth]",
    );
    assert_eq!(ip(&e, "source.ip"), "203.0.113.6");
    assert_eq!(i(&e, "source.port"), 40300);

    let e = parse("Nov 23 10:00:06 gw sshd[1239]: Received disconnect from 203.0.113.7 port 40400:11: Bye Bye [preauth]");
    assert_eq!(i(&e, "source.port"), 40400);

    let e = parse("Nov 23 10:00:07 gw sshd[1240]: error: Received disconnect from 203.0.113.8: 14: No more user authentication methods available. [preauth]");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.8");
    let e = parse(
        "Nov 23 10:00:08 gw sshd[1241]: input_userauth_request: invalid user guest [preauth]",
    );
    assert_eq!(s(&e, "user.name"), "guest");
    assert_eq!(s(&e, "event.outcome"), "failure");
    let e = parse(
        "Nov 23 10:00:09 gw sshd[1242]: refused connect from scanner.example (198.51.100.99)",
    );
    assert_eq!(ip(&e, "source.ip"), "198.51.100.99");
}

#[test]
fn sshd_truncated_is_partial_and_counted() {
    let mut p = LogParser::default();
    let e = p.explain_line(
        b"Nov 23 10:00:01 gw sshd[1]: Accepted password for alice from 192.168.",
        &ctx("gw", None),
    );
    assert_eq!(e.status, LineStatus::Partial("bad_source_ip"));
    assert_eq!(e.event.dataset, "sshd");
    assert_eq!(e.event.get_str("mamori.parse_error"), Some("bad_source_ip"));
    assert!(e.event.get_str("error.message").is_some());
    assert_eq!(p.counters().get("parse_error.sshd.bad_source_ip"), 1);
    assert_eq!(
        p.source_counters("gw")
            .map(|c| c.get("parse_error.sshd.bad_source_ip")),
        Some(1)
    );
}

#[test]
fn sudo_su_pam_logind() {
    let e = parse("Nov 23 10:01:00 host sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx");
    assert_eq!(e.dataset, "sudo");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(s(&e, "user.target.name"), "root");
    assert_eq!(
        s(&e, "process.command_line"),
        "/usr/bin/systemctl restart nginx"
    );
    assert_eq!(s(&e, "process.executable"), "/usr/bin/systemctl");
    assert_eq!(s(&e, "event.outcome"), "success");

    let e = parse("Nov 23 10:01:01 host sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(s(&e, "event.reason"), "3 incorrect password attempts");

    let e = parse("Nov 23 10:01:02 host su[999]: FAILED SU (to root) alice on pts/0");
    assert_eq!(e.dataset, "su");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(s(&e, "user.target.name"), "root");
    assert_eq!(s(&e, "user.name"), "alice");

    let e = parse("Nov 23 10:01:03 host su[999]: (to root) alice on pts/0");
    assert_eq!(s(&e, "event.outcome"), "success");

    let e = parse("Nov 23 10:01:04 host sshd[77]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root");
    assert_eq!(e.dataset, "pam");
    assert_eq!(s(&e, "mamori.pam.module"), "pam_unix");
    assert_eq!(s(&e, "mamori.pam.service"), "sshd");
    assert_eq!(s(&e, "user.name"), "root");
    assert_eq!(ip(&e, "source.ip"), "198.51.100.7");
    assert_eq!(s(&e, "event.outcome"), "failure");

    let e = parse("Nov 23 10:01:05 host sshd[77]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)");
    assert_eq!(s(&e, "event.action"), "session-opened");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(i(&e, "user.id"), 1000);

    let e = parse("Nov 23 10:01:06 host systemd-logind[500]: New session 42 of user alice.");
    assert_eq!(e.dataset, "logind");
    assert_eq!(s(&e, "mamori.session.id"), "42");
    assert_eq!(s(&e, "user.name"), "alice");
    let e = parse("Nov 23 10:01:07 host systemd-logind[500]: Removed session 42.");
    assert_eq!(s(&e, "event.action"), "session-removed");
}

#[test]
fn kernel_firewall_lines() {
    let e = parse("Nov 23 10:02:00 fw kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=203.0.113.9 DST=192.168.1.2 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=4321 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0");
    assert_eq!(e.dataset, "firewall");
    assert_eq!(s(&e, "event.module"), "ufw");
    assert_eq!(s(&e, "event.action"), "deny");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.9");
    assert_eq!(ip(&e, "destination.ip"), "192.168.1.2");
    assert_eq!(i(&e, "destination.port"), 22);
    assert_eq!(s(&e, "network.transport"), "tcp");
    assert_eq!(s(&e, "observer.ingress.interface.name"), "eth0");

    let e = parse("Nov 23 10:02:01 fw kernel: ACCEPT-SSH: IN=eth1 OUT=eth0 SRC=10.0.0.5 DST=10.0.1.5 LEN=52 PROTO=UDP SPT=5353 DPT=53");
    assert_eq!(s(&e, "event.action"), "allow");
    assert_eq!(s(&e, "event.module"), "iptables");
    let e = parse("Nov 23 10:02:02 fw kernel: FINAL_REJECT: IN=ens3 OUT= SRC=10.0.0.9 DST=10.0.0.1 PROTO=ICMP TYPE=8 CODE=0");
    assert_eq!(s(&e, "event.module"), "firewalld");
    assert_eq!(i(&e, "mamori.icmp.type"), 8);
}

#[test]
fn filterlog_v4_v6() {
    let e = parse("<134>Nov 23 10:03:00 pfsense filterlog[321]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,12345,0,DF,6,tcp,60,203.0.113.9,192.168.1.2,51234,22,0,S,123456,,64240,,mss");
    assert_eq!(e.dataset, "firewall");
    assert_eq!(s(&e, "event.action"), "block");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.9");
    assert_eq!(i(&e, "destination.port"), 22);
    assert_eq!(s(&e, "observer.ingress.interface.name"), "igb0");
    let e = parse("filterlog[1]: 7,,,1000000105,em0,match,pass,out,6,0x00,0x00000,64,udp,17,40,2001:db8::1,2001:db8::2,5353,53,40");
    assert_eq!(s(&e, "network.type"), "ipv6");
    assert_eq!(ip(&e, "destination.ip"), "2001:db8::2");
    assert_eq!(i(&e, "destination.port"), 53);
}

#[test]
fn fortigate_kv_traffic_and_zone() {
    let e = parse(
        r#"<189>date=2026-11-23 time=10:04:00 devname="FG100F" devid="FG100FTK12345678" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" eventtime=1795395840 srcip=192.168.1.10 srcport=50000 srcintf="port1" dstip=93.184.216.34 dstport=443 dstintf="wan1" proto=6 action="accept" policyid=12 service="HTTPS" sentbyte=1200 rcvdbyte=5600"#,
    );
    assert_eq!(e.dataset, "firewall");
    assert_eq!(s(&e, "observer.name"), "FG100F");
    assert_eq!(s(&e, "event.action"), "accept");
    assert_eq!(s(&e, "event.outcome"), "success");
    assert_eq!(i(&e, "source.bytes"), 1200);
    assert_eq!(s(&e, "network.transport"), "tcp");
    assert_eq!(s(&e, "rule.id"), "12");
    // 10:04 in the default zone (Asia/Tokyo) is 01:04 UTC.
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 4, 0, 0).unwrap()
    );
    let e = parse(
        r#"date=2026-11-23 time=10:04:00 devname="FG" logid="0419016384" type="utm" subtype="ips" tz="+0000" srcip=10.0.0.1 dstip=10.0.0.2 action="dropped" attack="Apache.Log4j.Error.Log.Remote.Code.Execution""#,
    );
    assert_eq!(
        s(&e, "rule.name"),
        "Apache.Log4j.Error.Log.Remote.Code.Execution"
    );
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 10, 4, 0, 0).unwrap()
    );
}

#[test]
fn paloalto_traffic_and_threat_csv() {
    let traffic = "<14>Nov 23 10:05:00 PA-VM 1,2026/11/23 10:05:00,012345678901,TRAFFIC,end,2561,2026/11/23 10:05:00,192.168.1.20,198.51.100.20,203.0.113.1,198.51.100.20,allow-web,example\\alice,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,,12345,1,51000,443,41000,443,0x400000,tcp,allow,5000,1200,3800,20,2026/11/23 10:04:50,10,any";
    let e = parse(traffic);
    assert_eq!(e.dataset, "firewall");
    assert_eq!(ip(&e, "source.ip"), "192.168.1.20");
    assert_eq!(i(&e, "destination.port"), 443);
    assert_eq!(s(&e, "rule.name"), "allow-web");
    assert_eq!(s(&e, "network.application"), "ssl");
    assert_eq!(i(&e, "destination.bytes"), 3800);
    let threat = "1,2026/11/23 10:05:01,012345678901,THREAT,vulnerability,2561,2026/11/23 10:05:01,198.51.100.9,192.168.1.5,0.0.0.0,0.0.0.0,inbound,,,web-browsing,vsys1,untrust,trust,ethernet1/1,ethernet1/2,default,,999,1,40000,80,0,0,0x0,tcp,reset-both,\"/cgi-bin/x\",Bash Remote Code Execution Vulnerability(36729),any,critical,client-to-server";
    let e = parse(threat);
    assert_eq!(
        s(&e, "threat.indicator.name"),
        "Bash Remote Code Execution Vulnerability(36729)"
    );
    assert_eq!(s(&e, "mamori.panw.severity"), "critical");
}

#[test]
fn cisco_asa_messages() {
    let e = parse("<166>Nov 23 2026 10:06:00 fw01 : %ASA-6-302013: Built inbound TCP connection 1234 for outside:203.0.113.5/51234 (203.0.113.5/51234) to inside:192.168.1.10/22 (192.168.1.10/22)");
    assert_eq!(s(&e, "event.code"), "302013");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.5");
    assert_eq!(i(&e, "destination.port"), 22);
    assert_eq!(s(&e, "network.transport"), "tcp");
    let e = parse("<166>Nov 23 2026 10:06:01 fw01 : %ASA-6-302014: Teardown TCP connection 1234 for outside:203.0.113.5/51234 to inside:192.168.1.10/22 duration 0:01:05 bytes 4096 TCP FINs");
    assert_eq!(i(&e, "network.bytes"), 4096);
    assert_eq!(i(&e, "event.duration"), 65_000_000_000);
    let e = parse("%ASA-4-106023: Deny tcp src outside:198.51.100.1/4444 dst inside:192.168.1.20/445 by access-group \"outside_in\" [0x0, 0x0]");
    assert_eq!(s(&e, "event.action"), "deny");
    assert_eq!(s(&e, "rule.name"), "outside_in");
    assert_eq!(i(&e, "destination.port"), 445);
    let e = parse("%ASA-4-106100: access-list outside_in denied udp outside/198.51.100.1(5000) -> inside/192.168.1.20(161) hit-cnt 1 first hit [0x1, 0x0]");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(i(&e, "source.port"), 5000);
    let e = parse("%ASA-6-113005: AAA user authentication Rejected : reason = AAA failure : server = 10.0.0.5 : user = alice : user IP = 198.51.100.3");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(ip(&e, "source.ip"), "198.51.100.3");
    let e = parse("%ASA-6-605004: Login denied from 198.51.100.4/50000 to outside:203.0.113.1/ssh for user \"admin\"");
    assert_eq!(s(&e, "user.name"), "admin");
    assert_eq!(s(&e, "event.outcome"), "failure");
    let e = parse("%ASA-4-733100: [ Scanning] drop rate-1 exceeded. Current burst rate is 10 per second, max configured rate is 10; Current average rate is 5 per second, max configured rate is 5; Cumulative total count is 3000");
    assert_eq!(s(&e, "rule.name"), "Scanning");
    assert_eq!(i(&e, "mamori.asa.total_count"), 3000);
}

#[test]
fn squid_native_and_common() {
    let e = parse("1795395900.123    150 192.168.1.10 TCP_MISS/200 5120 GET http://example.jp/index.html alice HIER_DIRECT/93.184.216.34 text/html");
    assert_eq!(e.dataset, "squid");
    assert_eq!(e.timestamp, Timestamp::from_unix_millis(1_795_395_900_123));
    assert_eq!(i(&e, "event.duration"), 150_000_000);
    assert_eq!(i(&e, "http.response.status_code"), 200);
    assert_eq!(s(&e, "url.domain"), "example.jp");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(ip(&e, "destination.ip"), "93.184.216.34");
    let e = parse("1795395901.5 3 192.168.1.11 TCP_DENIED/403 3900 CONNECT bad.example:443 - HIER_NONE/- text/html");
    assert_eq!(s(&e, "event.action"), "deny");
    assert_eq!(s(&e, "url.domain"), "bad.example");
    let e = parse("192.168.1.10 - alice [23/Nov/2026:10:07:00 +0900] \"GET http://example.jp/ HTTP/1.1\" 200 1234 \"-\" \"curl/8.0\"");
    assert_eq!(e.dataset, "webserver");
    assert_eq!(s(&e, "url.domain"), "example.jp");
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 7, 0, 0).unwrap()
    );
}

#[test]
fn apache_nginx_access_and_error() {
    let e = parse(
        r#"203.0.113.7 - - [23/Nov/2026:10:08:00 +0000] "POST /login HTTP/1.1" 401 512 "https://example.jp/" "Mozilla/5.0 (X11)""#,
    );
    assert_eq!(s(&e, "http.request.method"), "POST");
    assert_eq!(s(&e, "url.original"), "/login");
    assert_eq!(i(&e, "http.response.status_code"), 401);
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(s(&e, "user_agent.original"), "Mozilla/5.0 (X11)");
    assert_eq!(s(&e, "http.version"), "1.1");
    let e = parse(
        r#"www.example.jp:443 203.0.113.7 - - [23/Nov/2026:10:08:01 +0900] "GET / HTTP/2.0" 200 - "-" "-""#,
    );
    assert_eq!(s(&e, "url.domain"), "www.example.jp");
    assert_eq!(i(&e, "destination.port"), 443);
    let e = parse("[Mon Nov 23 10:08:02.123456 2026] [core:error] [pid 1234:tid 5678] [client 203.0.113.8:51000] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1");
    assert_eq!(s(&e, "log.level"), "error");
    assert_eq!(s(&e, "error.code"), "AH00126");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.8");
    assert_eq!(i(&e, "process.pid"), 1234);
    let e = parse(
        r#"2026/11/23 10:08:03 [error] 1234#1234: *5 open() "/var/www/x" failed (2: No such file or directory), client: 203.0.113.9, server: example.jp, request: "GET /x HTTP/1.1", host: "example.jp""#,
    );
    assert_eq!(s(&e, "event.module"), "nginx");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.9");
    assert_eq!(s(&e, "url.original"), "/x");
}

#[test]
fn dns_servers() {
    let e = parse("Nov 23 10:09:00 ns1 named[800]: client @0x7f8b2c0a1b20 192.168.1.10#53211 (example.jp): query: example.jp IN A +E(0)K (192.168.1.1)");
    assert_eq!(e.dataset, "dns");
    assert_eq!(s(&e, "event.module"), "bind");
    assert_eq!(s(&e, "dns.question.name"), "example.jp");
    assert_eq!(s(&e, "dns.question.type"), "A");
    assert_eq!(i(&e, "source.port"), 53211);
    assert_eq!(ip(&e, "destination.ip"), "192.168.1.1");
    let e = parse("23-Nov-2026 10:09:01.250 queries: info: client @0x55 10.0.0.7#40000 (x.example): query: x.example IN AAAA + (10.0.0.1)");
    assert_eq!(s(&e, "dns.question.type"), "AAAA");
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 9, 1, 250_000_000).unwrap()
    );
    let e = parse("Nov 23 10:09:02 gw dnsmasq[600]: query[A] example.jp from 192.168.1.11");
    assert_eq!(s(&e, "event.module"), "dnsmasq");
    assert_eq!(ip(&e, "source.ip"), "192.168.1.11");
    let e = parse("Nov 23 10:09:03 gw dnsmasq[600]: reply nonexistent.example is NXDOMAIN");
    assert_eq!(s(&e, "dns.response_code"), "NXDOMAIN");
    let e = parse("Nov 23 10:09:04 gw dnsmasq[600]: forwarded example.jp to 8.8.8.8");
    assert_eq!(ip(&e, "destination.ip"), "8.8.8.8");
    let e = parse("Nov 23 10:09:05 gw unbound: [1234:0] info: 192.168.1.12 example.jp. A IN NOERROR 0.001500 0 45");
    assert_eq!(s(&e, "event.module"), "unbound");
    assert_eq!(s(&e, "dns.response_code"), "NOERROR");
    assert_eq!(i(&e, "event.duration"), 1_500_000);
}

#[test]
fn dhcp_servers() {
    let e = parse("Nov 23 10:10:00 dhcp dhcpd[900]: DHCPACK on 192.168.1.50 to 00:11:22:33:44:55 (laptop-01) via eth0");
    assert_eq!(e.dataset, "dhcp");
    assert_eq!(s(&e, "mamori.dhcp.message_type"), "ack");
    assert_eq!(ip(&e, "client.ip"), "192.168.1.50");
    assert_eq!(s(&e, "client.mac"), "00:11:22:33:44:55");
    assert_eq!(s(&e, "mamori.dhcp.hostname"), "laptop-01");
    assert_eq!(s(&e, "mamori.dhcp.interface"), "eth0");
    let e = parse("Nov 23 10:10:01 dhcp dhcpd[900]: DHCPREQUEST for 192.168.1.50 (192.168.1.1) from 00:11:22:33:44:55 (laptop-01) via 10.0.0.2");
    assert_eq!(ip(&e, "mamori.dhcp.server_ip"), "192.168.1.1");
    assert_eq!(ip(&e, "mamori.dhcp.relay_ip"), "10.0.0.2");
    let e = parse(
        "Nov 23 10:10:02 gw dnsmasq-dhcp[600]: DHCPACK(br0) 192.168.1.60 aa:bb:cc:dd:ee:ff phone",
    );
    assert_eq!(e.dataset, "dhcp");
    assert_eq!(s(&e, "mamori.dhcp.hostname"), "phone");
    assert_eq!(s(&e, "mamori.dhcp.interface"), "br0");
    let e = parse("2026-11-23 10:10:03.123 INFO  [kea-dhcp4.leases/1234.139] DHCP4_LEASE_ALLOC [hwtype=1 00:11:22:33:44:66], cid=[no info], tid=0x1234: lease 192.168.1.70 has been allocated for 3600 seconds");
    assert_eq!(s(&e, "event.code"), "DHCP4_LEASE_ALLOC");
    assert_eq!(ip(&e, "client.ip"), "192.168.1.70");
    assert_eq!(s(&e, "client.mac"), "00:11:22:33:44:66");
    assert!(e.get("host.hostname").is_none());
}

#[test]
fn mail_servers() {
    let e = parse("Nov 23 10:11:00 mx postfix/smtpd[100]: connect from unknown[203.0.113.20]");
    assert_eq!(e.dataset, "mail");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.20");
    let e = parse("Nov 23 10:11:01 mx postfix/smtpd[100]: warning: unknown[203.0.113.20]: SASL LOGIN authentication failed: UGFzc3dvcmQ6");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(s(&e, "mamori.auth.method"), "LOGIN");
    let e = parse("Nov 23 10:11:02 mx postfix/smtpd[100]: NOQUEUE: reject: RCPT from unknown[203.0.113.20]: 554 5.7.1 <x@example.net>: Relay access denied; from=<a@spam.example> to=<x@example.net> proto=ESMTP helo=<spam>");
    assert_eq!(s(&e, "event.action"), "reject");
    assert_eq!(s(&e, "email.from.address"), "a@spam.example");
    let e = parse("Nov 23 10:11:03 mx postfix/qmgr[101]: 4F1A2B3C4D: from=<alice@example.jp>, size=2048, nrcpt=1 (queue active)");
    assert_eq!(s(&e, "email.local_id"), "4F1A2B3C4D");
    assert_eq!(i(&e, "mamori.mail.size"), 2048);
    let e = parse("Nov 23 10:11:04 mx postfix/smtp[102]: 4F1A2B3C4D: to=<bob@example.com>, relay=mx.example.com[93.184.216.34]:25, delay=1.2, dsn=2.0.0, status=sent (250 OK)");
    assert_eq!(s(&e, "email.to.address"), "bob@example.com");
    assert_eq!(s(&e, "event.outcome"), "success");
    assert_eq!(ip(&e, "destination.ip"), "93.184.216.34");
    let e = parse("Nov 23 10:11:05 mx dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.168.1.30, lip=192.168.1.1, mpid=3000, TLS, session=<abc>");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(s(&e, "event.outcome"), "success");
    assert_eq!(s(&e, "network.protocol"), "imap");
    let e = parse("Nov 23 10:11:06 mx dovecot: pop3-login: Disconnected (auth failed, 3 attempts in 15 secs): user=<bob>, method=PLAIN, rip=203.0.113.21, lip=192.168.1.1, session=<x>");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.21");
    let e = parse("2026-11-23 10:11:07 1tABCd-000123-AB <= alice@example.jp H=mail.example.jp (helo.example.jp) [203.0.113.22] P=esmtps S=3000 id=m1@example.jp");
    assert_eq!(s(&e, "event.module"), "exim");
    assert_eq!(s(&e, "email.local_id"), "1tABCd-000123-AB");
    assert_eq!(s(&e, "email.from.address"), "alice@example.jp");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.22");
    let e = parse(
        "2026-11-23 10:11:08 1tABCd-000123-AB ** bad@example.org R=dnslookup: Unrouteable address",
    );
    assert_eq!(s(&e, "event.action"), "bounced");
    let e = parse("2026-11-23 10:11:09 login authenticator failed for (x) [203.0.113.23]: 535 Incorrect authentication data (set_id=alice)");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(s(&e, "event.outcome"), "failure");
}

#[test]
fn vpn_servers() {
    let e = parse("Nov 23 10:12:00 vpn openvpn[700]: 203.0.113.30:51000 [alice] Peer Connection Initiated with [AF_INET]203.0.113.30:51000");
    assert_eq!(e.dataset, "vpn");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.30");
    assert_eq!(s(&e, "event.outcome"), "success");
    let e = parse("Nov 23 10:12:01 vpn openvpn[700]: 203.0.113.31:51001 TLS Auth Error: Auth Username/Password verification failed for peer");
    assert_eq!(s(&e, "event.outcome"), "failure");
    let e = parse(
        "Nov 23 10:12:02 vpn openvpn[700]: 203.0.113.32:51002 TLS Error: TLS handshake failed",
    );
    assert_eq!(s(&e, "event.action"), "tls-error");
    let e = parse("Nov 23 10:12:03 vpn charon: 10[IKE] IKE_SA rw[3] established between 198.51.100.1[vpn.example.jp]...203.0.113.33[alice@example.jp]");
    assert_eq!(s(&e, "event.module"), "strongswan");
    assert_eq!(s(&e, "user.name"), "alice@example.jp");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.33");
    let e = parse("Nov 23 10:12:04 vpn charon: 12[IKE] authentication of 'bob' with EAP failed");
    assert_eq!(s(&e, "user.name"), "bob");
    assert_eq!(s(&e, "event.outcome"), "failure");
}

#[test]
fn ftp_servers() {
    let e = parse("Nov 23 10:13:00 ftp vsftpd[1]: [alice] OK LOGIN: Client \"192.168.1.40\"");
    assert_eq!(e.dataset, "ftp");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(s(&e, "event.outcome"), "success");
    let e = parse(
        "Mon Nov 23 10:13:01 2026 [pid 4321] [bob] FAIL LOGIN: Client \"::ffff:203.0.113.40\"",
    );
    assert_eq!(ip(&e, "source.ip"), "203.0.113.40");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(i(&e, "process.pid"), 4321);
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 13, 1, 0).unwrap()
    );
    let e = parse("Mon Nov 23 10:13:02 2026 [pid 4322] [alice] OK UPLOAD: Client \"192.168.1.40\", \"/home/alice/report.pdf\", 204800 bytes, 512.00Kbyte/sec");
    assert_eq!(s(&e, "file.path"), "/home/alice/report.pdf");
    assert_eq!(i(&e, "file.size"), 204800);
    let e = parse("Nov 23 10:13:03 ftp proftpd[55]: ftp.example.jp (203.0.113.41[203.0.113.41]) - USER carol (Login failed): Incorrect password");
    assert_eq!(s(&e, "user.name"), "carol");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.41");
}

#[test]
fn suricata_eve() {
    let e = parse(
        r#"{"timestamp":"2026-11-23T10:14:00.123456+0900","flow_id":1234,"in_iface":"eth0","event_type":"alert","src_ip":"203.0.113.50","src_port":51000,"dest_ip":"192.168.1.5","dest_port":22,"proto":"TCP","app_proto":"ssh","alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}"#,
    );
    assert_eq!(e.dataset, "suricata");
    assert_eq!(e.kind, mamori_core::EventKind::Alert);
    assert_eq!(s(&e, "rule.id"), "2001219");
    assert_eq!(s(&e, "rule.name"), "ET SCAN Potential SSH Scan");
    assert_eq!(i(&e, "event.severity"), 2);
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 14, 0, 123_456_000).unwrap()
    );
    let e = parse(
        r#"{"timestamp":"2026-11-23T01:14:01Z","event_type":"dns","src_ip":"192.168.1.5","dest_ip":"8.8.8.8","proto":"UDP","dns":{"type":"query","id":1,"rrname":"example.jp","rrtype":"A"}}"#,
    );
    assert_eq!(s(&e, "dns.question.name"), "example.jp");
    let e = parse(
        r#"{"timestamp":"2026-11-23T01:14:02Z","event_type":"http","src_ip":"192.168.1.5","dest_ip":"93.184.216.34","http":{"hostname":"example.jp","url":"/a","http_method":"GET","status":200,"http_user_agent":"curl"}}"#,
    );
    assert_eq!(i(&e, "http.response.status_code"), 200);
    let e = parse(
        r#"{"timestamp":"2026-11-23T01:14:03Z","event_type":"tls","tls":{"sni":"example.jp","version":"TLS 1.3","ja3":{"hash":"abc"}}}"#,
    );
    assert_eq!(s(&e, "tls.client.server_name"), "example.jp");
    assert_eq!(s(&e, "tls.version"), "1.3");
    assert_eq!(s(&e, "tls.client.ja3"), "abc");
    let e = parse(
        r#"{"timestamp":"2026-11-23T01:14:04Z","event_type":"flow","flow":{"bytes_toserver":100,"bytes_toclient":200,"state":"closed"}}"#,
    );
    assert_eq!(i(&e, "destination.bytes"), 200);
    let e = parse(
        r#"{"timestamp":"2026-11-23T01:14:05Z","event_type":"fileinfo","fileinfo":{"filename":"/x.exe","size":10,"sha256":"ff"}}"#,
    );
    assert_eq!(s(&e, "file.name"), "/x.exe");
    let e = parse(
        r#"{"timestamp":"2026-11-23T01:14:06Z","event_type":"anomaly","anomaly":{"type":"decode","event":"ipv4.trunc_pkt"}}"#,
    );
    assert_eq!(s(&e, "event.reason"), "ipv4.trunc_pkt");
}

#[test]
fn zeek_tsv_header_drives_columns() {
    let mut p = LogParser::default();
    let c = ctx("conn.log", None);
    for h in [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        "#path\tconn",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\ttunnel_parents",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tset[string]",
    ] {
        assert!(p.parse(h.as_bytes(), &c).is_none(), "{h}");
    }
    let e = p
        .parse(b"1795395900.500000\tCabc123\t192.168.1.5\t51000\t93.184.216.34\t443\ttcp\tssl\t1.250000\t100\t2000\tSF\t(empty)", &c)
        .unwrap();
    assert_eq!(e.dataset, "zeek.conn");
    assert_eq!(e.timestamp, Timestamp::from_unix_millis(1_795_395_900_500));
    assert_eq!(ip(&e, "source.ip"), "192.168.1.5");
    assert_eq!(i(&e, "destination.port"), 443);
    assert_eq!(s(&e, "network.protocol"), "ssl");
    assert_eq!(i(&e, "event.duration"), 1_250_000_000);
    assert_eq!(i(&e, "destination.bytes"), 2000);
    assert_eq!(s(&e, "mamori.flow.state"), "SF");
    // A line with the wrong column count is partial and counted.
    let x = p.explain_line(b"1795395900.5\tCx\t1.2.3.4", &c);
    assert_eq!(x.status, LineStatus::Partial("column_count_mismatch"));
    assert_eq!(
        p.counters().get("parse_error.zeek.column_count_mismatch"),
        1
    );
}

#[test]
fn zeek_json() {
    let mut p = LogParser::default();
    let e = p.parse_line(br#"{"ts":1795395900.1,"uid":"C1","id.orig_h":"192.168.1.5","id.orig_p":5353,"id.resp_h":"192.168.1.1","id.resp_p":53,"proto":"udp","query":"example.jp","qtype_name":"A","rcode_name":"NOERROR","answers":["93.184.216.34"]}"#, &ctx("dns.json", Some("zeek.dns")));
    assert_eq!(e.dataset, "zeek.dns");
    assert_eq!(s(&e, "dns.question.name"), "example.jp");
    assert_eq!(s(&e, "dns.response_code"), "NOERROR");
    let e = p.parse_line(br#"{"ts":1795395900.2,"uid":"C2","note":"Scan::Port_Scan","msg":"192.168.1.9 scanned 20 ports","src":"192.168.1.9"}"#, &ctx("notice.json", None));
    assert_eq!(e.dataset, "zeek.notice");
    assert_eq!(s(&e, "rule.name"), "Scan::Port_Scan");
}

#[test]
fn cef_and_leef() {
    let e = parse(
        r"<134>Nov 23 10:15:00 sensor CEF:0|Trend Micro|Deep Security Agent|20.0|4000000|Eicar\|Test|8|src=203.0.113.60 spt=4444 dst=192.168.1.6 dpt=80 suser=alice act=blocked msg=file quarantined ok cs1Label=Policy cs1=Default Policy rt=1795395900000",
    );
    assert_eq!(e.dataset, "cef");
    assert_eq!(s(&e, "observer.vendor"), "Trend Micro");
    assert_eq!(s(&e, "rule.name"), "Eicar|Test");
    assert_eq!(i(&e, "event.severity"), 3);
    assert_eq!(ip(&e, "source.ip"), "203.0.113.60");
    assert_eq!(s(&e, "message"), "file quarantined ok");
    assert_eq!(s(&e, "mamori.cef.ext.Policy"), "Default Policy");
    assert_eq!(e.timestamp, Timestamp::from_unix_millis(1_795_395_900_000));
    let e = parse("LEEF:1.0|Vendor|Product|1.0|LoginFailed|src=203.0.113.61\tdst=192.168.1.7\tusrName=bob\tsev=7\tproto=6");
    assert_eq!(s(&e, "event.code"), "LoginFailed");
    assert_eq!(s(&e, "user.name"), "bob");
    assert_eq!(s(&e, "network.transport"), "tcp");
    let e = parse("LEEF:2.0|Vendor|Product|2.0|Ev|^|src=203.0.113.62^dstPort=443^usrName=carol");
    assert_eq!(i(&e, "destination.port"), 443);
    assert_eq!(ip(&e, "source.ip"), "203.0.113.62");
}

#[test]
fn generic_json_with_field_map() {
    let cfg = LogParserConfig {
        json_field_map: vec![
            ("client.addr".into(), "source.ip".into()),
            ("/login/user".into(), "user.name".into()),
            ("when".into(), "@timestamp".into()),
        ],
        ..Default::default()
    };
    let mut p = LogParser::new(cfg).unwrap();
    let e = p.parse_line(br#"{"when":"2026-11-23T10:16:00+09:00","client":{"addr":"192.168.1.8"},"login":{"user":"dave"}}"#, &ctx("app", None));
    assert_eq!(e.dataset, "json");
    assert_eq!(ip(&e, "source.ip"), "192.168.1.8");
    assert_eq!(s(&e, "user.name"), "dave");
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 16, 0, 0).unwrap()
    );
    // ECS-shaped documents keep their names, without a map.
    let mut p = LogParser::default();
    let e = p.parse_line(br#"{"@timestamp":"2026-11-23T01:16:01Z","event":{"dataset":"custom"},"source":{"ip":"10.1.1.1"}}"#, &ctx("app", None));
    assert_eq!(e.dataset, "custom");
    assert_eq!(ip(&e, "source.ip"), "10.1.1.1");
}

#[test]
fn clamav_lines() {
    let e = parse(
        "Nov 23 10:17:00 av clamd[300]: /home/alice/Downloads/x.zip: Win.Test.EICAR_HDB-1 FOUND",
    );
    assert_eq!(e.dataset, "clamav");
    assert_eq!(s(&e, "file.path"), "/home/alice/Downloads/x.zip");
    assert_eq!(s(&e, "rule.name"), "Win.Test.EICAR_HDB-1");
    let e = parse("Mon Nov 23 10:17:01 2026 -> /srv/share/a.doc: Doc.Dropper.Agent-1 FOUND");
    assert_eq!(s(&e, "file.path"), "/srv/share/a.doc");
    let e = parse("Nov 23 10:17:02 av freshclam[301]: daily.cvd updated (version: 27100, sigs: 2000, f-level: 90, builder: x)");
    assert_eq!(s(&e, "mamori.clamav.version"), "27100");
}

#[test]
fn windows_winlogbeat_nxlog_snare() {
    let e = parse(
        r#"{"@timestamp":"2026-11-23T01:18:00.000Z","winlog":{"channel":"Security","event_id":4625,"provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"DC01.corp.example","event_data":{"TargetUserName":"administrator","TargetDomainName":"CORP","LogonType":"3","IpAddress":"203.0.113.70","IpPort":"51000","Status":"0xc000006d","SubStatus":"0xc000006a"}}}"#,
    );
    assert_eq!(e.dataset, "windows.security");
    assert_eq!(s(&e, "event.code"), "4625");
    assert_eq!(s(&e, "event.outcome"), "failure");
    assert_eq!(s(&e, "user.name"), "administrator");
    assert_eq!(s(&e, "user.domain"), "CORP");
    assert_eq!(s(&e, "winlog.logon.type"), "Network");
    assert_eq!(ip(&e, "source.ip"), "203.0.113.70");
    assert_eq!(i(&e, "source.port"), 51000);
    assert_eq!(s(&e, "host.name"), "DC01.corp.example");
    assert_eq!(s(&e, "winlog.event_data.SubStatus"), "0xc000006a");

    let e = parse(
        r#"{"EventTime":"2026-11-23 10:18:01","Hostname":"WS01","EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami","ProcessId":"4242","ParentImage":"C:\\Windows\\explorer.exe","ParentProcessId":"1000","User":"CORP\\alice","Hashes":"SHA256=AABB,MD5=CCDD"}"#,
    );
    assert_eq!(e.dataset, "windows.sysmon");
    assert_eq!(s(&e, "process.name"), "cmd.exe");
    assert_eq!(s(&e, "process.command_line"), "cmd.exe /c whoami");
    assert_eq!(i(&e, "process.pid"), 4242);
    assert_eq!(s(&e, "process.parent.name"), "explorer.exe");
    assert_eq!(s(&e, "user.name"), "alice");
    assert_eq!(s(&e, "user.domain"), "CORP");
    assert_eq!(s(&e, "process.hash.sha256"), "aabb");
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 18, 1, 0).unwrap()
    );

    let e = parse("<13>Nov 23 10:18:02 WS02 MSWinEventLog\t1\tSecurity\t123\tMon Nov 23 10:18:02 2026\t4624\tMicrosoft-Windows-Security-Auditing\tN/A\tN/A\tSuccess Audit\tWS02\tLogon\t\tAn account was successfully logged on.\t99");
    assert_eq!(e.dataset, "windows.security");
    assert_eq!(s(&e, "event.code"), "4624");
    assert_eq!(s(&e, "event.outcome"), "success");
    assert_eq!(s(&e, "winlog.channel"), "Security");
}

#[test]
fn windows_event_mappings() {
    use mamori_logparse::parsers::windows::{apply_record, record_from_evtx_json};
    let rec = |id: u32, channel: &str, data: serde_json::Value| {
        let j = serde_json::json!({"Event": {"System": {
            "Provider": {"#attributes": {"Name": "P"}},
            "EventID": id, "Channel": channel, "Computer": "H1",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-11-23T01:19:00.000000Z"}},
            "EventRecordID": 7
        }, "EventData": data}});
        let r = record_from_evtx_json(&j).unwrap();
        let mut ev = Event::new(Timestamp::EPOCH, "x");
        apply_record(&r, &mut ev);
        ev
    };
    let e = rec(
        4688,
        "Security",
        serde_json::json!({"SubjectUserName":"alice","NewProcessName":"C:\\Windows\\System32\\whoami.exe","NewProcessId":"0x1a4","CommandLine":"whoami /all","ParentProcessName":"C:\\Windows\\System32\\cmd.exe","ProcessId":"0x10"}),
    );
    assert_eq!(i(&e, "process.pid"), 0x1a4);
    assert_eq!(i(&e, "process.parent.pid"), 0x10);
    assert_eq!(s(&e, "process.name"), "whoami.exe");
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 19, 0, 0).unwrap()
    );
    assert_eq!(i(&e, "winlog.record_id"), 7);
    let e = rec(
        4720,
        "Security",
        serde_json::json!({"SubjectUserName":"admin","TargetUserName":"newuser"}),
    );
    assert_eq!(s(&e, "event.action"), "added-user-account");
    assert_eq!(s(&e, "user.target.name"), "newuser");
    let e = rec(
        4732,
        "Security",
        serde_json::json!({"SubjectUserName":"admin","TargetUserName":"Administrators","MemberName":"CN=bob"}),
    );
    assert_eq!(s(&e, "group.name"), "Administrators");
    let e = rec(
        4768,
        "Security",
        serde_json::json!({"TargetUserName":"bob","IpAddress":"::ffff:192.168.1.9","Status":"0x0"}),
    );
    assert_eq!(ip(&e, "source.ip"), "192.168.1.9");
    assert_eq!(s(&e, "event.outcome"), "success");
    let e = rec(
        4771,
        "Security",
        serde_json::json!({"TargetUserName":"bob","Status":"0x18"}),
    );
    assert_eq!(s(&e, "event.outcome"), "failure");
    let e = rec(
        4776,
        "Security",
        serde_json::json!({"TargetUserName":"carol","Workstation":"WS9","Status":"0xc000006a"}),
    );
    assert_eq!(s(&e, "event.outcome"), "failure");
    let e = rec(
        7045,
        "System",
        serde_json::json!({"ServiceName":"evilsvc","ImagePath":"C:\\x.exe"}),
    );
    assert_eq!(e.dataset, "windows.system");
    assert_eq!(s(&e, "service.name"), "evilsvc");
    let e = rec(
        4104,
        "Microsoft-Windows-PowerShell/Operational",
        serde_json::json!({"ScriptBlockText":"IEX (New-Object Net.WebClient)","ScriptBlockId":"g1"}),
    );
    assert_eq!(e.dataset, "windows.powershell");
    assert_eq!(
        s(&e, "powershell.file.script_block_text"),
        "IEX (New-Object Net.WebClient)"
    );
    let e = rec(
        3,
        "Microsoft-Windows-Sysmon/Operational",
        serde_json::json!({"Image":"C:\\a.exe","SourceIp":"192.168.1.2","SourcePort":"5000","DestinationIp":"203.0.113.1","DestinationPort":"443","Protocol":"tcp","Initiated":"true"}),
    );
    assert_eq!(i(&e, "destination.port"), 443);
    let e = rec(
        22,
        "Microsoft-Windows-Sysmon/Operational",
        serde_json::json!({"QueryName":"evil.example","QueryResults":"::ffff:203.0.113.2;"}),
    );
    assert_eq!(s(&e, "dns.question.name"), "evil.example");
    let e = rec(
        11,
        "Microsoft-Windows-Sysmon/Operational",
        serde_json::json!({"TargetFilename":"C:\\Users\\a\\x.ps1"}),
    );
    assert_eq!(s(&e, "file.name"), "x.ps1");
    // 1102 carries its data in UserData.
    let j = serde_json::json!({"Event": {"System": {"EventID": 1102, "Channel": "Security", "Computer": "H"}, "UserData": {"LogFileCleared": {"SubjectUserName": "mallory"}}}});
    let r = record_from_evtx_json(&j).unwrap();
    let mut e = Event::new(Timestamp::EPOCH, "x");
    apply_record(&r, &mut e);
    assert_eq!(s(&e, "event.action"), "audit-log-cleared");
    assert_eq!(s(&e, "user.name"), "mallory");
}

#[test]
fn unknown_lines_are_raw_with_header() {
    let mut p = LogParser::default();
    let x = p.explain_line(
        b"<30>Nov 23 10:20:00 box myapp[5]: something happened",
        &ctx("box", None),
    );
    assert_eq!(x.status, LineStatus::Raw);
    assert_eq!(x.event.dataset, "syslog");
    assert_eq!(x.event.get_str("event.outcome"), Some("unknown"));
    assert_eq!(x.event.get_str("process.name"), Some("myapp"));
    assert_eq!(x.event.get_str("message"), Some("something happened"));
    assert_eq!(x.event.get_str("host.hostname"), Some("box"));
    assert_eq!(p.counters().get("unparsed"), 1);
}

#[test]
fn disabled_parsers_and_bad_config() {
    let cfg = LogParserConfig {
        enabled: Some(vec!["squid".into()]),
        ..Default::default()
    };
    let mut p = LogParser::new(cfg).unwrap();
    let x = p.explain_line(
        b"Nov 23 10:00:01 gw sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2",
        &ctx("s", None),
    );
    assert_eq!(x.status, LineStatus::Raw);
    let bad = LogParser::new(LogParserConfig {
        enabled: Some(vec!["nope".into()]),
        ..Default::default()
    });
    assert!(bad.is_err());
    let bad = LogParser::new(LogParserConfig {
        default_zone: "Nowhere/Zone".into(),
        ..Default::default()
    });
    assert_eq!(
        bad.unwrap_err().to_string(),
        "unknown time zone \"Nowhere/Zone\""
    );
}

#[test]
fn per_source_zone_and_skew() {
    let mut cfg = LogParserConfig::default();
    cfg.source_zones
        .insert("berlin".into(), "Europe/Berlin".into());
    let mut p = LogParser::new(cfg).unwrap();
    let e = p.parse_line(
        b"Nov 23 02:00:00 h sshd[1]: Connection closed by 10.0.0.1 port 22",
        &ctx("berlin", None),
    );
    // 02:00 CET = 01:00 UTC; received 03:00 UTC → 2 h skew.
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 11, 23, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(e.get_i64("mamori.log.clock_skew_ms"), Some(7_200_000));
    assert_eq!(p.skew().get("berlin").map(|s| s.last_ms), Some(7_200_000));
    // No source time: @timestamp = received, no skew.
    let e = p.parse_line(b"hello world", &ctx("x", None));
    assert_eq!(e.timestamp, recv());
    assert!(e.get("mamori.log.clock_skew_ms").is_none());
    assert_eq!(
        e.get("event.ingested").as_deref(),
        Some(&Value::Time(recv()))
    );
}

#[test]
fn year_inferred_across_new_year_in_parser() {
    let mut p = LogParser::default();
    let received = mamori_logparse::Zone::get("Asia/Tokyo")
        .unwrap()
        .civil(2027, 1, 1, 0, 0, 3, 0)
        .unwrap();
    let c = LineContext {
        received,
        source: "s",
        source_ip: None,
        hint: None,
    };
    let e = p.parse_line(
        b"Dec 31 23:59:59 h sshd[1]: Connection closed by 10.0.0.1 port 22",
        &c,
    );
    assert_eq!(
        e.timestamp,
        Timestamp::from_civil(2026, 12, 31, 14, 59, 59, 0).unwrap()
    );
}

#[test]
fn catalog_lists_every_parser_with_descriptions() {
    let names: Vec<_> = mamori_logparse::Catalog::parsers()
        .map(|p| p.name)
        .collect();
    for n in [
        "sshd",
        "sudo",
        "su",
        "pam",
        "systemd-logind",
        "iptables",
        "filterlog",
        "fortigate",
        "paloalto",
        "cisco-asa",
        "squid",
        "http-access",
        "http-error",
        "bind",
        "dnsmasq",
        "unbound",
        "dhcpd",
        "kea",
        "postfix",
        "dovecot",
        "exim",
        "openvpn",
        "strongswan",
        "vsftpd",
        "proftpd",
        "suricata",
        "json",
        "zeek",
        "cef",
        "leef",
        "clamav",
        "windows",
        "snare",
    ] {
        assert!(names.contains(&n), "{n} missing");
    }
    for p in mamori_logparse::Catalog::parsers() {
        assert!(
            !p.description_en.is_empty() && !p.description_ja.is_empty() && !p.fields.is_empty(),
            "{}",
            p.name
        );
    }
}
