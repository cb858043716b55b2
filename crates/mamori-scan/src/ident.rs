//! Service identification from banners and product strings, mapped to CPE 2.3.
//!
//! Recognises SSH identification strings, FTP/SMTP/POP3/IMAP greetings, HTTP `Server`
//! headers (`Apache/2.4.49 (Unix) OpenSSL/1.1.1k` yields two products) and the MySQL/MariaDB
//! handshake. Product names (from banners or nmap `product` attributes) map to NVD
//! vendor:product pairs, with aliases where NVD uses several (nginx, vsftpd, MySQL).

use serde::Serialize;

use crate::cpe::Cpe;

/// Longest banner examined.
pub const BANNER_MAX_LEN: usize = 4096;

/// One identified product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identified {
    /// Service name (`ssh`, `ftp`, `http`…).
    pub service: String,
    /// Product as it appears to people (`OpenSSH`).
    pub product: String,
    /// Version when the banner shows one.
    pub version: Option<String>,
    /// CPE names (first is primary; others are NVD aliases).
    pub cpes: Vec<Cpe>,
    /// Confidence 0–10 (8 with a version, 5 without, 3 for a bare product guess).
    pub confidence: u8,
}

/// A known product: lowercase name to look for, NVD vendor, NVD product, NVD aliases.
type ProductEntry = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Known products.
const PRODUCTS: &[ProductEntry] = &[
    ("openssh", "openbsd", "openssh", &[]),
    ("dropbear", "dropbear_ssh_project", "dropbear_ssh", &[]),
    (
        "vsftpd",
        "beasts",
        "vsftpd",
        &[("vsftpd_project", "vsftpd"), ("vsftpd", "vsftpd")],
    ),
    ("proftpd", "proftpd", "proftpd", &[]),
    ("pure-ftpd", "pureftpd", "pure-ftpd", &[]),
    (
        "filezilla server",
        "filezilla-project",
        "filezilla_server",
        &[],
    ),
    ("apache tomcat", "apache", "tomcat", &[]),
    ("tomcat", "apache", "tomcat", &[]),
    ("apache httpd", "apache", "http_server", &[]),
    ("apache http server", "apache", "http_server", &[]),
    ("apache", "apache", "http_server", &[]),
    (
        "nginx",
        "f5",
        "nginx",
        &[("nginx", "nginx"), ("igor_sysoev", "nginx")],
    ),
    (
        "microsoft-iis",
        "microsoft",
        "internet_information_services",
        &[("microsoft", "iis")],
    ),
    (
        "microsoft iis",
        "microsoft",
        "internet_information_services",
        &[("microsoft", "iis")],
    ),
    ("lighttpd", "lighttpd", "lighttpd", &[]),
    ("openssl", "openssl", "openssl", &[]),
    ("postfix", "postfix", "postfix", &[]),
    ("exim", "exim", "exim", &[]),
    ("sendmail", "sendmail", "sendmail", &[]),
    ("dovecot", "dovecot", "dovecot", &[]),
    ("samba", "samba", "samba", &[]),
    ("mariadb", "mariadb", "mariadb", &[]),
    ("mysql", "oracle", "mysql", &[("mysql", "mysql")]),
    ("postgresql", "postgresql", "postgresql", &[]),
    ("isc bind", "isc", "bind", &[]),
    ("bind", "isc", "bind", &[]),
    ("php", "php", "php", &[]),
];

/// Map a product name (and version) to CPEs, e.g. nmap's `Apache httpd` + `2.4.49`.
///
/// ```
/// use mamori_scan::ident::cpes_for_product;
/// let c = cpes_for_product("OpenSSH", Some("7.4"));
/// assert_eq!(c[0].to_string(), "cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*");
/// ```
pub fn cpes_for_product(product: &str, version: Option<&str>) -> Vec<Cpe> {
    let p = product.trim().to_ascii_lowercase();
    if p.is_empty() {
        return Vec::new();
    }
    for (needle, vendor, prod, aliases) in PRODUCTS {
        let hit = if *needle == "apache" {
            // bare "Apache" is the web server only as the whole name (not "Apache Struts")
            p == "apache"
        } else if needle.len() <= 4 {
            // short names must be a whole word: `bind`, `php`, `exim`
            p.split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                .any(|w| w == *needle)
        } else {
            p.contains(needle)
        };
        if hit {
            let mut out = vec![make_cpe(vendor, prod, version)];
            out.extend(aliases.iter().map(|(v, pr)| make_cpe(v, pr, version)));
            return out;
        }
    }
    Vec::new()
}

