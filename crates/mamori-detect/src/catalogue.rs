//! The check catalogue: every built-in check with its stable id, English and Japanese name
//! and description, default severity, ATT&CK techniques, compliance controls and thresholds.
//!
//! `mamori checks list` prints [`catalogue`]; `mamori checks explain ID` prints one
//! [`CheckInfo`] found with [`check_info`].

use mamori_core::Severity;

/// One tunable threshold of a check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// Name used in the config (`[checks."mamori.net.port_scan"] thresholds = { min_ports = 50 }`).
    pub name: &'static str,
    /// Default value.
    pub default: f64,
    /// Unit in English (`s`, `ports`, `%`, `bytes` …).
    pub unit: &'static str,
    /// What it controls, in English.
    pub help: &'static str,
}

/// Which ruleset an alert of this check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Scanning (suppressed for authorised scanners).
    Scan,
    /// Floods.
    Flood,
    /// DHCP.
    Dhcp,
    /// DNS.
    Dns,
    /// Unexpected servers against allowed lists.
    UnexpectedServer,
    /// Insecure and cleartext protocols, remote access.
    Insecure,
    /// Threat-intelligence hits.
    Intel,
    /// TLS.
    Tls,
    /// HTTP.
    Http,
    /// C2 and exfiltration.
    C2,
    /// Lateral movement.
    Lateral,
    /// Probing.
    Probing,
    /// Host-level (score, authorised scans).
    Host,
}

/// Everything the CLI and the engine need to know about one check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckInfo {
    /// Stable id, e.g. `mamori.net.port_scan`.
    pub id: &'static str,
    /// English name.
    pub name: &'static str,
    /// Japanese name.
    pub name_ja: &'static str,
    /// English description (what fires it).
    pub description: &'static str,
    /// Japanese description.
    pub description_ja: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// ATT&CK technique ids.
    pub techniques: &'static [&'static str],
    /// Compliance controls this check evidences.
    pub controls: &'static [&'static str],
    /// Thresholds with defaults.
    pub thresholds: &'static [Threshold],
    /// Whether the check runs when the config does not mention it.
    pub enabled_by_default: bool,
    /// Family (scan-family checks are suppressed for authorised scanners).
    pub family: Family,
}

/// Index of a check in [`catalogue`], one variant per check.
#[allow(missing_docs)] // each variant is documented by its catalogue entry
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(usize)]
pub enum CheckId {
    PortScan,
    HostSweep,
    FlagScan,
    UdpScan,
    IcmpSweep,
    UnansweredScan,
    ConnRefused,
    SynFlood,
    FlowFlood,
    IcmpFlood,
    DhcpStorm,
    DhcpRogueServer,
    DhcpStarvation,
    DnsTunnel,
    DnsTxtVolume,
    Dga,
    NxdomainFlood,
    DnsLargeResponse,
    DnsSuspiciousType,
    UnexpectedDns,
    UnexpectedNtp,
    UnexpectedSmtp,
    UnexpectedDhcp,
    InsecureProtocol,
    CleartextCredentials,
    RemoteAccess,
    IntelIp,
    IntelDomain,
    IntelUrl,
    IntelTlsFingerprint,
    IntelCert,
    TlsOldVersion,
    TlsWeakCipher,
    TlsSelfSigned,
    TlsCertExpired,
    TlsCertExpiring,
    TlsCertMismatch,
    TlsMissingSni,
    TlsNumericSni,
    TlsUncommonAlpn,
    HttpSuspiciousUa,
    HttpBinaryDownload,
    HttpWebAttack,
    HttpNumericHost,
    HttpSuspiciousHeader,
    Beaconing,
    DataExfil,
    LongLived,
    NonStandardPort,
    IcmpPayload,
    Tor,
    LateralNewPair,
    AdminFanout,
    TcpNoData,
    Unidirectional,
    DangerousHost,
    AuthorizedScan,
}

/// Number of checks.
pub const CHECK_COUNT: usize = CheckId::AuthorizedScan as usize + 1;

