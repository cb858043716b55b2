//! Checks over application records: TLS/QUIC, HTTP, and the mail, FTP, Telnet, LDAP, SNMP
//! and SMB records (cleartext credentials, insecure protocol versions).

use std::net::IpAddr;

use mamori_core::{Alert, Event, Timestamp, Value};

use crate::catalogue::CheckId as C;
use crate::engine::{flag, s, time, Engine, Hit};
use crate::util::{cert_name_matches, is_ip_literal, lower, percent_decode};

/// ALPN values that are common enough not to alert on.
const COMMON_ALPN: &[&str] = &[
    "h2",
    "http/1.1",
    "http/1.0",
    "http/0.9",
    "h3",
    "h2c",
    "spdy/1",
    "spdy/2",
    "spdy/3",
    "spdy/3.1",
    "acme-tls/1",
    "dot",
    "doq",
    "imap",
    "pop3",
    "smtp",
    "managesieve",
    "xmpp-client",
    "xmpp-server",
    "stun.turn",
    "stun.nat-discovery",
    "webrtc",
    "c-webrtc",
    "ftp",
    "mqtt",
    "coap",
    "ntske/1",
    "sunrpc",
    "irc",
    "postgresql",
    "grpc-exp",
    "h3-29",
    "hq-interop",
    "apns-security-v3",
    "apns-pack-v1",
];

/// User-Agent substrings of scripting tools and scanners (lower case), with a display name.
const TOOL_UAS: &[(&str, &str)] = &[
    ("curl/", "curl"),
    ("wget/", "Wget"),
    ("python-requests", "python-requests"),
    ("python-urllib", "Python urllib"),
    ("python-httpx", "python-httpx"),
    ("aiohttp", "aiohttp"),
    ("powershell", "PowerShell"),
    ("windowspowershell", "PowerShell"),
    ("go-http-client", "Go-http-client"),
    ("libwww-perl", "libwww-perl"),
    ("lwp::simple", "LWP"),
    ("java/", "Java"),
    ("okhttp", "OkHttp"),
    ("winhttp", "WinHTTP"),
    ("microsoft bits", "BITS"),
    ("certutil", "CertUtil"),
    ("nmap", "Nmap"),
    ("sqlmap", "sqlmap"),
    ("nikto", "Nikto"),
    ("masscan", "masscan"),
    ("zgrab", "zgrab"),
    ("nuclei", "Nuclei"),
    ("gobuster", "gobuster"),
    ("dirbuster", "DirBuster"),
    ("wpscan", "WPScan"),
    ("hydra", "Hydra"),
];

/// Executable magic classes from `mamori.http.magic`.
const EXEC_MAGIC: &[&str] = &[
    "pe", "elf", "macho", "mach-o", "msi", "dex", "class", "script",
];
/// Executable MIME types.
const EXEC_MIME: &[&str] = &[
    "application/x-msdownload",
    "application/x-dosexec",
    "application/x-executable",
    "application/x-elf",
    "application/x-sharedlib",
    "application/vnd.microsoft.portable-executable",
    "application/x-msi",
    "application/x-ms-installer",
    "application/hta",
    "application/x-sh",
    "application/x-csh",
    "application/java-archive",
    "application/x-java-archive",
    "application/vnd.android.package-archive",
    "application/x-mach-binary",
];
/// Executable and script extensions (Maltrail's direct-download list and friends).
const EXEC_EXT: &[&str] = &[
    "exe", "dll", "scr", "ps1", "psm1", "hta", "msi", "bat", "cmd", "vbs", "vbe", "jse", "wsf",
    "jar", "apk", "chm", "sct", "cpl", "pif", "com", "lnk", "hwp", "xpi", "egg", "elf", "sh",
];

