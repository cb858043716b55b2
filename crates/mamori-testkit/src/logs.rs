//! Log line builders: sshd, sudo, su, iptables/ufw kernel lines, Squid native access.log,
//! BIND query log, dnsmasq (queries and DHCP), Postfix, Apache/nginx combined — as RFC 3164
//! syslog lines (optionally with `<PRI>`) or as file lines — and [`LogMix`], a deterministic
//! endless mix for the log benchmark.
//!
//! Message builders return the message part; [`Syslog`] adds the header. Without
//! [`Syslog::pri`] the line is what rsyslog writes to files such as `/var/log/auth.log`;
//! with it, the line is what a sender puts on the wire. Squid, BIND `querylog`, and
//! Apache/nginx lines have their own file formats ([`squid_access`],
//! [`bind::query_file_line`], [`AccessLog::line`]).
//!
//! ```
//! use mamori_core::Timestamp;
//! use mamori_testkit::logs::{sshd, Syslog, facility};
//!
//! let ts = Timestamp::parse_rfc3339("2026-11-02T09:05:03Z").unwrap();
//! let msg = sshd::failed_password("root", "203.0.113.9".parse().unwrap(), 51234, false);
//! let line = Syslog::new(ts, "srv-app-01", "sshd").pid(2211).pri(facility::AUTHPRIV, 6).line(&msg);
//! assert_eq!(
//!     line,
//!     "<86>Nov  2 09:05:03 srv-app-01 sshd[2211]: Failed password for root from 203.0.113.9 port 51234 ssh2"
//! );
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use mamori_core::{Duration, Timestamp};

use crate::packet::Mac;
use crate::rng::SplitMix64;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Syslog facilities (RFC 5424 numbering).
pub mod facility {
    /// kernel messages.
    pub const KERN: u8 = 0;
    /// user-level messages.
    pub const USER: u8 = 1;
    /// mail system.
    pub const MAIL: u8 = 2;
    /// system daemons.
    pub const DAEMON: u8 = 3;
    /// security/authorization messages.
    pub const AUTH: u8 = 4;
    /// security/authorization messages (private).
    pub const AUTHPRIV: u8 = 10;
    /// local use 0.
    pub const LOCAL0: u8 = 16;
}

/// Syslog severities.
pub mod severity {
    /// Error.
    pub const ERR: u8 = 3;
    /// Warning.
    pub const WARNING: u8 = 4;
    /// Notice.
    pub const NOTICE: u8 = 5;
    /// Informational.
    pub const INFO: u8 = 6;
}

fn civil(ts: Timestamp, offset_secs: i32) -> (i32, u32, u32, u32, u32, u32, u32) {
    (ts + Duration::from_secs(i64::from(offset_secs))).to_civil()
}

fn month_name(m: u32) -> &'static str {
    MONTHS
        .get((m as usize).saturating_sub(1))
        .copied()
        .unwrap_or("Jan")
}

/// The RFC 3164 timestamp `Mmm dd hh:mm:ss` (day padded with a space).
pub fn rfc3164_time(ts: Timestamp, offset_secs: i32) -> String {
    let (_, m, d, h, mi, s, _) = civil(ts, offset_secs);
    format!("{} {d:>2} {h:02}:{mi:02}:{s:02}", month_name(m))
}

/// An RFC 3164 syslog header: time, host, tag and optional PID and `<PRI>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syslog {
    ts: Timestamp,
    host: String,
    app: String,
    pid: Option<u32>,
    pri: Option<u8>,
    offset_secs: i32,
}

impl Syslog {
    /// A header for `app` on `host` at `ts` (UTC, no PID, no PRI).
    pub fn new(ts: Timestamp, host: &str, app: &str) -> Syslog {
        Syslog {
            ts,
            host: host.to_owned(),
            app: app.to_owned(),
            pid: None,
            pri: None,
            offset_secs: 0,
        }
    }

    /// Add `[pid]` to the tag.
    pub fn pid(mut self, pid: u32) -> Syslog {
        self.pid = Some(pid);
        self
    }

    /// Prefix `<PRI>` computed from facility and severity (as sent on the wire).
    pub fn pri(mut self, facility: u8, severity: u8) -> Syslog {
        self.pri = Some(facility.min(23) * 8 + severity.min(7));
        self
    }

    /// Render local time at this offset from UTC (e.g. 32 400 for JST).
    pub fn offset(mut self, secs: i32) -> Syslog {
        self.offset_secs = secs;
        self
    }