/// OpenSSH-style `7.4p1` is split into version `7.4` and update `p1`, as NVD records it.
fn make_cpe(vendor: &str, product: &str, version: Option<&str>) -> Cpe {
    let Some(v) = version.map(str::trim).filter(|v| !v.is_empty()) else {
        return Cpe::application(vendor, product, None);
    };
    if product == "openssh" {
        if let Some(pos) = v.find('p') {
            let (ver, upd) = v.split_at(pos);
            if !ver.is_empty() && upd.len() > 1 && upd.bytes().skip(1).all(|b| b.is_ascii_digit()) {
                let base = Cpe::application(vendor, product, Some(ver)).to_string();
                let s = base.replacen(&format!(":{ver}:*:"), &format!(":{ver}:{upd}:"), 1);
                if let Ok(c) = Cpe::parse(&s) {
                    return c;
                }
            }
        }
    }
    Cpe::application(vendor, product, Some(v))
}

/// Equivalent names of a CPE: NVD aliases of the same product (nginx under `f5`, `nginx` and
/// `igor_sysoev`…) and OpenSSH `7.4p1` split into version `7.4` + update `p1`. The input comes first.
pub fn equivalents(cpe: &Cpe) -> Vec<Cpe> {
    let mut out = vec![cpe.clone()];
    let version = cpe.version_plain();
    if cpe.vendor() == "openbsd" && cpe.product() == "openssh" && cpe.update() == "*" {
        let normal = make_cpe("openbsd", "openssh", version.as_deref());
        if normal != *cpe {
            out[0] = normal;
        }
    }
    for (_, vendor, prod, aliases) in PRODUCTS {
        let names = std::iter::once((*vendor, *prod)).chain(aliases.iter().copied());
        let names: Vec<(&str, &str)> = names.collect();
        if names
            .iter()
            .any(|(v, p)| *v == cpe.vendor() && *p == cpe.product())
        {
            for (v, p) in names {
                let c = make_cpe(v, p, version.as_deref());
                if !out
                    .iter()
                    .any(|o| o.vendor() == c.vendor() && o.product() == c.product())
                {
                    out.push(c);
                }
            }
            break;
        }
    }
    out
}

fn version_token(s: &str) -> Option<String> {
    let v: String = s
        .trim_start_matches(['v', 'V'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '~'))
        .collect();
    let v = v.trim_end_matches(['.', '-', '_']).to_string();
    (v.chars().next().is_some_and(|c| c.is_ascii_digit()) && v.len() <= 40).then_some(v)
}

fn ident(service: &str, product: &str, version: Option<String>) -> Option<Identified> {
    let cpes = cpes_for_product(product, version.as_deref());
    if cpes.is_empty() {
        return None;
    }
    Some(Identified {
        service: service.into(),
        product: product.into(),
        confidence: if version.is_some() { 8 } else { 5 },
        version,
        cpes,
    })
}

/// Printable form of a banner: control bytes become `.`, CR LF become `\n`, bounded.
pub fn sanitize_banner(raw: &[u8]) -> String {
    let raw = raw.get(..raw.len().min(BANNER_MAX_LEN)).unwrap_or(raw);
    let mut s = String::with_capacity(raw.len());
    for &b in raw {
        match b {
            b'\r' => {}
            b'\n' | b'\t' => s.push(b as char),
            0x20..=0x7e => s.push(b as char),
            _ => s.push('.'),
        }
    }
    s.trim().to_string()
}