impl CheckId {
    /// Every check in catalogue order.
    pub const ALL: [CheckId; CHECK_COUNT] = [
        CheckId::PortScan,
        CheckId::HostSweep,
        CheckId::FlagScan,
        CheckId::UdpScan,
        CheckId::IcmpSweep,
        CheckId::UnansweredScan,
        CheckId::ConnRefused,
        CheckId::SynFlood,
        CheckId::FlowFlood,
        CheckId::IcmpFlood,
        CheckId::DhcpStorm,
        CheckId::DhcpRogueServer,
        CheckId::DhcpStarvation,
        CheckId::DnsTunnel,
        CheckId::DnsTxtVolume,
        CheckId::Dga,
        CheckId::NxdomainFlood,
        CheckId::DnsLargeResponse,
        CheckId::DnsSuspiciousType,
        CheckId::UnexpectedDns,
        CheckId::UnexpectedNtp,
        CheckId::UnexpectedSmtp,
        CheckId::UnexpectedDhcp,
        CheckId::InsecureProtocol,
        CheckId::CleartextCredentials,
        CheckId::RemoteAccess,
        CheckId::IntelIp,
        CheckId::IntelDomain,
        CheckId::IntelUrl,
        CheckId::IntelTlsFingerprint,
        CheckId::IntelCert,
        CheckId::TlsOldVersion,
        CheckId::TlsWeakCipher,
        CheckId::TlsSelfSigned,
        CheckId::TlsCertExpired,
        CheckId::TlsCertExpiring,
        CheckId::TlsCertMismatch,
        CheckId::TlsMissingSni,
        CheckId::TlsNumericSni,
        CheckId::TlsUncommonAlpn,
        CheckId::HttpSuspiciousUa,
        CheckId::HttpBinaryDownload,
        CheckId::HttpWebAttack,
        CheckId::HttpNumericHost,
        CheckId::HttpSuspiciousHeader,
        CheckId::Beaconing,
        CheckId::DataExfil,
        CheckId::LongLived,
        CheckId::NonStandardPort,
        CheckId::IcmpPayload,
        CheckId::Tor,
        CheckId::LateralNewPair,
        CheckId::AdminFanout,
        CheckId::TcpNoData,
        CheckId::Unidirectional,
        CheckId::DangerousHost,
        CheckId::AuthorizedScan,
    ];

    /// Position in [`catalogue`].
    pub fn index(self) -> usize {
        self as usize
    }
    /// The catalogue entry.
    pub fn info(self) -> &'static CheckInfo {
        &CATALOGUE[self as usize]
    }
    /// The stable id text.
    pub fn as_str(self) -> &'static str {
        self.info().id
    }
    /// Find a check by its id; the `mamori.net.` / `mamori.intel.` prefix may be left out.
    pub fn parse(id: &str) -> Option<CheckId> {
        let id = id.trim();
        CheckId::ALL.iter().copied().find(|c| {
            let full = c.as_str();
            full == id
                || full
                    .strip_prefix("mamori.net.")
                    .or_else(|| full.strip_prefix("mamori."))
                    .is_some_and(|short| short == id)
        })
    }
}

/// The whole catalogue, in [`CheckId`] order.
pub fn catalogue() -> &'static [CheckInfo] {
    &CATALOGUE
}

/// One check by id (full or without the `mamori.net.` prefix).
pub fn check_info(id: &str) -> Option<&'static CheckInfo> {
    CheckId::parse(id).map(CheckId::info)
}

const fn th(name: &'static str, default: f64, unit: &'static str, help: &'static str) -> Threshold {
    Threshold {
        name,
        default,
        unit,
        help,
    }
}

const WINDOW_300: Threshold = th("window_secs", 300.0, "s", "length of the counting window");
const WINDOW_60: Threshold = th("window_secs", 60.0, "s", "length of the counting window");
const WINDOW_600: Threshold = th("window_secs", 600.0, "s", "length of the counting window");
const WINDOW_10: Threshold = th("window_secs", 10.0, "s", "length of the counting window");

const JP8: &str = "JP-DISCS-8";
const N_MON: &str = "NIST-800-171-3.14.6";
const N_USE: &str = "NIST-800-171-3.14.7";
const N_BOUND: &str = "NIST-800-171-3.13.1";
const N_CRYPTO: &str = "NIST-800-171-3.13.8";
const N_REMOTE: &str = "NIST-800-171-3.1.12";
const N_MAL: &str = "NIST-800-171-3.14.2";

const C_MON: &[&str] = &[JP8, N_MON];
const C_MON_USE: &[&str] = &[JP8, N_MON, N_USE];
const C_BOUND: &[&str] = &[JP8, N_MON, N_BOUND];
const C_CLEAR: &[&str] = &[JP8, N_MON, N_CRYPTO];
const C_REMOTE: &[&str] = &[JP8, N_MON, N_REMOTE, N_BOUND];
const C_MAL: &[&str] = &[JP8, N_MON, N_MAL];