    /// The full line for `msg`.
    pub fn line(&self, msg: &str) -> String {
        let mut s = String::with_capacity(48 + msg.len());
        if let Some(p) = self.pri {
            let _ = write!(s, "<{p}>");
        }
        s.push_str(&rfc3164_time(self.ts, self.offset_secs));
        s.push(' ');
        s.push_str(&self.host);
        s.push(' ');
        s.push_str(&self.app);
        if let Some(pid) = self.pid {
            let _ = write!(s, "[{pid}]");
        }
        s.push_str(": ");
        s.push_str(msg);
        s
    }
}

/// OpenSSH sshd messages.
pub mod sshd {
    use std::net::IpAddr;

    /// `Accepted password for USER from IP port PORT ssh2`.
    pub fn accepted_password(user: &str, ip: IpAddr, port: u16) -> String {
        format!("Accepted password for {user} from {ip} port {port} ssh2")
    }

    /// `Accepted publickey for USER from IP port PORT ssh2: TYPE SHA256:FP`.
    pub fn accepted_publickey(
        user: &str,
        ip: IpAddr,
        port: u16,
        key_type: &str,
        fingerprint: &str,
    ) -> String {
        format!("Accepted publickey for {user} from {ip} port {port} ssh2: {key_type} SHA256:{fingerprint}")
    }

    /// `Failed password for [invalid user ]USER from IP port PORT ssh2`.
    pub fn failed_password(user: &str, ip: IpAddr, port: u16, invalid_user: bool) -> String {
        let inv = if invalid_user { "invalid user " } else { "" };
        format!("Failed password for {inv}{user} from {ip} port {port} ssh2")
    }

    /// `Invalid user USER from IP port PORT`.
    pub fn invalid_user(user: &str, ip: IpAddr, port: u16) -> String {
        format!("Invalid user {user} from {ip} port {port}")
    }

    /// `Disconnected from [invalid ]user USER IP port PORT [preauth]`.
    pub fn disconnected_preauth(user: &str, ip: IpAddr, port: u16, invalid_user: bool) -> String {
        let inv = if invalid_user {
            "invalid "
        } else {
            "authenticating "
        };
        format!("Disconnected from {inv}user {user} {ip} port {port} [preauth]")
    }

    /// `Connection closed by IP port PORT [preauth]`.
    pub fn connection_closed_preauth(ip: IpAddr, port: u16) -> String {
        format!("Connection closed by {ip} port {port} [preauth]")
    }

    /// `Received disconnect from IP port PORT:11: disconnected by user`.
    pub fn received_disconnect(ip: IpAddr, port: u16) -> String {
        format!("Received disconnect from {ip} port {port}:11: disconnected by user")
    }

    /// `Disconnected from user USER IP port PORT` (after a session).
    pub fn disconnected(user: &str, ip: IpAddr, port: u16) -> String {
        format!("Disconnected from user {user} {ip} port {port}")
    }

    /// `pam_unix(sshd:session): session opened for user USER(uid=UID) by (uid=0)`.
    pub fn session_opened(user: &str, uid: u32) -> String {
        format!("pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)")
    }

    /// `pam_unix(sshd:session): session closed for user USER`.
    pub fn session_closed(user: &str) -> String {
        format!("pam_unix(sshd:session): session closed for user {user}")
    }
}

/// sudo messages.
pub mod sudo {
    /// `USER : TTY=tty ; PWD=pwd ; USER=target ; COMMAND=cmd`.
    pub fn command(user: &str, tty: &str, pwd: &str, target: &str, cmd: &str) -> String {
        format!("{user:>8} : TTY={tty} ; PWD={pwd} ; USER={target} ; COMMAND={cmd}")
    }

    /// `USER : N incorrect password attempts ; TTY=… ; COMMAND=…`.
    pub fn incorrect_password(
        user: &str,
        attempts: u32,
        tty: &str,
        pwd: &str,
        target: &str,
        cmd: &str,
    ) -> String {
        let s = if attempts == 1 { "" } else { "s" };
        format!("{user:>8} : {attempts} incorrect password attempt{s} ; TTY={tty} ; PWD={pwd} ; USER={target} ; COMMAND={cmd}")
    }

