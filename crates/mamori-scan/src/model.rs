//! The scan result model shared by the nmap parser and the built-in connect scanner.

use mamori_core::{Counters, Timestamp};
use serde::Serialize;

/// Which scanner produced a result.
pub const SCANNER_NMAP: &str = "nmap";
/// The built-in TCP connect scanner.
pub const SCANNER_CONNECT: &str = "mamori-connect";

/// One scan: what was scanned, by what, and what was found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanResult {
    /// `nmap` or `mamori-connect`.
    pub scanner: String,
    /// Scanner version (nmap `version` attribute).
    pub scanner_version: Option<String>,
    /// Command line as recorded by the scanner.
    pub args: Option<String>,
    /// Targets as given.
    pub targets: Vec<String>,
    /// Scan type and protocol lines (`syn/tcp`, `connect/tcp`).
    pub scan_info: Vec<ScanInfo>,
    /// Start time.
    pub start: Option<Timestamp>,
    /// End time (absent when the scan was interrupted).
    pub end: Option<Timestamp>,
    /// Hosts in scan order.
    pub hosts: Vec<Host>,
    /// Hosts reported up (run stats), if known.
    pub hosts_up: Option<u64>,
    /// Hosts reported down (run stats), if known.
    pub hosts_down: Option<u64>,
    /// Elapsed seconds reported by the scanner.
    pub elapsed_secs: Option<f64>,
    /// Exit status text of the scanner (`success`, `error`).
    pub exit: Option<String>,
    /// True when the result is incomplete (interrupted, truncated, over budget).
    pub partial: bool,
    /// Why the result is partial.
    pub partial_reason: Option<String>,
    /// Anything dropped or rejected while building the result.
    pub counters: Counters,
}

impl ScanResult {
    /// Mark the result partial with a reason (the first reason wins).
    pub fn mark_partial(&mut self, reason: impl Into<String>) {
        self.partial = true;
        if self.partial_reason.is_none() {
            self.partial_reason = Some(reason.into());
        }
    }
    /// Hosts whose status is `up`.
    pub fn up_hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(|h| h.status == "up")
    }
}

/// A `<scaninfo>` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanInfo {
    /// `syn`, `connect`, `udp`…
    pub scan_type: String,
    /// `tcp`, `udp`, `sctp`.
    pub protocol: String,
    /// Number of services (ports) scanned.
    pub num_services: Option<u32>,
}

/// Kind of a host address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddrKind {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// Ethernet MAC.
    Mac,
    /// Anything else the scanner reported.
    Other,
}

/// One address of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// Address text.
    pub addr: String,
    /// Address kind.
    pub kind: AddrKind,
    /// MAC vendor (OUI lookup by nmap).
    pub vendor: Option<String>,
}

/// One scanned host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Host {
    /// `up`, `down`, `unknown`.
    pub status: String,
    /// Why the scanner thinks so (`syn-ack`, `localhost-response`).
    pub status_reason: Option<String>,
    /// Addresses (IPv4/IPv6/MAC).
    pub addresses: Vec<Address>,
    /// Host names (user-given and PTR).
    pub hostnames: Vec<String>,
    /// Ports with a state.
    pub ports: Vec<Port>,
    /// Ports summarised by nmap as `<extraports>` (state, count).
    pub extra_ports: Vec<(String, u32)>,
    /// OS matches, best first.
    pub os_matches: Vec<OsMatch>,
    /// Host-level script output.
    pub scripts: Vec<ScriptOutput>,
    /// Scan start/end of this host.
    pub start: Option<Timestamp>,
    /// End of this host's scan.
    pub end: Option<Timestamp>,
}

impl Host {
    /// The first IP address (IPv4 preferred as listed), the host's identity in diffs and findings.
    pub fn ip(&self) -> Option<&str> {
        self.addresses
            .iter()
            .find(|a| matches!(a.kind, AddrKind::Ipv4 | AddrKind::Ipv6))
            .map(|a| a.addr.as_str())
    }
    /// The MAC address, if the scanner saw one.
    pub fn mac(&self) -> Option<&Address> {
        self.addresses.iter().find(|a| a.kind == AddrKind::Mac)
    }
    /// Ports whose state is `open`.
    pub fn open_ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.state == "open")
    }
}

/// One port of a host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Port {
    /// `tcp`, `udp`, `sctp`.
    pub protocol: String,
    /// Port number.
    pub port: u16,
    /// `open`, `closed`, `filtered`, `open|filtered`…
    pub state: String,
    /// Reason (`syn-ack`, `conn-refused`, `timeout`).
    pub reason: Option<String>,
    /// Service detection result.
    pub service: Option<Service>,
    /// Banner read by the connect scanner (sanitised, bounded).
    pub banner: Option<String>,
    /// Port-level script output.
    pub scripts: Vec<ScriptOutput>,
}