/// Identify products in a raw banner read from `port`.
///
/// ```
/// use mamori_scan::ident::identify_banner;
/// let ids = identify_banner(b"220 (vsFTPd 2.3.4)\r\n", 21);
/// assert_eq!(ids[0].product, "vsftpd");
/// assert_eq!(ids[0].version.as_deref(), Some("2.3.4"));
/// ```
pub fn identify_banner(raw: &[u8], port: u16) -> Vec<Identified> {
    if let Some(id) = mysql_handshake(raw) {
        return vec![id];
    }
    let text = sanitize_banner(raw);
    let mut out = Vec::new();
    let first = text.lines().next().unwrap_or("");
    // SSH identification string: SSH-2.0-OpenSSH_7.4p1 Debian-10
    if let Some(rest) = first.strip_prefix("SSH-") {
        let softver = rest.split_once('-').map_or("", |(_, s)| s);
        let soft = softver.split_whitespace().next().unwrap_or("");
        let (name, ver) = soft.split_once('_').unwrap_or((soft, ""));
        let version = version_token(ver);
        if let Some(id) = ident("ssh", &name.to_ascii_lowercase(), version) {
            out.push(Identified {
                product: if name.eq_ignore_ascii_case("openssh") {
                    "OpenSSH".into()
                } else {
                    name.into()
                },
                ..id
            });
        }
        return out;
    }
    // HTTP response: take the Server header.
    if text.starts_with("HTTP/") {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case("server") {
                    out.extend(server_header(v.trim()));
                }
            }
        }
        return out;
    }
    let lower = first.to_ascii_lowercase();
    let service = match port {
        21 | 2121 => "ftp",
        25 | 465 | 587 => "smtp",
        110 | 995 => "pop3",
        143 | 993 => "imap",
        _ if lower.starts_with("220") => "ftp-or-smtp",
        _ if lower.starts_with("+ok") => "pop3",
        _ if lower.starts_with("* ok") => "imap",
        _ => "unknown",
    };
    let service = if service == "ftp-or-smtp" {
        if lower.contains("smtp") || lower.contains("mail") {
            "smtp"
        } else {
            "ftp"
        }
    } else {
        service
    };
    // Find a known product word; its version is the next version-looking token.
    let words: Vec<&str> = first
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',' | ';'))
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        let lw = w.to_ascii_lowercase();
        let (name, inline_ver) = match lw.split_once('/') {
            Some((n, v)) => (n.to_string(), version_token(v)),
            None => (lw.clone(), None),
        };
        let name = if name == "filezilla" {
            "filezilla server".to_string()
        } else {
            name
        };
        if cpes_for_product(&name, None).is_empty() || name == "server" {
            continue;
        }
        let version = inline_ver.or_else(|| words.get(i + 1).and_then(|n| version_token(n)));
        if let Some(id) = ident(service, &name, version) {
            out.push(id);
            break;
        }
    }
    out
}

/// Parse an HTTP `Server` header value into products.
pub fn server_header(v: &str) -> Vec<Identified> {
    let mut out = Vec::new();
    for tok in v.split_whitespace() {
        let tok = tok.trim_matches(|c| c == '(' || c == ')');
        let (name, ver) = match tok.split_once('/') {
            Some((n, v)) => (n, version_token(v)),
            None => (tok, None),
        };
        if let Some(id) = ident("http", name, ver) {
            if !out.iter().any(|o: &Identified| o.cpes == id.cpes) {
                out.push(id);
            }
        }
    }
    out
}