    /// `USER : user NOT in sudoers ; TTY=… ; COMMAND=…`.
    pub fn not_in_sudoers(user: &str, tty: &str, pwd: &str, cmd: &str) -> String {
        format!(
            "{user:>8} : user NOT in sudoers ; TTY={tty} ; PWD={pwd} ; USER=root ; COMMAND={cmd}"
        )
    }

    /// `pam_unix(sudo:session): session opened for user root(uid=0) by USER(uid=UID)`.
    pub fn session_opened(user: &str, uid: u32) -> String {
        format!("pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={uid})")
    }
}

/// su messages.
pub mod su {
    /// `(to TARGET) USER on TTY`.
    pub fn success(user: &str, target: &str, tty: &str) -> String {
        format!("(to {target}) {user} on {tty}")
    }

    /// `FAILED SU (to TARGET) USER on TTY`.
    pub fn failure(user: &str, target: &str, tty: &str) -> String {
        format!("FAILED SU (to {target}) {user} on {tty}")
    }

    /// `pam_unix(su:auth): authentication failure; …`.
    pub fn pam_failure(user: &str, uid: u32, target: &str, tty: &str) -> String {
        format!(
            "pam_unix(su:auth): authentication failure; logname={user} uid={uid} euid=0 tty={tty} ruser={user} rhost=  user={target}"
        )
    }
}

/// A packet as logged by an iptables `LOG` target or ufw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwPacket {
    /// Log prefix, e.g. `[UFW BLOCK]` or `IPTABLES-DROP:`.
    pub prefix: String,
    /// Input interface (empty for locally generated).
    pub in_if: String,
    /// Output interface (empty for input packets).
    pub out_if: String,
    /// Source MAC, destination MAC (logged as `MAC=dst:src:type`).
    pub macs: Option<(Mac, Mac)>,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// `TCP`, `UDP` or `ICMP`.
    pub proto: String,
    /// Source port (TCP/UDP).
    pub sport: u16,
    /// Destination port (TCP/UDP).
    pub dport: u16,
    /// IP total length.
    pub len: u16,
    /// TTL.
    pub ttl: u8,
    /// IP id.
    pub id: u16,
    /// SYN flag (TCP).
    pub syn: bool,
}

impl FwPacket {
    /// A ufw block of a TCP SYN from `src:sport` to `dst:dport` on `eth0`.
    pub fn ufw_block(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> FwPacket {
        FwPacket {
            prefix: "[UFW BLOCK]".to_owned(),
            in_if: "eth0".to_owned(),
            out_if: String::new(),
            macs: Some((Mac::local(0x0A00_0001), Mac::local(0x0A00_0002))),
            src,
            dst,
            proto: "TCP".to_owned(),
            sport,
            dport,
            len: 60,
            ttl: 51,
            id: 54_321,
            syn: true,
        }
    }

    /// The kernel message (without the syslog header): `[uptime] PREFIX IN=… PROTO=…`.
    pub fn kernel_message(&self, uptime_secs: f64) -> String {
        let mut s = String::with_capacity(256);
        let _ = write!(
            s,
            "[{uptime_secs:>12.6}] {} IN={} OUT={} ",
            self.prefix, self.in_if, self.out_if
        );
        if let Some((src, dst)) = self.macs {
            let et = if self.src.is_ipv4() { "08:00" } else { "86:dd" };
            let _ = write!(s, "MAC={dst}:{src}:{et} ");
        }
        let _ = write!(s, "SRC={} DST={} LEN={} ", self.src, self.dst, self.len);
        if self.src.is_ipv4() {
            let df = if self.proto == "TCP" { "DF " } else { "" };
            let _ = write!(s, "TOS=0x00 PREC=0x00 TTL={} ID={} {df}", self.ttl, self.id);
        } else {
            let _ = write!(s, "TC=0 HOPLIMIT={} FLOWLBL=0 ", self.ttl);
        }
        let _ = write!(s, "PROTO={}", self.proto);
        match self.proto.as_str() {
            "TCP" => {
                let _ = write!(
                    s,
                    " SPT={} DPT={} WINDOW=64240 RES=0x00 ",
                    self.sport, self.dport
                );
                if self.syn {
                    s.push_str("SYN ");
                } else {
                    s.push_str("ACK ");
                }
                s.push_str("URGP=0 ");
            }
            "UDP" => {
                let _ = write!(
                    s,
                    " SPT={} DPT={} LEN={} ",
                    self.sport,
                    self.dport,
                    self.len.saturating_sub(20)
                );
            }
            _ => {
                s.push_str(" TYPE=8 CODE=0 ID=1 SEQ=1 ");
            }
        }
        s
    }
}

/// A Squid native access.log line.
#[allow(clippy::too_many_arguments)] // reason: mirrors the fixed field list of the format
pub fn squid_access(
    ts: Timestamp,
    elapsed_ms: u32,
    client: IpAddr,
    code: &str,
    status: u16,
    bytes: u64,
    method: &str,
    url: &str,
    user: &str,
    hierarchy: &str,
    content_type: &str,
) -> String {
    format!(
        "{}.{:03} {elapsed_ms:>6} {client} {code}/{status:03} {bytes} {method} {url} {user} {hierarchy} {content_type}",
        ts.unix_secs(),
        ts.subsec_nanos() / 1_000_000
    )
}

/// BIND query log messages.
pub mod bind {
    use std::net::IpAddr;