/// Patterns looked for in the %-decoded, lower-cased URL (category, needle).
const WEB_ATTACKS: &[(&str, &str)] = &[
    ("Log4Shell", "${jndi:"),
    ("Log4Shell", "${${"),
    ("Log4Shell", "${lower:"),
    ("Log4Shell", "${::-j}"),
    ("SQL injection", "union select"),
    ("SQL injection", "union all select"),
    ("SQL injection", "' or '1'='1"),
    ("SQL injection", "' or 1=1"),
    ("SQL injection", "\" or 1=1"),
    ("SQL injection", " or 1=1--"),
    ("SQL injection", "sleep("),
    ("SQL injection", "benchmark("),
    ("SQL injection", "waitfor delay"),
    ("SQL injection", "information_schema"),
    ("SQL injection", "xp_cmdshell"),
    ("SQL injection", "'--"),
    ("XSS", "<script"),
    ("XSS", "javascript:"),
    ("XSS", "onerror="),
    ("XSS", "onload="),
    ("XSS", "<svg"),
    ("XSS", "<iframe"),
    ("XSS", "document.cookie"),
    ("XSS", "alert("),
    ("RCE", ";wget "),
    ("RCE", ";curl "),
    ("RCE", "|wget "),
    ("RCE", "|curl "),
    ("RCE", "$(wget"),
    ("RCE", "$(curl"),
    ("RCE", ";id;"),
    ("RCE", "|id"),
    ("RCE", "/bin/sh"),
    ("RCE", "/bin/bash"),
    ("RCE", "cmd.exe"),
    ("RCE", "powershell"),
    ("RCE", "<?php"),
    ("RCE", "eval("),
    ("RCE", "system("),
    ("RCE", "exec("),
    ("path traversal", "../"),
    ("path traversal", "..\\"),
    ("path traversal", "/etc/passwd"),
    ("path traversal", "/etc/shadow"),
    ("path traversal", "win.ini"),
    ("path traversal", "boot.ini"),
    ("path traversal", "/proc/self/"),
];

/// Most text of a URL examined for attack patterns.
pub const MAX_URL_SCAN: usize = 4096;

fn web_attack(url: &str) -> Option<(&'static str, &'static str)> {
    let cut = url.get(..url.len().min(MAX_URL_SCAN)).unwrap_or(url);
    let once = percent_decode(cut);
    let twice = percent_decode(&once);
    let text = twice.to_ascii_lowercase();
    WEB_ATTACKS
        .iter()
        .find(|(_, needle)| text.contains(needle))
        .map(|(c, n)| (*c, *n))
}

fn texts(ev: &Event, k: &str) -> Vec<String> {
    match ev.fields.get(k) {
        Some(Value::List(v)) => v
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::Str(s)) => s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn weak_cipher(c: &str) -> Option<&'static str> {
    let u = c.to_ascii_uppercase();
    if u.contains("RC4") {
        Some("RC4")
    } else if u.contains("3DES") || u.contains("DES_EDE") || u.contains("DES-CBC3") {
        Some("3DES")
    } else if u.contains("_DES_") || u.contains("DES_CBC") || u.contains("DES-CBC") {
        Some("DES")
    } else if u.contains("EXPORT") {
        Some("EXPORT")
    } else if u.contains("_ANON_") || u.starts_with("ADH") || u.starts_with("AECDH") {
        Some("anonymous")
    } else if u.contains("NULL") {
        Some("NULL")
    } else {
        None
    }
}

fn old_version(ev: &Event) -> Option<&'static str> {
    let v = s(ev, "tls.version")?;
    let proto = s(ev, "tls.version_protocol")
        .unwrap_or("tls")
        .to_ascii_lowercase();
    let v = v.trim().to_ascii_lowercase();
    match (proto.as_str(), v.as_str()) {
        ("ssl", "2" | "2.0") | (_, "sslv2" | "ssl 2.0") => Some("SSL 2.0"),
        ("ssl", "3" | "3.0") | (_, "sslv3" | "ssl 3.0") => Some("SSL 3.0"),
        (_, "1.0" | "1" | "tlsv1" | "tls 1.0" | "tlsv1.0") => Some("TLS 1.0"),
        (_, "1.1" | "tlsv1.1" | "tls 1.1") => Some("TLS 1.1"),
        _ => None,
    }
}

fn remote_app_by_name(name: &str) -> Option<&'static str> {
    let n = name.trim_end_matches('.');
    let under = |d: &str| n == d || n.ends_with(&format!(".{d}"));
    if under("anydesk.com") {
        Some("AnyDesk")
    } else if under("teamviewer.com") {
        Some("TeamViewer")
    } else {
        None
    }
}

struct Ends {
    t: Timestamp,
    src: IpAddr,
    dst: IpAddr,
    dport: u16,
    dir: String,
}