/// How a service was identified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Service name (`ssh`, `http`).
    pub name: Option<String>,
    /// Product (`OpenSSH`).
    pub product: Option<String>,
    /// Version (`7.4`).
    pub version: Option<String>,
    /// Extra info (`protocol 2.0`).
    pub extrainfo: Option<String>,
    /// OS type reported by the service.
    pub ostype: Option<String>,
    /// `probed` or `table` (nmap), `banner` (built-in).
    pub method: Option<String>,
    /// Confidence 0–10 (nmap `conf`).
    pub conf: Option<u8>,
    /// CPE names (as reported: 2.2 URI or 2.3 formatted).
    pub cpes: Vec<String>,
}

/// One OS match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OsMatch {
    /// OS name.
    pub name: String,
    /// Accuracy percent.
    pub accuracy: Option<u8>,
    /// CPEs of the OS classes.
    pub cpes: Vec<String>,
}

/// Output of an NSE script.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScriptOutput {
    /// Script id (`vulners`, `http-headers`).
    pub id: String,
    /// Output text (bounded).
    pub output: String,
    /// CVE ids found in `vulners`/`vulscan` output.
    pub cves: Vec<CveCandidate>,
}

/// A CVE id named by a script, with the score it gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveCandidate {
    /// `CVE-2023-38408`.
    pub id: String,
    /// CVSS score as printed by the script.
    pub score: Option<f32>,
}

/// Extract CVE candidates from `vulners`/`vulscan` script output.
///
/// `vulners` lines look like `\tCVE-2023-38408\t9.8\thttps://vulners.com/cve/CVE-2023-38408`;
/// `vulscan` lines like `[CVE-2016-6210] OpenSSH ... `. Ids are de-duplicated, first score wins.
pub fn cve_candidates(output: &str) -> Vec<CveCandidate> {
    let mut out: Vec<CveCandidate> = Vec::new();
    for line in output.lines() {
        let mut rest = line;
        while let Some(pos) = find_ascii_ci(rest, "CVE-") {
            let tail = rest.get(pos..).unwrap_or("");
            let id_len = cve_id_len(tail);
            if id_len == 0 {
                rest = tail.get(4..).unwrap_or("");
                continue;
            }
            let id = tail.get(..id_len).unwrap_or("").to_ascii_uppercase();
            let after = tail.get(id_len..).unwrap_or("");
            let score = after
                .split(|c: char| c.is_whitespace() || c == ']' || c == ',' || c == '|')
                .find(|s| !s.is_empty())
                .and_then(|s| s.parse::<f32>().ok())
                .filter(|s| (0.0..=10.0).contains(s));
            if !out.iter().any(|c| c.id == id) {
                out.push(CveCandidate { id, score });
            }
            rest = after;
        }
    }
    out
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| {
        h.get(i..i + n.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(n))
    })
}

/// Length of a `CVE-YYYY-NNNN+` id at the start of `s`, 0 when there is none.
pub(crate) fn cve_id_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.len() < 13 || !b.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"CVE-")) {
        return 0;
    }
    let year_ok = b
        .get(4..8)
        .is_some_and(|y| y.iter().all(u8::is_ascii_digit));
    if !year_ok || b.get(8) != Some(&b'-') {
        return 0;
    }
    let digits = b
        .get(9..)
        .unwrap_or(&[])
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if (4..=9).contains(&digits) {
        9 + digits
    } else {
        0
    }
}

/// Whether `s` is a well-formed CVE id.
pub fn is_cve_id(s: &str) -> bool {
    cve_id_len(s) == s.len() && !s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vulners_and_vulscan_lines() {
        let out = "\n  cpe:/a:openbsd:openssh:7.4:\n    \tCVE-2023-38408\t9.8\thttps://vulners.com/cve/CVE-2023-38408\n\tCVE-2016-10012\t7.8\thttps://x\n[CVE-2016-6210] OpenSSH before 7.3 user enumeration\ncve-2016-6210 again\n";
        let c = cve_candidates(out);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].id, "CVE-2023-38408");
        assert_eq!(c[0].score, Some(9.8));
        assert_eq!(c[1].score, Some(7.8));
        assert_eq!(c[2].id, "CVE-2016-6210");
        assert_eq!(c[2].score, None);
    }

    #[test]
    fn cve_id_shape() {
        assert!(is_cve_id("CVE-2021-44228"));
        assert!(is_cve_id("CVE-2021-1234567"));
        assert!(!is_cve_id("CVE-2021-123"));
        assert!(!is_cve_id("CVE-20x1-1234"));
        assert!(!is_cve_id(""));
        assert!(cve_candidates("CVE-CVE-CVE-1999-").is_empty());
    }
}