    use mamori_core::Timestamp;

    use super::{civil, month_name};

    /// The message logged by `named` for a query (syslog form).
    pub fn query_message(
        client: IpAddr,
        port: u16,
        name: &str,
        qtype: &str,
        server: IpAddr,
    ) -> String {
        format!("client @0x7f3a2c01e168 {client}#{port} ({name}): query: {name} IN {qtype} +E(0)K ({server})")
    }

    /// The line in a `querylog` file channel: `02-Nov-2026 09:00:00.123 queries: info: …`.
    pub fn query_file_line(
        ts: Timestamp,
        client: IpAddr,
        port: u16,
        name: &str,
        qtype: &str,
        server: IpAddr,
    ) -> String {
        let (y, m, d, h, mi, s, ns) = civil(ts, 0);
        format!(
            "{d:02}-{}-{y:04} {h:02}:{mi:02}:{s:02}.{:03} queries: info: {}",
            month_name(m),
            ns / 1_000_000,
            query_message(client, port, name, qtype, server)
        )
    }
}

/// dnsmasq messages (DNS under tag `dnsmasq`, DHCP under `dnsmasq-dhcp`).
pub mod dnsmasq {
    use std::net::IpAddr;

    use crate::packet::Mac;

    /// `query[TYPE] NAME from CLIENT`.
    pub fn query(qtype: &str, name: &str, client: IpAddr) -> String {
        format!("query[{qtype}] {name} from {client}")
    }

    /// `forwarded NAME to UPSTREAM`.
    pub fn forwarded(name: &str, upstream: IpAddr) -> String {
        format!("forwarded {name} to {upstream}")
    }

    /// `reply NAME is ANSWER` (an address, `NXDOMAIN`, `<CNAME>` …).
    pub fn reply(name: &str, answer: &str) -> String {
        format!("reply {name} is {answer}")
    }

    /// `cached NAME is ANSWER`.
    pub fn cached(name: &str, answer: &str) -> String {
        format!("cached {name} is {answer}")
    }

    /// `DHCPDISCOVER(IFACE) MAC`.
    pub fn dhcp_discover(iface: &str, mac: Mac) -> String {
        format!("DHCPDISCOVER({iface}) {mac}")
    }

    /// `DHCPOFFER(IFACE) IP MAC`.
    pub fn dhcp_offer(iface: &str, ip: IpAddr, mac: Mac) -> String {
        format!("DHCPOFFER({iface}) {ip} {mac}")
    }

    /// `DHCPREQUEST(IFACE) IP MAC`.
    pub fn dhcp_request(iface: &str, ip: IpAddr, mac: Mac) -> String {
        format!("DHCPREQUEST({iface}) {ip} {mac}")
    }

    /// `DHCPACK(IFACE) IP MAC HOSTNAME`.
    pub fn dhcp_ack(iface: &str, ip: IpAddr, mac: Mac, hostname: &str) -> String {
        format!("DHCPACK({iface}) {ip} {mac} {hostname}")
    }
}

/// Postfix messages (tags `postfix/smtpd`, `postfix/qmgr`, `postfix/smtp`).
pub mod postfix {
    use std::net::IpAddr;

    /// `connect from HOST[IP]`.
    pub fn connect(host: &str, ip: IpAddr) -> String {
        format!("connect from {host}[{ip}]")
    }