fn ends(ev: &Event) -> Option<Ends> {
    Some(Ends {
        t: ev.timestamp,
        src: ev.get_ip("source.ip")?,
        dst: ev.get_ip("destination.ip")?,
        dport: ev
            .get_i64("destination.port")
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
        dir: s(ev, "network.direction").unwrap_or("").to_owned(),
    })
}

impl Engine {
    pub(crate) fn tls_checks(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let Some(e) = ends(ev) else {
            self.stats.incr("tls_missing_addresses");
            return;
        };
        let (t, src, dst) = (e.t, e.src, e.dst);
        let sni_raw = s(ev, "tls.client.server_name")
            .map(str::trim)
            .filter(|x| !x.is_empty());
        let sni_l = sni_raw.map(|x| lower(x.trim_end_matches('.')).into_owned());
        let sni = sni_l.as_deref();
        let client_hello = ev.fields.contains_key("tls.client.ja3")
            || ev.fields.contains_key("tls.client.ja4")
            || ev.fields.contains_key("mamori.tls.ja4");
        let cn = s(ev, "tls.server.x509.subject.common_name").map(str::to_owned);
        let server_label = sni
            .map(str::to_owned)
            .or_else(|| cn.clone())
            .unwrap_or_else(|| dst.to_string());

        // Intel: SNI domain, JA3/JA4, certificate.
        if let Some(name) = sni {
            if !is_ip_literal(name) && self.on(C::IntelDomain) {
                if let Some(m) = self.intel.match_domain(name) {
                    let (lbl, ind) = (m.label.to_owned(), m.indicator);
                    let hit = Hit::new(
                        C::IntelDomain,
                        t,
                        format!("{src}>{ind}"),
                        format!("{src} opened TLS to {name} ({dst}), listed as {ind} in {lbl}"),
                        format!(
                            "{src} が {lbl} に {ind} として掲載された {name}（{dst}）とTLS通信した"
                        ),
                    )
                    .src(src)
                    .dst(dst)
                    .port(e.dport)
                    .domain(name)
                    .field("tls.client.server_name", name)
                    .field("threat.indicator.provider", lbl);
                    self.fire(hit, out);
                }
            }
        }
        if self.on(C::IntelTlsFingerprint) {
            let mut found = None;
            if let Some(h) = s(ev, "tls.client.ja3") {
                found = self
                    .intel
                    .match_ja3(h)
                    .map(|m| ("JA3", m.label.to_owned(), m.indicator));
            }
            if found.is_none() {
                if let Some(h) = s(ev, "tls.client.ja4").or_else(|| s(ev, "mamori.tls.ja4")) {
                    found = self
                        .intel
                        .match_ja4(h)
                        .map(|m| ("JA4", m.label.to_owned(), m.indicator));
                }
            }
            if let Some((kind, lbl, ind)) = found {
                let hit = Hit::new(
                    C::IntelTlsFingerprint,
                    t,
                    format!("{src}:{ind}"),
                    format!("{src} made a TLS connection to {server_label} ({dst}) with {kind} {ind}, listed in {lbl}"),
                    format!("{src} が {lbl} に掲載された {kind} {ind} で {server_label}（{dst}）とTLS通信した"),
                )
                .src(src)
                .dst(dst)
                .port(e.dport)
                .field("threat.indicator.provider", lbl);
                self.fire(hit, out);
            }
        }
        if let Some(h) = s(ev, "tls.server.hash.sha1") {
            if self.on(C::IntelCert) {
                if let Some(m) = self.intel.match_cert_sha1(h) {
                    let (lbl, ind) = (m.label.to_owned(), m.indicator);
                    let hit = Hit::new(
                        C::IntelCert,
                        t,
                        format!("{dst}:{ind}"),
                        format!(
                            "{dst} presented certificate SHA-1 {ind} ({}) listed in {lbl} to {src}",
                            cn.as_deref().unwrap_or("no CN")
                        ),
                        format!(
                            "{dst} が {lbl} に掲載された証明書（SHA-1 {ind}）を {src} に提示した"
                        ),
                    )
                    .src(src)
                    .dst(dst)
                    .port(e.dport)
                    .field("tls.server.hash.sha1", ind)
                    .field("threat.indicator.provider", lbl);
                    self.fire(hit, out);
                }
            }
        }
        // Versions and ciphers (server side issue: keyed by server).
        if let Some(v) = old_version(ev) {
            if self.on(C::TlsOldVersion) {
                let hit = Hit::new(
                    C::TlsOldVersion,
                    t,
                    format!("{dst}:{}:{v}", e.dport),
                    format!(
                        "{dst}:{} ({server_label}) negotiated obsolete {v} with {src}",
                        e.dport
                    ),
                    format!(
                        "{dst}:{}（{server_label}）が {src} と古い {v} で通信した",
                        e.dport
                    ),
                )
                .src(src)
                .dst(dst)
                .port(e.dport)
                .field("tls.version", v);
                self.fire(hit, out);
            }
        }
        if let Some(c) = s(ev, "tls.cipher") {
            if let Some(why) = weak_cipher(c) {
                if self.on(C::TlsWeakCipher) {
                    let hit = Hit::new(
                        C::TlsWeakCipher,
                        t,
                        format!("{dst}:{}:{c}", e.dport),
                        format!("{dst}:{} ({server_label}) negotiated weak cipher {c} ({why}) with {src}", e.dport),
                        format!("{dst}:{}（{server_label}）が {src} と脆弱な暗号スイート {c}（{why}）で通信した", e.dport),
                    )
                    .src(src)
                    .dst(dst)
                    .port(e.dport)
                    .field("tls.cipher", c);
                    self.fire(hit, out);
                }
            }
        }
        // Certificate checks.
        let cert_key = format!("{dst}:{}:{}", e.dport, cn.as_deref().unwrap_or(""));
        let cn_text = cn.clone().unwrap_or_else(|| "(no CN)".into());
        if flag(ev, "mamori.tls.self_signed") && self.on(C::TlsSelfSigned) {
            let hit = Hit::new(
                C::TlsSelfSigned,
                t,
                cert_key.clone(),
                format!(
                    "{dst}:{} presented a self-signed certificate for {cn_text} to {src}",
                    e.dport
                ),
                format!(
                    "{dst}:{} が {src} に自己署名証明書（{cn_text}）を提示した",
                    e.dport
                ),
            )
            .src(src)
            .dst(dst)
            .port(e.dport);
            self.fire(hit, out);
        }
        let not_after = time(ev, "tls.server.x509.not_after");
        let not_before = time(ev, "tls.server.x509.not_before");
        let expired = not_after.is_some_and(|na| na < t) || not_before.is_some_and(|nb| nb > t);
        if expired && self.on(C::TlsCertExpired) {
            let (what, what_ja, when) = match not_after {
                Some(na) if na < t => ("expired on", "期限切れ", na),
                _ => (
                    "is not valid before",
                    "有効期間開始前",
                    not_before.unwrap_or(t),
                ),
            };
            let hit = Hit::new(
                C::TlsCertExpired,
                t,
                cert_key.clone(),
                format!(
                    "{dst}:{} presented a certificate for {cn_text} that {what} {} to {src}",
                    e.dport,
                    when.date_string()
                ),
                format!(
                    "{dst}:{} が {src} に{what_ja}の証明書（{cn_text}、{}）を提示した",
                    e.dport,
                    when.date_string()
                ),
            )
            .src(src)
            .dst(dst)
            .port(e.dport);
            self.fire(hit, out);
        }
        if let Some(na) = not_after {
            if !expired && self.on(C::TlsCertExpiring) {
                let days = self.th(C::TlsCertExpiring, "days");
                let left = (na - t).as_secs_f64() / 86_400.0;
                if left <= days {
                    let hit = Hit::new(
                        C::TlsCertExpiring,
                        t,
                        cert_key.clone(),
                        format!("the certificate of {dst}:{} for {cn_text} expires in {left:.0} days ({})", e.dport, na.date_string()),
                        format!("{dst}:{} の証明書（{cn_text}）はあと {left:.0} 日（{}）で期限切れになる", e.dport, na.date_string()),
                    )
                    .src(src)
                    .dst(dst)
                    .port(e.dport);
                    self.fire(hit, out);
                }
            }
        }
        if let Some(name) = sni {
            let sans = texts(ev, "tls.server.x509.alternative_names");
            let have_names = cn.is_some() || !sans.is_empty();
            if have_names && !is_ip_literal(name) && self.on(C::TlsCertMismatch) {
                let ok = cn.as_deref().is_some_and(|c| cert_name_matches(c, name))
                    || sans.iter().any(|n| cert_name_matches(n, name));
                if !ok {
                    let hit = Hit::new(
                        C::TlsCertMismatch,
                        t,
                        format!("{dst}:{}:{name}", e.dport),
                        format!("{src} asked {dst}:{} for {name} but the certificate covers {cn_text} and {} alternative names", e.dport, sans.len()),
                        format!("{src} は {dst}:{} に {name} を要求したが、証明書は {cn_text} と代替名 {} 個しか含まない", e.dport, sans.len()),
                    )
                    .src(src)
                    .dst(dst)
                    .port(e.dport)
                    .domain(name);
                    self.fire(hit, out);
                }
            }
            if is_ip_literal(name) && self.on(C::TlsNumericSni) {
                let hit = Hit::new(
                    C::TlsNumericSni,
                    t,
                    format!("{src}>{name}"),
                    format!("{src} sent the IP address {name} as TLS server name to {dst}"),
                    format!("{src} が {dst} へのTLSでサーバ名にIPアドレス {name} を指定した"),
                )
                .src(src)
                .dst(dst)
                .port(e.dport);
                self.fire(hit, out);
            }
            if let Some(app) = remote_app_by_name(name) {
                if self.on(C::RemoteAccess) {
                    let dir = e.dir.clone();
                    self.remote_access_hit(t, src, dst, e.dport, app, &dir, out);
                }
            }
        } else if client_hello && self.on(C::TlsMissingSni) {
            let hit = Hit::new(
                C::TlsMissingSni,
                t,
                format!("{src}>{dst}:{}", e.dport),
                format!(
                    "{src} opened TLS to {dst}:{} without a server name (SNI)",
                    e.dport
                ),
                format!("{src} が {dst}:{} へSNIなしでTLS接続した", e.dport),
            )
            .src(src)
            .dst(dst)
            .port(e.dport);
            self.fire(hit, out);
        }
        let alpn = texts(ev, "mamori.tls.alpn");
        if let Some(odd) = alpn
            .iter()
            .find(|a| !COMMON_ALPN.contains(&a.to_ascii_lowercase().as_str()))
        {
            if self.on(C::TlsUncommonAlpn) {
                let odd: String = odd.chars().take(64).collect();
                let hit = Hit::new(
                    C::TlsUncommonAlpn,
                    t,
                    format!("{src}>{dst}:{odd}"),
                    format!(
                        "{src} offered uncommon ALPN {odd:?} to {server_label} ({dst}:{})",
                        e.dport
                    ),
                    format!(
                        "{src} が {server_label}（{dst}:{}）へ一般的でないALPN {odd:?} を提示した",
                        e.dport
                    ),
                )
                .src(src)
                .dst(dst)
                .port(e.dport)
                .field("mamori.tls.alpn", odd);
                self.fire(hit, out);
            }
        }
        if flag(ev, "mamori.tls.tor_like") && self.on(C::Tor) {
            let hit = Hit::new(
                C::Tor,
                t,
                src.to_string(),
                format!(
                    "{src} made a Tor-like TLS connection to {dst}:{} (SNI {server_label})",
                    e.dport
                ),
                format!(
                    "{src} が {dst}:{} とTor特有のTLS通信を行った（SNI {server_label}）",
                    e.dport
                ),
            )
            .src(src)
            .dst(dst)
            .port(e.dport);
            self.fire(hit, out);
        }
    }