/// MySQL/MariaDB initial handshake: 3-byte length, sequence 0, protocol 10, NUL-terminated version.
fn mysql_handshake(raw: &[u8]) -> Option<Identified> {
    if raw.len() < 6 || raw.get(3) != Some(&0) || raw.get(4) != Some(&10) {
        return None;
    }
    let rest = raw.get(5..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    let ver = std::str::from_utf8(rest.get(..end)?).ok()?;
    let (product, v) = if let Some(pos) = ver.find("-MariaDB") {
        let base = ver.get(..pos)?;
        // 5.5.5- prefix used by MariaDB 10+ for compatibility
        ("mariadb", base.strip_prefix("5.5.5-").unwrap_or(base))
    } else {
        ("mysql", ver.split('-').next().unwrap_or(ver))
    };
    let mut id = ident("mysql", product, version_token(v))?;
    id.product = if product == "mysql" {
        "MySQL".into()
    } else {
        "MariaDB".into()
    };
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(raw: &[u8], port: u16) -> Identified {
        identify_banner(raw, port).into_iter().next().unwrap()
    }

    #[test]
    fn ssh_and_ftp() {
        let id = first(b"SSH-2.0-OpenSSH_7.4\r\n", 22);
        assert_eq!(
            id.cpes[0].to_string(),
            "cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*"
        );
        let id = first(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n", 22);
        assert_eq!(id.version.as_deref(), Some("8.9p1"));
        assert_eq!(
            id.cpes[0].to_string(),
            "cpe:2.3:a:openbsd:openssh:8.9:p1:*:*:*:*:*:*"
        );
        assert_eq!(id.cpes[0].full_version().as_deref(), Some("8.9p1"));
        let id = first(b"SSH-2.0-dropbear_2019.78", 22);
        assert_eq!(id.cpes[0].vendor(), "dropbear_ssh_project");
        let id = first(b"220 (vsFTPd 2.3.4)\r\n", 21);
        assert_eq!(
            id.cpes[0].to_string(),
            "cpe:2.3:a:beasts:vsftpd:2.3.4:*:*:*:*:*:*:*"
        );
        assert_eq!(id.cpes.len(), 3);
        let id = first(
            b"220 ProFTPD 1.3.5 Server (Debian) [::ffff:10.0.0.1]\r\n",
            21,
        );
        assert_eq!(
            (id.product.as_str(), id.version.as_deref()),
            ("proftpd", Some("1.3.5"))
        );
    }

    #[test]
    fn mail_http_mysql() {
        let id = first(
            b"220 mx.example.jp ESMTP Exim 4.92 Mon, 01 Jan 2024 00:00:00 +0900\r\n",
            25,
        );
        assert_eq!(
            (id.service.as_str(), id.version.as_deref()),
            ("smtp", Some("4.92"))
        );
        let id = first(b"220 mail.example.jp ESMTP Postfix (Ubuntu)\r\n", 25);
        assert_eq!(
            (id.product.as_str(), id.version, id.confidence),
            ("postfix", None, 5)
        );
        let id = first(
            b"* OK [CAPABILITY IMAP4rev1] Dovecot (Ubuntu) ready.\r\n",
            143,
        );
        assert_eq!(id.cpes[0].vendor(), "dovecot");
        let ids = identify_banner(
            b"HTTP/1.1 200 OK\r\nDate: x\r\nServer: Apache/2.4.49 (Unix) OpenSSL/1.1.1k\r\n\r\n",
            80,
        );
        assert_eq!(ids.len(), 2);
        assert_eq!(
            ids[0].cpes[0].to_string(),
            "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"
        );
        assert_eq!(
            ids[1].cpes[0].to_string(),
            "cpe:2.3:a:openssl:openssl:1.1.1k:*:*:*:*:*:*:*"
        );
        let ids = identify_banner(b"HTTP/1.0 200 OK\r\nserver: Microsoft-IIS/10.0\r\n\r\n", 80);
        assert_eq!(ids[0].cpes[0].product(), "internet_information_services");
        let ids = identify_banner(
            b"HTTP/1.1 404\r\nServer: nginx/1.18.0 (Ubuntu)\r\n\r\n",
            8080,
        );
        assert_eq!(ids[0].cpes.len(), 3);
        let mut hs = vec![0x4a, 0, 0, 0, 10];
        hs.extend_from_slice(b"5.7.33-0ubuntu0.18.04.1\0rest");
        let id = first(&hs, 3306);
        assert_eq!(
            (id.product.as_str(), id.version.as_deref()),
            ("MySQL", Some("5.7.33"))
        );
        let mut hs = vec![0x4a, 0, 0, 0, 10];
        hs.extend_from_slice(b"5.5.5-10.3.39-MariaDB-0+deb10u1\0");
        let id = first(&hs, 3306);
        assert_eq!(id.version.as_deref(), Some("10.3.39"));
        assert_eq!(id.cpes[0].vendor(), "mariadb");
    }

    #[test]
    fn products_and_garbage() {
        assert_eq!(
            cpes_for_product("Apache httpd", Some("2.4.6"))[0].product(),
            "http_server"
        );
        assert_eq!(
            cpes_for_product("ISC BIND", Some("9.16.1"))[0].vendor(),
            "isc"
        );
        assert_eq!(
            cpes_for_product("Samba smbd", Some("4.6.2"))[0].product(),
            "samba"
        );
        assert_eq!(
            cpes_for_product("PostgreSQL DB", None)[0].product(),
            "postgresql"
        );
        assert!(cpes_for_product("bindery", None).is_empty());
        assert!(cpes_for_product("Apache Struts", None).is_empty());
        assert_eq!(
            cpes_for_product("Apache HTTP Server", None)[0].product(),
            "http_server"
        );
        assert!(cpes_for_product("", None).is_empty());
        assert!(identify_banner(b"", 22).is_empty());
        assert!(identify_banner(&[0xff; 9000], 22).is_empty());
        assert!(identify_banner(b"SSH-", 22).is_empty());
        assert!(identify_banner(&[0, 0, 0, 0, 10, b'5'], 3306).is_empty());
        assert_eq!(sanitize_banner(b"a\x00b\r\nc"), "a.b\nc");
    }
}