    /// `QUEUEID: client=HOST[IP], sasl_method=M, sasl_username=U`.
    pub fn client_sasl(queue_id: &str, host: &str, ip: IpAddr, method: &str, user: &str) -> String {
        format!("{queue_id}: client={host}[{ip}], sasl_method={method}, sasl_username={user}")
    }

    /// `warning: HOST[IP]: SASL METHOD authentication failed: …`.
    pub fn sasl_failed(host: &str, ip: IpAddr, method: &str) -> String {
        format!("warning: {host}[{ip}]: SASL {method} authentication failed: UGFzc3dvcmQ6")
    }

    /// `QUEUEID: from=<FROM>, size=N, nrcpt=1 (queue active)`.
    pub fn qmgr_from(queue_id: &str, from: &str, size: u64) -> String {
        format!("{queue_id}: from=<{from}>, size={size}, nrcpt=1 (queue active)")
    }

    /// `QUEUEID: to=<TO>, relay=…, dsn=2.0.0, status=sent (…)`.
    pub fn smtp_sent(queue_id: &str, to: &str, relay: &str, relay_ip: IpAddr) -> String {
        format!(
            "{queue_id}: to=<{to}>, relay={relay}[{relay_ip}]:25, delay=0.42, delays=0.05/0.01/0.16/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7F1A2B3C4D)"
        )
    }

    /// `NOQUEUE: reject: RCPT from HOST[IP]: 554 5.7.1 <TO>: Relay access denied; …`.
    pub fn relay_denied(host: &str, ip: IpAddr, from: &str, to: &str, helo: &str) -> String {
        format!(
            "NOQUEUE: reject: RCPT from {host}[{ip}]: 554 5.7.1 <{to}>: Relay access denied; from=<{from}> to=<{to}> proto=ESMTP helo=<{helo}>"
        )
    }

    /// `disconnect from HOST[IP] …`.
    pub fn disconnect(host: &str, ip: IpAddr) -> String {
        format!("disconnect from {host}[{ip}] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6")
    }
}

/// One request in Apache/nginx "combined" log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    /// Request time.
    pub ts: Timestamp,
    /// Offset from UTC of the rendered time, seconds.
    pub offset_secs: i32,
    /// Client address.
    pub client: IpAddr,
    /// Authenticated user (`-` when none).
    pub user: String,
    /// Method.
    pub method: String,
    /// Request target.
    pub path: String,
    /// Protocol (`HTTP/1.1`).
    pub proto: String,
    /// Status code.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// Referer (`-` when none).
    pub referer: String,
    /// User agent.
    pub user_agent: String,
}

impl AccessLog {
    /// A GET of `path` answered with `status` and `bytes`.
    pub fn get(ts: Timestamp, client: IpAddr, path: &str, status: u16, bytes: u64) -> AccessLog {
        AccessLog {
            ts,
            offset_secs: 0,
            client,
            user: "-".to_owned(),
            method: "GET".to_owned(),
            path: path.to_owned(),
            proto: "HTTP/1.1".to_owned(),
            status,
            bytes,
            referer: "-".to_owned(),
            user_agent: crate::payload::http::DEFAULT_USER_AGENT.to_owned(),
        }
    }

    /// The combined-format line.
    pub fn line(&self) -> String {
        let (y, m, d, h, mi, s, _) = civil(self.ts, self.offset_secs);
        let sign = if self.offset_secs < 0 { '-' } else { '+' };
        let off = self.offset_secs.unsigned_abs();
        format!(
            "{} - {} [{d:02}/{}/{y:04}:{h:02}:{mi:02}:{s:02} {sign}{:02}{:02}] \"{} {} {}\" {} {} \"{}\" \"{}\"",
            self.client,
            self.user,
            month_name(m),
            off / 3600,
            (off % 3600) / 60,
            self.method,
            self.path,
            self.proto,
            self.status,
            self.bytes,
            self.referer,
            self.user_agent
        )
    }
}

/// Start time of [`LogMix`] (2026-11-02T09:00:00Z).
pub const LOGMIX_START: Timestamp = Timestamp::from_unix_secs(1_793_610_000);
/// Mean gap between two [`LogMix`] lines (1 ms).
pub const LOGMIX_MEAN_GAP_NS: u64 = 1_000_000;