#[allow(clippy::too_many_arguments)]
const fn c(
    id: &'static str,
    name: &'static str,
    name_ja: &'static str,
    description: &'static str,
    description_ja: &'static str,
    severity: Severity,
    techniques: &'static [&'static str],
    controls: &'static [&'static str],
    thresholds: &'static [Threshold],
    family: Family,
) -> CheckInfo {
    CheckInfo {
        id,
        name,
        name_ja,
        description,
        description_ja,
        severity,
        techniques,
        controls,
        thresholds,
        enabled_by_default: true,
        family,
    }
}

use Family as F;
use Severity::{High as H, Low as L, Medium as M};

static CATALOGUE: [CheckInfo; CHECK_COUNT] = [
    c("mamori.net.port_scan", "TCP port scan", "TCPポートスキャン",
      "One source probes many TCP ports on one host within the window and most attempts get no answer or RST.",
      "1つの送信元が時間窓内に1台のホストの多数のTCPポートを探索し、その大半が無応答またはRSTで終わった。",
      H, &["T1046"], C_MON_USE,
      &[WINDOW_300, th("min_ports", 25.0, "ports", "distinct destination ports"),
        th("min_failed_pct", 50.0, "%", "share of attempts that got no answer or RST")], F::Scan),
    c("mamori.net.host_sweep", "Horizontal sweep", "水平スキャン（ホストスイープ）",
      "One source tries the same port on many hosts within the window and most attempts fail.",
      "1つの送信元が時間窓内に多数のホストの同一ポートへ接続を試み、その大半が失敗した。",
      H, &["T1046", "T1595.001"], C_MON_USE,
      &[WINDOW_300, th("min_hosts", 25.0, "hosts", "distinct destination hosts"),
        th("min_failed_pct", 50.0, "%", "share of attempts that failed")], F::Scan),
    c("mamori.net.tcp_flag_scan", "SYN/FIN/NULL/Xmas/ACK scan", "SYN/FIN/NULL/Xmas/ACKスキャン",
      "One source sends many TCP probes with scan flag patterns: SYN-only half-open, FIN, NULL (no flags), Xmas (FIN+PSH+URG) or lone ACK.",
      "1つの送信元がスキャン特有のTCPフラグ（SYNのみのハーフオープン、FIN、NULL、Xmas、単独ACK）の探索を多数送った。",
      H, &["T1046"], C_MON_USE,
      &[WINDOW_300, th("min_syn", 50.0, "targets", "distinct host:port targets of half-open SYN probes"),
        th("min_stealth", 5.0, "targets", "distinct targets of FIN, NULL or Xmas probes"),
        th("min_ack", 25.0, "targets", "distinct targets of lone-ACK probes")], F::Scan),
    c("mamori.net.udp_scan", "UDP port scan", "UDPポートスキャン",
      "One source's UDP probes draw ICMP port-unreachable replies from many ports.",
      "1つの送信元のUDP探索に対し、多数のポートからICMPポート到達不能が返った。",
      M, &["T1046"], C_MON_USE,
      &[WINDOW_300, th("min_ports", 20.0, "host:port", "distinct unreachable targets")], F::Scan),
    c("mamori.net.icmp_sweep", "ICMP sweep", "ICMPスイープ",
      "One source sends ICMP echo requests to many hosts within the window.",
      "1つの送信元が時間窓内に多数のホストへICMPエコー要求を送った。",
      M, &["T1018", "T1595.001"], C_MON_USE,
      &[WINDOW_300, th("min_hosts", 25.0, "hosts", "distinct destination hosts")], F::Scan),
    c("mamori.net.unanswered_scan", "Mostly unanswered connections", "無応答接続の多発（スキャン）",
      "One source opens many TCP connections within the window and nearly all get no answer or RST (ntopng scan detection).",
      "1つの送信元が時間窓内に多数のTCP接続を試み、ほぼ全てが無応答またはRSTだった。",
      M, &["T1046"], C_MON_USE,
      &[WINDOW_60, th("min_flows", 32.0, "flows", "incomplete TCP flows"),
        th("min_failed_pct", 80.0, "%", "share of flows without an answer")], F::Scan),
    c("mamori.net.conn_refused_burst", "Connection-refused burst", "接続拒否の多発",
      "Many TCP connections from one source to one host are refused with RST within the window.",
      "1つの送信元から1台のホストへのTCP接続が時間窓内に多数RSTで拒否された。",
      L, &["T1046"], C_MON,
      &[WINDOW_60, th("min_refused", 20.0, "flows", "refused connections")], F::Scan),
    c("mamori.net.syn_flood", "SYN flood", "SYNフラッド",
      "A host sends (attacker) or receives (victim) a flood of TCP SYNs that never complete a handshake.",
      "ホストがハンドシェイクの完了しない大量のTCP SYNを送信（攻撃側）または受信（被害側）した。",
      H, &["T1498", "T1499"], C_MON,
      &[WINDOW_10, th("attacker_min", 500.0, "flows", "half-open flows sent in the window"),
        th("victim_min", 1000.0, "flows", "half-open flows received in the window")], F::Flood),
    c("mamori.net.flow_flood", "Flow flood", "フローフラッド",
      "A host opens (attacker) or receives (victim) more flows than the threshold within the window (ntopng: 256 flows/s).",
      "ホストが時間窓内に閾値を超えるフローを開始（攻撃側）または受信（被害側）した。",
      M, &["T1498"], C_MON,
      &[WINDOW_10, th("attacker_min", 2560.0, "flows", "flows started in the window"),
        th("victim_min", 5120.0, "flows", "flows received in the window")], F::Flood),
    c("mamori.net.icmp_flood", "ICMP flood", "ICMPフラッド",
      "A host sends or receives more ICMP packets than the threshold within the window (ntopng: 250/s).",
      "ホストが時間窓内に閾値を超えるICMPパケットを送信または受信した。",
      M, &["T1498"], C_MON,
      &[WINDOW_10, th("attacker_min", 2500.0, "packets", "ICMP packets sent in the window"),
        th("victim_min", 2500.0, "packets", "ICMP packets received in the window")], F::Flood),
    c("mamori.net.dhcp_storm", "DHCP storm", "DHCPストーム",
      "More DHCP DISCOVER/REQUEST messages than the threshold within the window on the segment.",
      "時間窓内のDHCP DISCOVER/REQUESTが閾値を超えた。",
      M, &["T1499"], C_MON,
      &[WINDOW_60, th("min_requests", 300.0, "messages", "client messages in the window")], F::Dhcp),
    c("mamori.net.dhcp_rogue_server", "Rogue DHCP server", "不正DHCPサーバ",
      "More than one DHCP server answers on the network (used when no allowed DHCP server list is configured).",
      "ネットワーク上で複数のDHCPサーバが応答している（許可DHCPサーバ一覧が未設定の場合）。",
      H, &["T1557"], C_MON_USE, &[], F::Dhcp),
    c("mamori.net.dhcp_starvation", "DHCP starvation", "DHCP枯渇攻撃",
      "Many distinct client MAC addresses request leases within the window.",
      "時間窓内に多数の異なるクライアントMACアドレスがリースを要求した。",
      H, &["T1499", "T1557"], C_MON,
      &[WINDOW_60, th("min_macs", 50.0, "MACs", "distinct client MACs")], F::Dhcp),
    c("mamori.net.dns_tunnel", "DNS tunnelling", "DNSトンネリング",
      "One client queries many unique subdomains of one registered domain, or many long or high-entropy labels under it.",
      "1つのクライアントが1つの登録ドメイン配下の多数の一意なサブドメイン、または長い・高エントロピーなラベルを問い合わせた。",
      H, &["T1572", "T1071.004"], C_BOUND,
      &[WINDOW_300, th("min_unique_subdomains", 100.0, "names", "unique names under one domain"),
        th("min_long_queries", 20.0, "queries", "queries with a long or high-entropy label"),
        th("long_label", 40.0, "chars", "label length counted as long"),
        th("entropy_bits", 3.8, "bits/char", "Shannon entropy of a label (≥ 16 chars) counted as high")], F::Dns),
    c("mamori.net.dns_txt_volume", "DNS TXT/NULL volume", "DNS TXT/NULLの多量問い合わせ",
      "One client sends many TXT or NULL queries within the window (a common tunnelling carrier).",
      "1つのクライアントが時間窓内にTXTまたはNULLレコードを多数問い合わせた。",
      M, &["T1572", "T1071.004"], C_BOUND,
      &[WINDOW_300, th("min_queries", 100.0, "queries", "TXT/NULL queries")], F::Dns),
    c("mamori.net.dga_domain", "DGA-like domain names", "DGA風ドメイン名",
      "One client queries several names whose registered label looks machine-generated (entropy, consonant runs, digits).",
      "1つのクライアントが機械生成に見える（エントロピー・子音連続・数字混在）ドメイン名を複数問い合わせた。",
      M, &["T1568.002"], C_MON,
      &[WINDOW_600, th("min_names", 5.0, "names", "distinct DGA-like names"),
        th("min_score", 3.0, "points", "heuristic score a name needs (see docs)")], F::Dns),
    c("mamori.net.nxdomain_flood", "NXDOMAIN flood", "NXDOMAIN多発",
      "One client receives many NXDOMAIN answers within the window (DGA, random-subdomain attacks).",
      "1つのクライアントが時間窓内に多数のNXDOMAIN応答を受け取った。",
      M, &["T1568.002"], C_MON,
      &[WINDOW_60, th("min_nxdomain", 50.0, "answers", "NXDOMAIN answers")], F::Dns),
    c("mamori.net.dns_large_response", "Large DNS response", "大きなDNS応答",
      "A UDP DNS flow whose server packets average more than the threshold (nDPI: 512 bytes).",
      "UDPのDNSフローでサーバ側パケットの平均サイズが閾値を超えた。",
      L, &["T1572", "T1071.004"], C_MON,
      &[th("min_bytes", 540.0, "bytes", "average IP bytes per server packet")], F::Dns),
    c("mamori.net.dns_suspicious_type", "Suspicious DNS query type", "不審なDNSクエリタイプ",
      "A client asks for ANY, AXFR or IXFR records (zone transfer, amplification).",
      "クライアントがANY・AXFR・IXFRレコードを要求した（ゾーン転送・増幅攻撃）。",
      M, &["T1018"], C_MON, &[], F::Dns),
    c("mamori.net.unexpected_dns_server", "Unexpected DNS server", "許可外DNSサーバの利用",
      "A host resolves names with a DNS server that is not in the allowed list (runs only when the list is set).",
      "ホストが許可一覧にないDNSサーバを利用した（一覧設定時のみ有効）。",
      M, &["T1071.004"], C_BOUND, &[], F::UnexpectedServer),
    c("mamori.net.unexpected_ntp_server", "Unexpected NTP server", "許可外NTPサーバの利用",
      "A host synchronises time with an NTP server that is not in the allowed list.",
      "ホストが許可一覧にないNTPサーバと時刻同期した。",
      L, &["T1071"], C_BOUND, &[], F::UnexpectedServer),
    c("mamori.net.unexpected_smtp_server", "Unexpected SMTP server", "許可外SMTPサーバの利用",
      "A host sends mail through an SMTP server that is not in the allowed list.",
      "ホストが許可一覧にないSMTPサーバへメールを送信した。",
      M, &["T1048", "T1071"], C_BOUND, &[], F::UnexpectedServer),
    c("mamori.net.unexpected_dhcp_server", "Unexpected DHCP server", "許可外DHCPサーバ",
      "A DHCP server that is not in the allowed list answers clients.",
      "許可一覧にないDHCPサーバがクライアントに応答した。",
      H, &["T1557"], C_MON_USE, &[], F::UnexpectedServer),
    c("mamori.net.insecure_protocol", "Insecure protocol", "安全でないプロトコル",
      "Telnet, FTP, rsh/rlogin (TCP 512–514), TFTP, SMBv1, LDAP simple bind or SNMPv1/v2c in use; severity is raised when it comes from outside.",
      "Telnet・FTP・rsh/rlogin・TFTP・SMBv1・LDAP単純バインド・SNMPv1/v2cが使われた（外部からの場合は重要度を上げる）。",
      M, &["T1040"], C_CLEAR, &[], F::Insecure),
    c("mamori.net.cleartext_credentials", "Cleartext credentials", "平文の認証情報",
      "A password crossed the network in clear text: FTP USER/PASS, HTTP Basic, POP3/IMAP/SMTP AUTH PLAIN/LOGIN, Telnet login, LDAP simple bind.",
      "パスワードが平文で送信された（FTP USER/PASS、HTTP Basic、POP3/IMAP/SMTP AUTH PLAIN/LOGIN、Telnet、LDAP単純バインド）。",
      H, &["T1040"], C_CLEAR, &[], F::Insecure),
    c("mamori.net.remote_access", "Remote access from outside", "外部からのリモートアクセス",
      "An established RDP or VNC (5900–5902) session from outside, or an AnyDesk/TeamViewer session in any direction (ports 7070/5938, protocol or SNI).",
      "外部からのRDP・VNCセッション、または方向を問わずAnyDesk・TeamViewerのセッションが確立された。",
      H, &["T1133", "T1219", "T1021.001"], C_REMOTE, &[], F::Insecure),
    c("mamori.intel.ip", "Blacklisted IP contact", "ブラックリストIPとの通信",
      "A flow to or from an address or network on a threat-intelligence list.",
      "脅威インテリジェンス一覧に載っているIPアドレス・ネットワークとの通信。",
      H, &["T1071"], C_MAL, &[], F::Intel),
    c("mamori.intel.domain", "Blacklisted domain", "ブラックリストドメイン",
      "A DNS query, HTTP Host or TLS SNI for a listed domain or a subdomain of one.",
      "一覧に載っているドメイン（またはそのサブドメイン）へのDNS問い合わせ・HTTP Host・TLS SNI。",
      H, &["T1071"], C_MAL, &[], F::Intel),
    c("mamori.intel.url", "Blacklisted URL", "ブラックリストURL",
      "An HTTP request for a listed URL.",
      "一覧に載っているURLへのHTTPリクエスト。",
      H, &["T1071.001", "T1105"], C_MAL, &[], F::Intel),
    c("mamori.intel.tls_fingerprint", "Malicious TLS fingerprint", "悪性TLSフィンガープリント",
      "A TLS client whose JA3 or JA4 fingerprint is on a list.",
      "JA3またはJA4フィンガープリントが一覧に載っているTLSクライアント。",
      H, &["T1071.001", "T1573"], C_MAL, &[], F::Intel),
    c("mamori.intel.certificate", "Malicious certificate", "悪性証明書",
      "A TLS server certificate whose SHA-1 fingerprint is on a list (e.g. SSLBL).",
      "SHA-1フィンガープリントが一覧に載っているサーバ証明書。",
      H, &["T1573"], C_MAL, &[], F::Intel),
    c("mamori.net.tls_old_version", "Obsolete TLS version", "古いTLSバージョン",
      "A TLS session negotiated SSL 3.0, TLS 1.0 or TLS 1.1.",
      "SSL 3.0・TLS 1.0・TLS 1.1で通信した。",
      M, &["T1557"], C_CLEAR, &[], F::Tls),
    c("mamori.net.tls_weak_cipher", "Weak TLS cipher", "脆弱なTLS暗号スイート",
      "A TLS session negotiated a cipher with RC4, DES/3DES, NULL, EXPORT or anonymous key exchange.",
      "RC4・DES/3DES・NULL・EXPORT・匿名鍵交換を含む暗号スイートで通信した。",
      M, &["T1557"], C_CLEAR, &[], F::Tls),
    c("mamori.net.tls_self_signed", "Self-signed certificate", "自己署名証明書",
      "A TLS server presented a self-signed certificate.",
      "TLSサーバが自己署名証明書を提示した。",
      L, &["T1573"], C_CLEAR, &[], F::Tls),
    c("mamori.net.tls_cert_expired", "Expired certificate", "期限切れ証明書",
      "A TLS server certificate was outside its validity period at event time.",
      "通信時点でサーバ証明書が有効期間外だった。",
      M, &["T1573"], C_CLEAR, &[], F::Tls),
    c("mamori.net.tls_cert_expiring", "Certificate about to expire", "まもなく期限切れの証明書",
      "A TLS server certificate expires within the threshold (nDPI: 30 days).",
      "サーバ証明書の有効期限が閾値日数以内に切れる。",
      L, &["T1573"], C_CLEAR,
      &[th("days", 30.0, "days", "days before expiry")], F::Tls),
    c("mamori.net.tls_cert_mismatch", "Certificate name mismatch", "証明書のホスト名不一致",
      "The SNI is covered by neither the certificate CN nor its SANs (one-label wildcards honoured).",
      "SNIが証明書のCNにもSANにも一致しない（ワイルドカードは1ラベルのみ）。",
      M, &["T1557"], C_CLEAR, &[], F::Tls),
    c("mamori.net.tls_missing_sni", "TLS without SNI", "SNIなしのTLS",
      "A TLS ClientHello carried no server name.",
      "TLS ClientHelloにサーバ名（SNI）がなかった。",
      L, &["T1573"], C_MON, &[], F::Tls),
    c("mamori.net.tls_numeric_sni", "Numeric SNI", "IPアドレスのSNI",
      "A TLS ClientHello named an IP address as server name.",
      "TLS ClientHelloのサーバ名がIPアドレスだった。",
      L, &["T1071.001"], C_MON, &[], F::Tls),
    c("mamori.net.tls_uncommon_alpn", "Uncommon ALPN", "一般的でないALPN",
      "A TLS ClientHello offered an ALPN outside the common list (h2, http/1.x, h3, acme-tls/1, dot, imap, pop3, smtp, xmpp, stun, webrtc, mqtt, ftp, …).",
      "TLS ClientHelloが一般的でないALPNを提示した。",
      L, &["T1071.001"], C_MON, &[], F::Tls),
    c("mamori.net.http_suspicious_user_agent", "Suspicious HTTP User-Agent", "不審なHTTP User-Agent",
      "An HTTP request with an empty or scripting/tool User-Agent (curl, wget, python, PowerShell, Go-http-client, sqlmap, nmap …).",
      "User-Agentが空、またはスクリプト・ツール（curl、wget、python、PowerShell、Go-http-client、sqlmap、nmap等）のHTTPリクエスト。",
      L, &["T1071.001"], C_MON, &[], F::Http),
    c("mamori.net.http_binary_download", "Executable download", "実行ファイルのダウンロード",
      "An HTTP response carried a Windows/Linux/macOS executable or script (magic bytes, MIME type or file extension).",
      "HTTPで実行ファイル・スクリプト（マジックバイト・MIME・拡張子で判定）を受信した。",
      M, &["T1105", "T1204"], C_MAL, &[], F::Http),
    c("mamori.net.http_web_attack", "Web attack in URL", "URL中のWeb攻撃パターン",
      "A URL (after %-decoding) or User-Agent contains SQL injection, XSS, command injection, path traversal or Log4Shell patterns.",
      "URL（%デコード後）またはUser-AgentにSQLインジェクション・XSS・コマンドインジェクション・パストラバーサル・Log4Shellのパターンがある。",
      H, &["T1190"], C_MON_USE, &[], F::Http),
    c("mamori.net.http_numeric_host", "Numeric HTTP Host", "IPアドレスのHTTP Host",
      "An HTTP request addressed a literal IP address in its Host header.",
      "HTTPリクエストのHostヘッダがIPアドレスだった。",
      L, &["T1071.001"], C_MON, &[], F::Http),
    c("mamori.net.http_suspicious_header", "Suspicious HTTP header", "不審なHTTPヘッダ",
      "An HTTP/1.1 request without Host, an oversized User-Agent, or an X-Forwarded-For that is not a list of addresses.",
      "HostのないHTTP/1.1リクエスト、長すぎるUser-Agent、またはアドレス一覧でないX-Forwarded-For。",
      L, &["T1071.001"], C_MON,
      &[th("max_user_agent", 512.0, "chars", "User-Agent length counted as oversized")], F::Http),
    c("mamori.net.beaconing", "Beaconing", "ビーコン通信",
      "The same client connects to the same server and port at regular, low-jitter intervals (C2 heartbeat).",
      "同じクライアントが同じサーバ・ポートへ揺らぎの小さい一定間隔で繰り返し接続した（C2通信）。",
      M, &["T1071"], C_BOUND,
      &[th("min_repetitions", 10.0, "connections", "connections needed before judging"),
        th("max_jitter_pct", 10.0, "%", "interval standard deviation / mean"),
        th("min_interval_secs", 5.0, "s", "shortest interval considered"),
        th("max_interval_secs", 3600.0, "s", "longest interval considered")], F::C2),
    c("mamori.net.data_exfiltration", "Large outbound data volume", "外部への大量データ送信",
      "A home host sends more bytes out than the threshold within the window.",
      "内部ホストが時間窓内に閾値を超えるデータを外部へ送信した。",
      H, &["T1048"], C_BOUND,
      &[th("window_secs", 3600.0, "s", "length of the counting window"),
        th("min_bytes", 1_000_000_000.0, "bytes", "bytes sent out in the window")], F::C2),
    c("mamori.net.long_lived", "Long-lived connection", "長時間接続",
      "A connection (joined across active-timeout records) lasts longer than the threshold.",
      "接続（アクティブタイムアウトで分割された記録を連結）が閾値より長く続いた。",
      L, &["T1071"], C_BOUND,
      &[th("min_duration_secs", 3600.0, "s", "connection duration")], F::C2),
    c("mamori.net.nonstandard_port", "Known protocol on non-standard port", "非標準ポートでの既知プロトコル",
      "An application protocol was identified on a port that is not its usual one (e.g. HTTP on TCP/1234).",
      "既知のアプリケーションプロトコルが通常と異なるポートで使われた。",
      L, &["T1571"], C_BOUND, &[], F::C2),
    c("mamori.net.icmp_payload_anomaly", "ICMP payload anomaly", "ICMPペイロード異常",
      "ICMP packets are much larger than pings (data carried in ICMP).",
      "ICMPパケットが通常のpingより大きい（ICMPでのデータ搬送）。",
      M, &["T1095"], C_BOUND,
      &[th("min_avg_bytes", 300.0, "bytes", "average IP bytes per ICMP packet"),
        th("min_packets", 4.0, "packets", "packets in the flow")], F::C2),
    c("mamori.net.tor", "Tor / anonymiser use", "Tor・匿名化通信の利用",
      "A flow identified as Tor (TLS traits) or to an address listed with a Tor/anonymiser label.",
      "Tor（TLSの特徴）と判定された通信、またはTor・匿名化ラベル付きアドレスとの通信。",
      M, &["T1090.003"], C_BOUND, &[], F::C2),
    c("mamori.net.lateral_new_pair", "New internal admin connection", "新規の内部管理系接続",
      "SMB, RDP, WinRM or SSH between two internal hosts that never talked over it during the learning period.",
      "学習期間中に通信実績のない内部ホスト間でSMB・RDP・WinRM・SSHが使われた。",
      M, &["T1021"], C_MON_USE,
      &[th("learning_secs", 3600.0, "s", "learning period from the first event")], F::Lateral),
    c("mamori.net.admin_fanout", "Admin-port fan-out", "管理ポートへの横展開",
      "One internal host reaches many internal hosts on admin ports (SMB, RDP, WinRM, SSH) within the window.",
      "1台の内部ホストが時間窓内に多数の内部ホストの管理ポート（SMB・RDP・WinRM・SSH）へ接続した。",
      H, &["T1021", "T1210"], C_MON_USE,
      &[WINDOW_600, th("min_hosts", 10.0, "hosts", "distinct internal hosts")], F::Lateral),
    c("mamori.net.tcp_no_data", "TCP connections without data", "データなしTCP接続",
      "Repeated established TCP connections from one client to one service that carry no payload (probing).",
      "同じクライアントからサービスへのペイロードのないTCP接続が繰り返された（探索）。",
      L, &["T1046"], C_MON,
      &[WINDOW_600, th("min_flows", 10.0, "flows", "empty connections")], F::Probing),
    c("mamori.net.unidirectional", "Unidirectional flows", "片方向フロー",
      "Repeated flows from one client to one service that never get a packet back (unicast only).",
      "同じクライアントからサービスへの応答のないフロー（ユニキャストのみ）が繰り返された。",
      L, &["T1046"], C_MON,
      &[WINDOW_600, th("min_flows", 10.0, "flows", "flows without a reply")], F::Probing),
    c("mamori.net.dangerous_host", "Dangerous host", "危険なホスト",
      "A host's score in one minute (alert weights as attacker and victim) reached the host-score threshold.",
      "1分間のホストスコア（攻撃側・被害側としての警告の重み合計）がしきい値に達した。",
      H, &[], C_MON, &[], F::Host),
    c("mamori.net.authorized_scan", "Authorised scan (suppressed)", "許可済みスキャン（抑止）",
      "A scan alert from an authorised scanner was suppressed; this record keeps the evidence.",
      "許可済みスキャナからのスキャン警告を抑止した記録。",
      L, &["T1046"], C_MON, &[], F::Host),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_and_table_agree() {
        for (i, id) in CheckId::ALL.iter().enumerate() {
            assert_eq!(id.index(), i);
            assert!(id.as_str().starts_with("mamori."), "{}", id.as_str());
        }
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CHECK_COUNT, "ids are unique");
    }

    #[test]
    fn every_tag_is_known() {
        for c in catalogue() {
            for t in c.techniques {
                assert!(mamori_core::attack::technique(t).is_some(), "{} {t}", c.id);
            }
            for k in c.controls {
                assert!(
                    mamori_core::compliance::control(k).is_some(),
                    "{} {k}",
                    c.id
                );
            }
            assert!(!c.name_ja.is_empty() && !c.description_ja.is_empty());
        }
    }

    #[test]
    fn parse_short_and_full() {
        assert_eq!(CheckId::parse("port_scan"), Some(CheckId::PortScan));
        assert_eq!(
            CheckId::parse("mamori.net.port_scan"),
            Some(CheckId::PortScan)
        );
        assert_eq!(CheckId::parse("intel.ip"), Some(CheckId::IntelIp));
        assert_eq!(CheckId::parse("nope"), None);
    }
}