    pub(crate) fn http_checks(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let Some(e) = ends(ev) else {
            self.stats.incr("http_missing_addresses");
            return;
        };
        let (t, src, dst) = (e.t, e.src, e.dst);
        let host = s(ev, "url.domain").map(|h| lower(h.trim()).into_owned());
        let url = s(ev, "url.original").unwrap_or("");
        let path = s(ev, "url.path").unwrap_or_else(|| url.split('?').next().unwrap_or(url));
        let is_request = ev.fields.contains_key("http.request.method");
        let ua = s(ev, "user_agent.original");
        let host_txt = host.clone().unwrap_or_else(|| dst.to_string());
        let url_short: String = url.chars().take(200).collect();

        if let Some(h) = host.as_deref() {
            let bare = h
                .rsplit_once(':')
                .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(a, _)| a);
            if !is_ip_literal(h) && self.on(C::IntelDomain) {
                if let Some(m) = self.intel.match_domain(bare) {
                    let (lbl, ind) = (m.label.to_owned(), m.indicator);
                    let hit = Hit::new(
                        C::IntelDomain,
                        t,
                        format!("{src}>{ind}"),
                        format!("{src} requested http://{h}{url_short} ({dst}); {ind} is listed in {lbl}"),
                        format!("{src} が {lbl} に掲載された {ind} の http://{h}{url_short}（{dst}）へアクセスした"),
                    )
                    .src(src)
                    .dst(dst)
                    .port(e.dport)
                    .domain(bare)
                    .field("url.domain", bare)
                    .field("threat.indicator.provider", lbl);
                    self.fire(hit, out);
                }
            }
        }
        if !url.is_empty() && self.on(C::IntelUrl) {
            if let Some(m) = self.intel.match_url(host.as_deref().unwrap_or(""), url) {
                let (lbl, ind) = (m.label.to_owned(), m.indicator);
                let hit = Hit::new(
                    C::IntelUrl,
                    t,
                    format!("{src}>{ind}"),
                    format!("{src} requested listed URL {ind} ({lbl}) from {dst}"),
                    format!("{src} が {lbl} に掲載されたURL {ind} を {dst} に要求した"),
                )
                .src(src)
                .dst(dst)
                .port(e.dport)
                .field("url.original", url_short.clone())
                .field("threat.indicator.provider", lbl);
                self.fire(hit, out);
            }
        }
        if s(ev, "mamori.http.authorization_scheme")
            .is_some_and(|a| a.eq_ignore_ascii_case("basic"))
            && self.on(C::CleartextCredentials)
        {
            let who = s(ev, "user.name")
                .unwrap_or("?")
                .chars()
                .take(64)
                .collect::<String>();
            let hit = Hit::new(
                C::CleartextCredentials,
                t,
                format!("{src}>{dst}:HTTP Basic:{who}"),
                format!("{src} sent HTTP Basic credentials for {who:?} in clear text to {host_txt} ({dst}:{})", e.dport),
                format!("{src} が {host_txt}（{dst}:{}）へ HTTP Basic の認証情報（ユーザ {who:?}）を平文で送った", e.dport),
            )
            .src(src)
            .dst(dst)
            .port(e.dport)
            .user(&who);
            self.fire(hit, out);
        }
        if is_request && self.on(C::HttpSuspiciousUa) {
            let tool = match ua.map(str::trim) {
                None | Some("") => Some("empty"),
                Some(u) => {
                    let l = u.to_ascii_lowercase();
                    TOOL_UAS
                        .iter()
                        .find(|(n, _)| l.contains(n))
                        .map(|(_, d)| *d)
                }
            };
            if let Some(tool) = tool {
                let shown: String = ua.unwrap_or("").chars().take(120).collect();
                let (msg, msg_ja) = if tool == "empty" {
                    (
                        format!(
                            "{src} sent HTTP requests to {host_txt} ({dst}) without a User-Agent"
                        ),
                        format!(
                            "{src} がUser-Agentなしで {host_txt}（{dst}）へHTTPリクエストを送った"
                        ),
                    )
                } else {
                    (
                        format!("{src} sent HTTP requests to {host_txt} ({dst}) with {tool} User-Agent {shown:?}"),
                        format!("{src} が {tool} のUser-Agent {shown:?} で {host_txt}（{dst}）へHTTPリクエストを送った"),
                    )
                };
                let hit = Hit::new(C::HttpSuspiciousUa, t, format!("{src}:{tool}"), msg, msg_ja)
                    .src(src)
                    .dst(dst)
                    .port(e.dport)
                    .field("user_agent.original", shown)
                    .field("mamori.http.tool", tool);
                let hit = match host.as_deref() {
                    Some(h) => hit.domain(h),
                    None => hit,
                };
                self.fire(hit, out);
            }
        }
        if self.on(C::HttpBinaryDownload) {
            let status_ok = ev
                .get_i64("http.response.status_code")
                .is_none_or(|c| (200..300).contains(&c));
            let magic = s(ev, "mamori.http.magic").map(str::to_ascii_lowercase);
            let mime = s(ev, "http.response.mime_type").map(|m| {
                m.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
            let fname = s(ev, "file.name").unwrap_or("");
            let ext_of = |p: &str| -> Option<String> {
                let last = p.rsplit('/').next().unwrap_or(p);
                let (_, ext) = last.rsplit_once('.')?;
                let ext = ext.to_ascii_lowercase();
                EXEC_EXT.contains(&ext.as_str()).then_some(ext)
            };
            let why = if let Some(m) = magic.as_deref().filter(|m| EXEC_MAGIC.contains(m)) {
                Some(format!("{m} magic bytes"))
            } else if let Some(m) = mime.as_deref().filter(|m| EXEC_MIME.contains(m)) {
                Some(format!("type {m}"))
            } else if let Some(x) = ext_of(fname).or_else(|| ext_of(path)) {
                // The extension alone is weaker: do not count HTML answers (error pages).
                (mime.as_deref() != Some("text/html") && magic.is_none())
                    .then(|| format!(".{x} file"))
            } else {
                None
            };
            if let (Some(why), true) = (
                why,
                status_ok && (is_request || magic.is_some() || mime.is_some()),
            ) {
                let hit = Hit::new(
                    C::HttpBinaryDownload,
                    t,
                    format!("{src}>{host_txt}{}", path.chars().take(200).collect::<String>()),
                    format!("{src} downloaded an executable ({why}) from http://{host_txt}{url_short} ({dst})"),
                    format!("{src} が http://{host_txt}{url_short}（{dst}）から実行ファイル（{why}）をダウンロードした"),
                )
                .src(src)
                .dst(dst)
                .port(e.dport)
                .field("url.original", url_short.clone());
                self.fire(hit, out);
            }
        }
        if self.on(C::HttpWebAttack) {
            let found = web_attack(url).map(|(c, n)| (c, n, "URL")).or_else(|| {
                ua.and_then(|u| {
                    web_attack(u)
                        .filter(|(c, _)| *c == "Log4Shell")
                        .map(|(c, n)| (c, n, "User-Agent"))
                })
            });
            if let Some((cat, needle, place)) = found {
                let hit = Hit::new(
                    C::HttpWebAttack,
                    t,
                    format!("{src}>{dst}:{cat}"),
                    format!("{src} sent a {cat} pattern ({needle:?} in the {place}) to {host_txt} ({dst}): {url_short}"),
                    format!("{src} が {host_txt}（{dst}）へ {cat} のパターン（{place} に {needle:?}）を送った: {url_short}"),
                )
                .src(src)
                .dst(dst)
                .port(e.dport)
                .field("url.original", url_short.clone())
                .field("mamori.http.attack", cat);
                self.fire(hit, out);
            }
        }
        if let Some(h) = host.as_deref() {
            if is_ip_literal(h) && is_request && self.on(C::HttpNumericHost) {
                let hit = Hit::new(
                    C::HttpNumericHost,
                    t,
                    format!("{src}>{h}"),
                    format!("{src} addressed HTTP requests to the bare IP address {h}"),
                    format!("{src} がIPアドレス {h} を直接Hostに指定してHTTPリクエストを送った"),
                )
                .src(src)
                .dst(dst)
                .port(e.dport);
                self.fire(hit, out);
            }
        }
        if is_request && self.on(C::HttpSuspiciousHeader) {
            let max_ua = self.th(C::HttpSuspiciousHeader, "max_user_agent") as usize;
            let version = s(ev, "http.version").unwrap_or("");
            let reason = if host.is_none() && version == "1.1" {
                Some("an HTTP/1.1 request without Host".to_owned())
            } else if ua.is_some_and(|u| u.len() > max_ua.max(1)) {
                Some(format!("a {}-character User-Agent", ua.map_or(0, str::len)))
            } else if let Some(x) = s(ev, "mamori.http.x_forwarded_for") {
                let bad = x.split(',').any(|p| {
                    let p = p.trim();
                    !p.is_empty() && !is_ip_literal(p) && p != "unknown"
                });
                bad.then(|| {
                    format!(
                        "X-Forwarded-For {:?} that is not a list of addresses",
                        x.chars().take(80).collect::<String>()
                    )
                })
            } else {
                None
            };
            if let Some(reason) = reason {
                let hit = Hit::new(
                    C::HttpSuspiciousHeader,
                    t,
                    format!(
                        "{src}>{dst}:{}",
                        reason.split_whitespace().nth(1).unwrap_or("")
                    ),
                    format!("{src} sent {reason} to {host_txt} ({dst})"),
                    format!("{src} が {host_txt}（{dst}）へ不審なヘッダ（{reason}）を送った"),
                )
                .src(src)
                .dst(dst)
                .port(e.dport);
                self.fire(hit, out);
            }
        }
    }

    pub(crate) fn proto_checks(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        let Some(e) = ends(ev) else {
            self.stats.incr("proto_missing_addresses");
            return;
        };
        let (t, src, dst) = (e.t, e.src, e.dst);
        let ds = ev.dataset.to_string();
        let user = s(ev, "user.name").map(|u| u.chars().take(64).collect::<String>());
        // Cleartext credentials.
        let cred = match ds.as_str() {
            "ftp" if user.is_some() => Some("FTP USER/PASS"),
            "telnet" if user.is_some() => Some("Telnet login"),
            "smtp" | "imap" | "pop3" if flag(ev, "mamori.mail.cleartext_auth") => {
                Some(match ds.as_str() {
                    "smtp" => "SMTP AUTH",
                    "imap" => "IMAP LOGIN",
                    _ => "POP3 USER/PASS",
                })
            }
            "ldap"
                if s(ev, "mamori.ldap.bind_type")
                    .is_some_and(|b| b.eq_ignore_ascii_case("simple"))
                    && s(ev, "mamori.ldap.bind_dn").is_some_and(|d| !d.is_empty()) =>
            {
                Some("LDAP simple bind")
            }
            _ => None,
        };
        if let Some(what) = cred {
            if self.on(C::CleartextCredentials) {
                let mech = s(ev, "mamori.mail.auth_mechanism")
                    .map(|m| format!(" {m}"))
                    .unwrap_or_default();
                let who = user
                    .clone()
                    .or_else(|| s(ev, "mamori.ldap.bind_dn").map(str::to_owned))
                    .unwrap_or_else(|| "?".into());
                let hit = Hit::new(
                    C::CleartextCredentials,
                    t,
                    format!("{src}>{dst}:{what}:{who}"),
                    format!("{src} sent {what}{mech} credentials for {who:?} in clear text to {dst}:{}", e.dport),
                    format!("{src} が {dst}:{} へ {what}{mech} の認証情報（ユーザ {who:?}）を平文で送った", e.dport),
                )
                .src(src)
                .dst(dst)
                .port(e.dport)
                .user(&who);
                self.fire(hit, out);
            }
        }
        // Insecure protocol versions.
        let insecure = match ds.as_str() {
            "smb" => {
                let v1 = ev.get_i64("mamori.smb.version") == Some(1)
                    || s(ev, "mamori.smb.version") == Some("1")
                    || s(ev, "mamori.smb.dialect").is_some_and(|d| {
                        d.contains("NT LM 0.12") || d.eq_ignore_ascii_case("smb1")
                    });
                v1.then(|| ("SMBv1".to_owned(), None))
            }
            "ldap"
                if s(ev, "mamori.ldap.bind_type")
                    .is_some_and(|b| b.eq_ignore_ascii_case("simple")) =>
            {
                Some(("LDAP simple bind".to_owned(), None))
            }
            "snmp" => {
                let v = match ev.fields.get("mamori.snmp.version") {
                    Some(Value::Int(0..=2)) => Some("SNMPv1/v2c"),
                    Some(Value::Str(s)) => match s.to_ascii_lowercase().trim_start_matches('v') {
                        "1" => Some("SNMPv1"),
                        "2" | "2c" => Some("SNMPv2c"),
                        _ => None,
                    },
                    _ => None,
                };
                v.map(|v| {
                    let community = s(ev, "mamori.snmp.community")
                        .map(|c| format!("community {:?}", c.chars().take(32).collect::<String>()));
                    (v.to_owned(), community)
                })
            }
            _ => None,
        };
        if let Some((name, detail)) = insecure {
            if self.on(C::InsecureProtocol) {
                let dir = e.dir.clone();
                self.insecure_hit(t, src, dst, e.dport, &name, &dir, detail.as_deref(), out);
            }
        }
    }
}