const USERS: &[&str] = &[
    "tanaka",
    "suzuki",
    "sato",
    "takahashi",
    "ito",
    "watanabe",
    "yamamoto",
    "nakamura",
    "deploy",
    "backup",
];
const BAD_USERS: &[&str] = &[
    "root", "admin", "test", "oracle", "ubuntu", "user", "guest", "postgres", "git", "pi",
];
const DOMAINS: &[&str] = &[
    "www.example.com",
    "api.example.net",
    "cdn.example.org",
    "mail.example.co.jp",
    "update.example.com",
    "login.example.com",
    "files.example.org",
    "news.example.jp",
];
const HOSTS: &[&str] = &["srv-app-01", "srv-web-01", "fw-edge-01", "proxy-01", "ns1"];

/// What kind of line [`LogMix`] produced last (for tests and per-kind benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MixKind {
    /// sshd syslog line.
    Sshd,
    /// ufw/iptables kernel syslog line.
    Firewall,
    /// Squid native access.log line (file form).
    Squid,
    /// BIND query log line (syslog form).
    Bind,
    /// dnsmasq query line (syslog form).
    Dnsmasq,
}

/// An endless deterministic mix of log lines: about 35 % sshd, 25 % firewall, 20 % Squid and
/// 20 % DNS (BIND and dnsmasq). Syslog lines carry `<PRI>`; time advances about 1 ms per line.
///
/// ```
/// use mamori_testkit::logs::LogMix;
/// let a: Vec<String> = LogMix::new(3).take(100).collect();
/// let b: Vec<String> = LogMix::new(3).take(100).collect();
/// assert_eq!(a, b);
/// assert!(a.iter().any(|l| l.contains(" sshd[")));
/// ```
#[derive(Debug, Clone)]
pub struct LogMix {
    rng: SplitMix64,
    now_ns: u64,
    last: MixKind,
}

impl LogMix {
    /// A mix for `seed`.
    pub fn new(seed: u64) -> LogMix {
        LogMix {
            rng: SplitMix64::new(seed ^ 0x6C6F_6773),
            now_ns: 0,
            last: MixKind::Sshd,
        }
    }

    /// The kind of the line most recently returned.
    pub fn last_kind(&self) -> MixKind {
        self.last
    }

    fn pick(&mut self, v: &[&'static str]) -> &'static str {
        self.rng.pick(v).copied().unwrap_or("x")
    }

    fn external(&mut self) -> IpAddr {
        const FIRST: [u8; 8] = [45, 61, 103, 141, 185, 193, 203, 218];
        let a = FIRST[self.rng.below(FIRST.len() as u64) as usize];
        IpAddr::V4(Ipv4Addr::new(
            a,
            self.rng.below(256) as u8,
            self.rng.below(256) as u8,
            self.rng.range(1, 254) as u8,
        ))
    }

    fn internal(&mut self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 168, 10, self.rng.range(10, 250) as u8))
    }
}

impl Iterator for LogMix {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        self.now_ns += self.rng.below(LOGMIX_MEAN_GAP_NS * 2) + 1;
        let ts = LOGMIX_START + Duration::from_nanos(self.now_ns as i64);
        let r = self.rng.below(100);
        let port = self.rng.range(1_024, 65_535) as u16;
        let line = if r < 35 {
            self.last = MixKind::Sshd;
            let pid = 1_000 + self.rng.below(30_000) as u32;
            let host = self.pick(HOSTS);
            let msg = match self.rng.below(10) {
                0..=3 => {
                    let ip = self.external();
                    let u = self.pick(BAD_USERS);
                    sshd::failed_password(u, ip, port, u != "root")
                }
                4 => {
                    let ip = self.external();
                    let u = self.pick(BAD_USERS);
                    sshd::invalid_user(u, ip, port)
                }
                5 => {
                    let ip = self.external();
                    let u = self.pick(BAD_USERS);
                    sshd::disconnected_preauth(u, ip, port, true)
                }
                6 => {
                    let ip = self.internal();
                    let u = self.pick(USERS);
                    sshd::accepted_publickey(
                        u,
                        ip,
                        port,
                        "ED25519",
                        "q1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLlZzXx",
                    )
                }
                7 => {
                    let ip = self.internal();
                    let u = self.pick(USERS);
                    sshd::accepted_password(u, ip, port)
                }
                8 => {
                    let u = self.pick(USERS);
                    sshd::session_opened(u, 1_000 + self.rng.below(20) as u32)
                }
                _ => {
                    let ip = self.internal();
                    let u = self.pick(USERS);
                    sshd::disconnected(u, ip, port)
                }
            };
            Syslog::new(ts, host, "sshd")
                .pid(pid)
                .pri(facility::AUTHPRIV, severity::INFO)
                .line(&msg)
        } else if r < 60 {
            self.last = MixKind::Firewall;
            let src = self.external();
            let dst = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 2));
            let dport = *self
                .rng
                .pick(&[22u16, 23, 445, 3389, 1433, 5900, 8080, 443, 80])
                .unwrap_or(&22);
            let mut p = FwPacket::ufw_block(src, port, dst, dport);
            if self.rng.chance(20) {
                p.proto = "UDP".to_owned();
                p.dport = *self.rng.pick(&[53u16, 123, 161, 1900, 5060]).unwrap_or(&53);
                p.len = 40 + self.rng.below(400) as u16;
            }
            p.id = self.rng.next_u32() as u16;
            p.ttl = 40 + self.rng.below(80) as u8;
            let uptime = 86_400.0 + self.now_ns as f64 / 1e9;
            Syslog::new(ts, "fw-edge-01", "kernel")
                .pri(facility::KERN, severity::WARNING)
                .line(&p.kernel_message(uptime))
        } else if r < 80 {
            self.last = MixKind::Squid;
            let client = self.internal();
            let d = self.pick(DOMAINS);
            let (code, status, ct) = match self.rng.below(10) {
                0..=5 => ("TCP_MISS", 200u16, "text/html"),
                6 => ("TCP_HIT", 200, "image/png"),
                7 => ("TCP_DENIED", 403, "text/html"),
                8 => ("TCP_TUNNEL", 200, "-"),
                _ => ("TCP_MISS", 404, "text/html"),
            };
            let (method, url) = if code == "TCP_TUNNEL" {
                ("CONNECT", format!("{d}:443"))
            } else {
                ("GET", format!("http://{d}/index.html"))
            };
            let hier = if code == "TCP_DENIED" || code == "TCP_HIT" {
                "HIER_NONE/-".to_owned()
            } else {
                format!("HIER_DIRECT/203.0.113.{}", self.rng.range(1, 250))
            };
            let bytes = 300 + self.rng.below(200_000);
            let elapsed = self.rng.below(3_000) as u32;
            squid_access(
                ts, elapsed, client, code, status, bytes, method, &url, "-", &hier, ct,
            )
        } else if r < 92 {
            self.last = MixKind::Bind;
            let client = self.internal();
            let d = self.pick(DOMAINS);
            let qt = *self
                .rng
                .pick(&["A", "AAAA", "A", "HTTPS", "MX", "TXT"])
                .unwrap_or(&"A");
            let msg =
                bind::query_message(client, port, d, qt, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)));
            Syslog::new(ts, "ns1", "named")
                .pid(812)
                .pri(facility::DAEMON, severity::INFO)
                .line(&msg)
        } else {
            self.last = MixKind::Dnsmasq;
            let client = self.internal();
            let d = self.pick(DOMAINS);
            let msg = dnsmasq::query("A", d, client);
            Syslog::new(ts, "gw-01", "dnsmasq")
                .pid(733)
                .pri(facility::DAEMON, severity::INFO)
                .line(&msg)
        };
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Timestamp {
        Timestamp::parse_rfc3339("2026-11-02T09:05:03.250Z").unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn syslog_headers() {
        let l = Syslog::new(t(), "h", "sudo").line("x");
        assert_eq!(l, "Nov  2 09:05:03 h sudo: x");
        let j = Syslog::new(t(), "h", "su")
            .offset(9 * 3600)
            .pri(facility::AUTH, severity::NOTICE)
            .line("y");
        assert_eq!(j, "<37>Nov  2 18:05:03 h su: y");
        let d = Timestamp::parse_rfc3339("2026-12-24T00:00:00Z").unwrap();
        assert_eq!(rfc3164_time(d, 0), "Dec 24 00:00:00");
        // Out-of-range facility/severity are clamped, never overflow.
        assert!(Syslog::new(t(), "h", "a")
            .pri(200, 200)
            .line("")
            .starts_with("<191>"));
    }

    #[test]
    fn sshd_and_sudo_messages() {
        assert_eq!(
            sshd::failed_password("admin", ip("198.51.100.7"), 4242, true),
            "Failed password for invalid user admin from 198.51.100.7 port 4242 ssh2"
        );
        assert_eq!(
            sshd::disconnected_preauth("admin", ip("198.51.100.7"), 4242, true),
            "Disconnected from invalid user admin 198.51.100.7 port 4242 [preauth]"
        );
        assert_eq!(
            sudo::command("tanaka", "pts/0", "/home/tanaka", "root", "/usr/bin/systemctl restart nginx"),
            "  tanaka : TTY=pts/0 ; PWD=/home/tanaka ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"
        );
        assert_eq!(
            su::failure("ito", "root", "pts/1"),
            "FAILED SU (to root) ito on pts/1"
        );
    }

    #[test]
    fn ufw_kernel_line() {
        let p = FwPacket::ufw_block(ip("203.0.113.9"), 51_000, ip("10.0.0.20"), 22);
        let m = p.kernel_message(12_345.5);
        assert!(
            m.starts_with("[12345.500000] [UFW BLOCK] IN=eth0 OUT= MAC="),
            "{m}"
        );
        assert!(m.contains(" SRC=203.0.113.9 DST=10.0.0.20 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=54321 DF PROTO=TCP SPT=51000 DPT=22 "));
        assert!(m.contains(" SYN URGP=0"));
        let v6 = FwPacket {
            proto: "UDP".to_owned(),
            ..FwPacket::ufw_block(ip("2001:db8::1"), 1, ip("2001:db8::2"), 53)
        };
        let m6 = v6.kernel_message(1.0);
        assert!(m6.contains("HOPLIMIT=51") && m6.contains("PROTO=UDP SPT=1 DPT=53"));
    }

    #[test]
    fn squid_bind_dnsmasq_postfix_combined() {
        let s = squid_access(
            t(),
            245,
            ip("192.168.10.21"),
            "TCP_MISS",
            200,
            5120,
            "GET",
            "http://www.example.com/",
            "-",
            "HIER_DIRECT/203.0.113.10",
            "text/html",
        );
        assert_eq!(s, "1793610303.250    245 192.168.10.21 TCP_MISS/200 5120 GET http://www.example.com/ - HIER_DIRECT/203.0.113.10 text/html");
        let b = bind::query_file_line(
            t(),
            ip("192.168.10.21"),
            53211,
            "www.example.com",
            "A",
            ip("10.0.0.53"),
        );
        assert!(b.starts_with("02-Nov-2026 09:05:03.250 queries: info: client @0x"));
        assert!(b.ends_with(
            "192.168.10.21#53211 (www.example.com): query: www.example.com IN A +E(0)K (10.0.0.53)"
        ));
        assert_eq!(
            dnsmasq::query("AAAA", "a.example", ip("192.168.10.5")),
            "query[AAAA] a.example from 192.168.10.5"
        );
        assert_eq!(
            dnsmasq::dhcp_ack("br0", ip("192.168.10.50"), Mac::local(5), "pc-05"),
            "DHCPACK(br0) 192.168.10.50 02:00:00:00:00:05 pc-05"
        );
        assert!(postfix::sasl_failed("unknown", ip("203.0.113.5"), "LOGIN")
            .contains("SASL LOGIN authentication failed"));
        let a = AccessLog {
            offset_secs: 9 * 3600,
            ..AccessLog::get(t(), ip("192.168.10.21"), "/a?b=1", 200, 512)
        };
        assert!(a.line().starts_with("192.168.10.21 - - [02/Nov/2026:18:05:03 +0900] \"GET /a?b=1 HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0"));
        let neg = AccessLog {
            offset_secs: -(5 * 3600 + 1800),
            ..AccessLog::get(t(), ip("::1"), "/", 404, 0)
        };
        assert!(neg.line().contains(" -0530]"));
    }

    #[test]
    fn logmix_is_deterministic_and_mixed() {
        let mut kinds = std::collections::HashMap::new();
        let mut mix = LogMix::new(11);
        let mut lines = Vec::new();
        for _ in 0..5_000 {
            lines.push(mix.next().unwrap());
            *kinds.entry(mix.last_kind()).or_insert(0u32) += 1;
        }
        assert_eq!(kinds.len(), 5);
        let ssh = kinds[&MixKind::Sshd];
        assert!((1_500..2_000).contains(&ssh), "{ssh}");
        let again: Vec<String> = LogMix::new(11).take(5_000).collect();
        assert_eq!(lines, again);
        assert_ne!(lines, LogMix::new(12).take(5_000).collect::<Vec<_>>());
        assert!(lines.iter().all(|l| !l.contains('\n')));
    }
}
