//! Streaming, hardened parser for nmap XML output (`-oX`).
//!
//! Built on [`crate::xmlsafe`]: DTDs with internal subsets or external identifiers and any
//! non-predefined entity are rejected, never expanded. A document that ends early (an
//! interrupted scan) or breaks after the `<nmaprun>` root started yields the hosts completed so
//! far with [`ScanResult::partial`] set.

use std::io::BufRead;

use mamori_core::Timestamp;

use crate::model::{
    cve_candidates, AddrKind, Address, Host, OsMatch, Port, ScanInfo, ScanResult, ScriptOutput,
    Service, SCANNER_NMAP,
};
use crate::xmlsafe::{attr, Item, SafeXml, XmlError};

/// Most hosts kept from one document; more are counted as `nmap_hosts_over_limit`.
pub const NMAP_MAX_HOSTS: usize = 1 << 20;
/// Most ports kept per host; more are counted as `nmap_ports_over_limit`.
pub const NMAP_MAX_PORTS_PER_HOST: usize = 3 * 65_536;
/// Longest script output kept (bytes); longer output is clipped and counted.
pub const NMAP_MAX_SCRIPT_OUTPUT: usize = 64 * 1024;

/// Why an nmap XML document could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum NmapXmlError {
    /// Hardened XML layer refused the document.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The root element is not `<nmaprun>`.
    #[error("{input}: not an nmap xml document (root element <{root}>)")]
    NotNmap {
        /// Input name.
        input: String,
        /// The root element found.
        root: String,
    },
    /// No root element at all (empty, not XML, or truncated before the root).
    #[error("{input}: no <nmaprun> element found (empty, not xml, or truncated before the root)")]
    NoRoot {
        /// Input name.
        input: String,
    },
}

/// Progress of a running scan, from `<taskprogress>` elements or `--stats-every` lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Task (`SYN Stealth Scan`, `Service scan`).
    pub task: String,
    /// Percent done.
    pub percent: f64,
    /// Seconds remaining estimated by nmap.
    pub remaining_secs: Option<u64>,
}

fn ts(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v > 0)
        .map(Timestamp::from_unix_secs)
}

fn opt(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn clip_output(s: &str, result: &mut ScanResult) -> String {
    if s.len() <= NMAP_MAX_SCRIPT_OUTPUT {
        return s.to_string();
    }
    result.counters.incr("nmap_script_output_clipped");
    let mut cut = NMAP_MAX_SCRIPT_OUTPUT;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.get(..cut).unwrap_or("").to_string()
}

/// Where a `<cpe>` text belongs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CpeSlot {
    None,
    Service,
    Os,
}

/// Parse an nmap XML document from a reader; `input` names it in errors.
///
/// ```
/// let xml = br#"<?xml version="1.0"?><nmaprun scanner="nmap" version="7.94" start="1700000000">
/// <host><status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/>
/// <ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>
/// <service name="ssh" product="OpenSSH" version="7.4"><cpe>cpe:/a:openbsd:openssh:7.4</cpe></service>
/// </port></ports></host></nmaprun>"#;
/// let r = mamori_scan::nmap_xml::parse(&xml[..], "example.xml").unwrap();
/// assert_eq!(r.hosts[0].ports[0].service.as_ref().unwrap().cpes[0], "cpe:/a:openbsd:openssh:7.4");
/// assert!(!r.partial);
/// ```
pub fn parse<R: BufRead>(reader: R, input: &str) -> Result<ScanResult, NmapXmlError> {
    parse_with_progress(reader, input, &mut |_| {})
}

/// [`parse`], calling `progress` for each `<taskprogress>` element as it streams in.
pub fn parse_with_progress<R: BufRead>(
    reader: R,
    input: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<ScanResult, NmapXmlError> {
    let mut x = SafeXml::new(reader, input);
    let mut result = ScanResult {
        scanner: SCANNER_NMAP.into(),
        ..ScanResult::default()
    };
    // Find the root.
    loop {
        match x.next_item()? {
            Item::Start { name, attrs, empty } => {
                if name != "nmaprun" {
                    return Err(NmapXmlError::NotNmap {
                        input: input.into(),
                        root: name.chars().take(64).collect(),
                    });
                }
                result.scanner = opt(attr(&attrs, "scanner")).unwrap_or_else(|| "nmap".into());
                result.scanner_version = opt(attr(&attrs, "version"));
                result.args = opt(attr(&attrs, "args"));
                result.start = ts(attr(&attrs, "start"));
                if empty {
                    result.mark_partial(format!("{input}: empty <nmaprun/>"));
                    return Ok(result);
                }
                break;
            }
            Item::Text(t) if t.trim().is_empty() => {}
            Item::Text(_) => {
                // Text before any root: not XML we know (for example JSON).
                return Err(NmapXmlError::NoRoot {
                    input: input.into(),
                });
            }
            Item::End(_) => {
                return Err(NmapXmlError::NoRoot {
                    input: input.into(),
                })
            }
            Item::Eof => {
                return Err(NmapXmlError::NoRoot {
                    input: input.into(),
                })
            }
        }
    }
    let mut st = State::default();
    let outcome = body(&mut x, &mut result, &mut st, progress);
    if x.clipped > 0 {
        result.counters.add("xml_value_clipped", x.clipped);
    }
    match outcome {
        Ok(true) => {}
        Ok(false) => {
            let pos = x.position();
            let inside = st.path.last().cloned().unwrap_or_else(|| "nmaprun".into());
            keep_incomplete(&mut result, &mut st);
            result.mark_partial(format!(
                "{input}: document ended at byte {pos} inside <{inside}> (interrupted scan)"
            ));
        }
        Err(e @ (XmlError::Dtd { .. } | XmlError::Entity { .. })) => return Err(e.into()),
        Err(e) => {
            keep_incomplete(&mut result, &mut st);
            result
                .counters
                .incr_with_sample("nmap_xml_error", || e.to_string());
            result.mark_partial(e.to_string());
        }
    }
    Ok(result)
}

/// An interrupted scan keeps the host it was working on (with the ports read so far); the
/// result is partial, so diffs do not treat its missing ports as closed.
fn keep_incomplete(result: &mut ScanResult, st: &mut State) {
    if let Some(mut h) = st.host.take() {
        if let Some(p) = st.port.take() {
            h.ports.push(p);
        }
        result.counters.incr("nmap_incomplete_host_kept");
        if result.hosts.len() < NMAP_MAX_HOSTS {
            result.hosts.push(h);
        }
    }
}

#[derive(Default)]
struct State {
    path: Vec<String>,
    host: Option<Host>,
    port: Option<Port>,
    os: Option<OsMatch>,
    cpe_slot: Option<CpeSlot>,
    text: String,
}

fn parent_is(path: &[String], name: &str) -> bool {
    path.len() >= 2 && path.get(path.len() - 2).is_some_and(|p| p == name)
}

/// Returns Ok(true) when `</nmaprun>` closed, Ok(false) on early end of input.
fn body<R: BufRead>(
    x: &mut SafeXml<R>,
    result: &mut ScanResult,
    st: &mut State,
    progress: &mut dyn FnMut(Progress),
) -> Result<bool, XmlError> {
    st.path.push("nmaprun".into());
    loop {
        match x.next_item()? {
            Item::Eof => return Ok(false),
            Item::Text(t) => {
                if st.cpe_slot.is_some() && st.text.len() < 4096 {
                    st.text.push_str(&t);
                }
            }
            Item::Start { name, attrs, empty } => {
                st.path.push(name.clone());
                start_element(&name, &attrs, result, st, progress);
                if empty {
                    end_element(&name, result, st);
                    st.path.pop();
                }
            }
            Item::End(name) => {
                end_element(&name, result, st);
                st.path.pop();
                if name == "nmaprun" && st.path.is_empty() {
                    return Ok(true);
                }
            }
        }
    }
}

fn start_element(
    name: &str,
    a: &[(String, String)],
    result: &mut ScanResult,
    st: &mut State,
    progress: &mut dyn FnMut(Progress),
) {
    match name {
        "scaninfo" => result.scan_info.push(ScanInfo {
            scan_type: attr(a, "type").unwrap_or("").into(),
            protocol: attr(a, "protocol").unwrap_or("").into(),
            num_services: attr(a, "numservices").and_then(|v| v.parse().ok()),
        }),
        "host" => {
            st.host = Some(Host {
                start: ts(attr(a, "starttime")),
                end: ts(attr(a, "endtime")),
                status: "unknown".into(),
                ..Host::default()
            })
        }
        "status" => {
            if let Some(h) = st.host.as_mut() {
                h.status = attr(a, "state").unwrap_or("unknown").into();
                h.status_reason = opt(attr(a, "reason"));
            }
        }
        "address" => {
            if let Some(h) = st.host.as_mut() {
                let kind = match attr(a, "addrtype") {
                    Some("ipv4") => AddrKind::Ipv4,
                    Some("ipv6") => AddrKind::Ipv6,
                    Some("mac") => AddrKind::Mac,
                    _ => AddrKind::Other,
                };
                if let Some(addr) = opt(attr(a, "addr")) {
                    h.addresses.push(Address {
                        addr,
                        kind,
                        vendor: opt(attr(a, "vendor")),
                    });
                } else {
                    result.counters.incr("nmap_address_without_addr");
                }
            }
        }
        "hostname" => {
            if let (Some(h), Some(n)) = (st.host.as_mut(), opt(attr(a, "name"))) {
                if !h.hostnames.contains(&n) {
                    h.hostnames.push(n);
                }
            }
        }
        "extraports" => {
            if let Some(h) = st.host.as_mut() {
                let count = attr(a, "count").and_then(|v| v.parse().ok()).unwrap_or(0);
                h.extra_ports
                    .push((attr(a, "state").unwrap_or("").to_string(), count));
            }
        }
        "port" => {
            let port = attr(a, "portid").and_then(|v| v.trim().parse::<u16>().ok());
            match port {
                Some(port) => {
                    st.port = Some(Port {
                        protocol: attr(a, "protocol").unwrap_or("tcp").into(),
                        port,
                        state: "unknown".into(),
                        ..Port::default()
                    })
                }
                None => result.counters.incr_with_sample("nmap_bad_portid", || {
                    format!("portid={:?}", attr(a, "portid"))
                }),
            }
        }
        "state" => {
            if let Some(p) = st.port.as_mut() {
                p.state = attr(a, "state").unwrap_or("unknown").into();
                p.reason = opt(attr(a, "reason"));
            }
        }
        "service" => {
            if let Some(p) = st.port.as_mut() {
                p.service = Some(Service {
                    name: opt(attr(a, "name")),
                    product: opt(attr(a, "product")),
                    version: opt(attr(a, "version")),
                    extrainfo: opt(attr(a, "extrainfo")),
                    ostype: opt(attr(a, "ostype")),
                    method: opt(attr(a, "method")),
                    conf: attr(a, "conf").and_then(|v| v.parse().ok()),
                    cpes: Vec::new(),
                });
            }
        }
        "cpe" => {
            st.text.clear();
            st.cpe_slot = Some(if parent_is(&st.path, "service") {
                CpeSlot::Service
            } else if st.os.is_some() {
                CpeSlot::Os
            } else {
                CpeSlot::None
            });
        }
        "osmatch" if st.host.is_some() => {
            st.os = Some(OsMatch {
                name: attr(a, "name").unwrap_or("").into(),
                accuracy: attr(a, "accuracy").and_then(|v| v.parse().ok()),
                cpes: Vec::new(),
            });
        }
        "script" => {
            let id = attr(a, "id").unwrap_or("").to_string();
            let output = clip_output(attr(a, "output").unwrap_or(""), result);
            let cves = if id.contains("vulners") || id.contains("vulscan") || id.starts_with("vuln")
            {
                cve_candidates(&output)
            } else {
                Vec::new()
            };
            let s = ScriptOutput { id, output, cves };
            if parent_is(&st.path, "port") {
                if let Some(p) = st.port.as_mut() {
                    p.scripts.push(s);
                }
            } else if parent_is(&st.path, "hostscript") {
                if let Some(h) = st.host.as_mut() {
                    h.scripts.push(s);
                }
            }
        }
        "finished" => {
            result.end = ts(attr(a, "time"));
            result.elapsed_secs = attr(a, "elapsed").and_then(|v| v.parse().ok());
            result.exit = opt(attr(a, "exit"));
            if result.exit.as_deref() == Some("error") {
                let msg = attr(a, "errormsg").unwrap_or("nmap reported an error");
                result.mark_partial(format!("nmap exit=error: {msg}"));
            }
        }
        "hosts" if parent_is(&st.path, "runstats") => {
            result.hosts_up = attr(a, "up").and_then(|v| v.parse().ok());
            result.hosts_down = attr(a, "down").and_then(|v| v.parse().ok());
        }
        "taskprogress" => {
            if let Some(percent) = attr(a, "percent").and_then(|v| v.parse::<f64>().ok()) {
                progress(Progress {
                    task: attr(a, "task").unwrap_or("").into(),
                    percent,
                    remaining_secs: attr(a, "remaining").and_then(|v| v.parse().ok()),
                });
            }
        }
        _ => {}
    }
}

fn end_element(name: &str, result: &mut ScanResult, st: &mut State) {
    match name {
        "cpe" => {
            let text = std::mem::take(&mut st.text).trim().to_string();
            let slot = st.cpe_slot.take();
            if text.is_empty() {
                return;
            }
            match slot {
                Some(CpeSlot::Service) => {
                    if let Some(s) = st.port.as_mut().and_then(|p| p.service.as_mut()) {
                        s.cpes.push(text);
                    }
                }
                Some(CpeSlot::Os) => {
                    if let Some(o) = st.os.as_mut() {
                        if !o.cpes.contains(&text) {
                            o.cpes.push(text);
                        }
                    }
                }
                _ => {}
            }
        }
        "osmatch" => {
            if let (Some(h), Some(o)) = (st.host.as_mut(), st.os.take()) {
                h.os_matches.push(o);
            }
        }
        "port" => {
            if let (Some(h), Some(p)) = (st.host.as_mut(), st.port.take()) {
                if h.ports.len() < NMAP_MAX_PORTS_PER_HOST {
                    h.ports.push(p);
                } else {
                    result.counters.incr("nmap_ports_over_limit");
                }
            }
        }
        "host" => {
            if let Some(h) = st.host.take() {
                if result.hosts.len() < NMAP_MAX_HOSTS {
                    result.hosts.push(h);
                } else {
                    result.counters.incr("nmap_hosts_over_limit");
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(hosts: &str, close: bool) -> String {
        let mut s = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n<?xml-stylesheet href=\"file:///usr/share/nmap/nmap.xsl\" type=\"text/xsl\"?>\n<nmaprun scanner=\"nmap\" args=\"nmap -sV -oX - 127.0.0.1\" start=\"1700000000\" version=\"7.94SVN\" xmloutputversion=\"1.05\">\n<scaninfo type=\"connect\" protocol=\"tcp\" numservices=\"1000\" services=\"1-1000\"/>\n<taskprogress task=\"Connect Scan\" time=\"1700000001\" percent=\"42.50\" remaining=\"12\" etc=\"1700000013\"/>\n",
        );
        s.push_str(hosts);
        if close {
            s.push_str("<runstats><finished time=\"1700000020\" timestr=\"x\" elapsed=\"20.5\" exit=\"success\"/><hosts up=\"2\" down=\"1\" total=\"3\"/></runstats>\n</nmaprun>\n");
        }
        s
    }

    const HOST1: &str = r#"<host starttime="1700000001" endtime="1700000019"><status state="up" reason="conn-refused" reason_ttl="0"/>
<address addr="192.0.2.10" addrtype="ipv4"/><address addr="00:11:22:33:44:55" addrtype="mac" vendor="Acme &amp; Co"/>
<hostnames><hostname name="srv.example" type="user"/><hostname name="srv.example" type="PTR"/></hostnames>
<ports><extraports state="closed" count="997"><extrareasons reason="conn-refused" count="997"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ssh" product="OpenSSH" version="7.4" extrainfo="protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:7.4</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service>
<script id="vulners" output="&#xa;  cpe:/a:openbsd:openssh:7.4: &#xa;    	CVE-2023-38408	9.8	https://vulners.com/cve/CVE-2023-38408&#xa;    	CVE-2016-10012	7.8	https://vulners.com/cve/CVE-2016-10012"><table key="x"><elem key="id">CVE-2023-38408</elem></table></script></port>
<port protocol="tcp" portid="21"><state state="open" reason="syn-ack"/><service name="ftp" product="vsftpd" version="2.3.4" method="probed" conf="10"><cpe>cpe:/a:vsftpd:vsftpd:2.3.4</cpe></service></port>
<port protocol="udp" portid="53"><state state="open|filtered" reason="no-response"/></port>
</ports>
<os><osmatch name="Linux 3.2 - 4.9" accuracy="96" line="1"><osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="3.X" accuracy="96"><cpe>cpe:/o:linux:linux_kernel:3</cpe></osclass></osmatch></os>
<hostscript><script id="smb-os-discovery" output="OS: Windows"/></hostscript>
</host>
"#;
    const HOST2: &str = r#"<host><status state="up" reason="echo-reply"/><address addr="2001:db8::1" addrtype="ipv6"/><ports><port protocol="tcp" portid="80"><state state="closed" reason="reset"/></port></ports></host>
"#;

    #[test]
    fn full_document() {
        let xml = doc(&format!("{HOST1}{HOST2}"), true);
        let mut prog = Vec::new();
        let r = parse_with_progress(xml.as_bytes(), "t.xml", &mut |p| prog.push(p)).unwrap();
        assert!(!r.partial, "{:?}", r.partial_reason);
        assert_eq!(r.scanner_version.as_deref(), Some("7.94SVN"));
        assert_eq!(r.args.as_deref(), Some("nmap -sV -oX - 127.0.0.1"));
        assert_eq!(r.start, Some(Timestamp::from_unix_secs(1_700_000_000)));
        assert_eq!(r.end, Some(Timestamp::from_unix_secs(1_700_000_020)));
        assert_eq!(r.scan_info[0].scan_type, "connect");
        assert_eq!(r.scan_info[0].num_services, Some(1000));
        assert_eq!((r.hosts_up, r.hosts_down), (Some(2), Some(1)));
        assert_eq!(r.elapsed_secs, Some(20.5));
        assert_eq!(prog.len(), 1);
        assert_eq!(prog[0].percent, 42.5);
        assert_eq!(prog[0].remaining_secs, Some(12));
        assert_eq!(r.hosts.len(), 2);
        let h = &r.hosts[0];
        assert_eq!(h.ip(), Some("192.0.2.10"));
        assert_eq!(h.mac().unwrap().vendor.as_deref(), Some("Acme & Co"));
        assert_eq!(h.hostnames, vec!["srv.example".to_string()]);
        assert_eq!(h.status_reason.as_deref(), Some("conn-refused"));
        assert_eq!(h.extra_ports, vec![("closed".to_string(), 997)]);
        assert_eq!(h.ports.len(), 3);
        let ssh = &h.ports[0];
        assert_eq!((ssh.port, ssh.state.as_str()), (22, "open"));
        let svc = ssh.service.as_ref().unwrap();
        assert_eq!(svc.product.as_deref(), Some("OpenSSH"));
        assert_eq!(svc.extrainfo.as_deref(), Some("protocol 2.0"));
        assert_eq!(svc.ostype.as_deref(), Some("Linux"));
        assert_eq!(svc.method.as_deref(), Some("probed"));
        assert_eq!(svc.conf, Some(10));
        assert_eq!(
            svc.cpes,
            vec!["cpe:/a:openbsd:openssh:7.4", "cpe:/o:linux:linux_kernel"]
        );
        assert_eq!(ssh.scripts[0].cves.len(), 2);
        assert_eq!(ssh.scripts[0].cves[0].id, "CVE-2023-38408");
        assert_eq!(ssh.scripts[0].cves[0].score, Some(9.8));
        assert_eq!(h.ports[2].protocol, "udp");
        assert_eq!(h.ports[2].state, "open|filtered");
        assert_eq!(h.os_matches[0].name, "Linux 3.2 - 4.9");
        assert_eq!(h.os_matches[0].accuracy, Some(96));
        assert_eq!(h.os_matches[0].cpes, vec!["cpe:/o:linux:linux_kernel:3"]);
        assert_eq!(h.scripts[0].id, "smb-os-discovery");
        assert_eq!(r.hosts[1].ip(), Some("2001:db8::1"));
        assert_eq!(r.hosts[1].ports[0].state, "closed");
    }

    #[test]
    fn truncated_document_is_partial() {
        let full = doc(&format!("{HOST1}{HOST2}"), true);
        // Cut inside the second host.
        let cut = full.find("2001:db8::1").unwrap();
        let r = parse(&full.as_bytes()[..cut], "cut.xml").unwrap();
        assert!(r.partial);
        assert_eq!(r.hosts.len(), 2, "the interrupted host is kept");
        assert_eq!(r.hosts[0].ports.len(), 3);
        assert_eq!(r.hosts[1].status, "up");
        assert!(r.hosts[1].addresses.is_empty());
        assert_eq!(r.counters.get("nmap_incomplete_host_kept"), 1);
        assert!(r.partial_reason.as_deref().unwrap().contains("cut.xml"));
        // Every prefix parses or errors, never panics; prefixes after the root are partial results.
        let root_end = full.find("<scaninfo").unwrap();
        for i in (0..full.len()).step_by(7) {
            match parse(&full.as_bytes()[..i], "p.xml") {
                Ok(r) => assert!(r.partial || i == full.len()),
                Err(_) => assert!(i < root_end, "prefix {i} should be partial, not an error"),
            }
        }
        // Unclosed host but closed document is not possible; missing </nmaprun> only.
        let r = parse(doc(HOST1, false).as_bytes(), "noend.xml").unwrap();
        assert!(r.partial);
        assert_eq!(r.hosts.len(), 1);
    }

    #[test]
    fn entity_attacks_rejected() {
        let billion = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]><nmaprun>&lol2;</nmaprun>";
        let e = parse(billion.as_bytes(), "lol.xml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lol.xml") && e.contains("DOCTYPE"), "{e}");
        let xxe =
            "<?xml version=\"1.0\"?><!DOCTYPE nmaprun SYSTEM \"file:///etc/passwd\"><nmaprun/>";
        assert!(matches!(
            parse(xxe.as_bytes(), "x.xml"),
            Err(NmapXmlError::Xml(XmlError::Dtd { .. }))
        ));
        // Undeclared entity reference in text or attribute (no DTD): still rejected.
        let undeclared = "<nmaprun><host><status state=\"up\"/>&xxe;</host></nmaprun>";
        assert!(matches!(
            parse(undeclared.as_bytes(), "u.xml"),
            Err(NmapXmlError::Xml(XmlError::Entity { .. }))
        ));
        let in_attr = "<nmaprun args=\"&xxe;\"></nmaprun>";
        assert!(parse(in_attr.as_bytes(), "a.xml").is_err());
        // The plain doctype nmap itself writes is fine.
        assert!(parse(doc("", true).as_bytes(), "ok.xml").is_ok());
    }

    #[test]
    fn wrong_or_garbage_input() {
        assert!(matches!(
            parse(&b"<root><a/></root>"[..], "r.xml"),
            Err(NmapXmlError::NotNmap { .. })
        ));
        assert!(matches!(
            parse(&b"{\"a\": 1}"[..], "j.json"),
            Err(NmapXmlError::NoRoot { .. })
        ));
        assert!(matches!(
            parse(&b""[..], "e.xml"),
            Err(NmapXmlError::NoRoot { .. })
        ));
        // Mismatched end tag after root -> partial with error counted.
        let r = parse(&b"<nmaprun><host></hostx></nmaprun>"[..], "m.xml").unwrap();
        assert!(r.partial);
        assert_eq!(r.counters.get("nmap_xml_error"), 1);
        // Bad port id counted, not fatal.
        let r = parse(
            &b"<nmaprun><host><ports><port protocol=\"tcp\" portid=\"99999\"><state state=\"open\"/></port></ports></host></nmaprun>"[..],
            "p.xml",
        )
        .unwrap();
        assert_eq!(r.counters.get("nmap_bad_portid"), 1);
        assert!(r.hosts[0].ports.is_empty());
        // Deep nesting bounded.
        let deep = format!("<nmaprun>{}", "<a>".repeat(200));
        let r = parse(deep.as_bytes(), "d.xml").unwrap();
        assert!(r.partial);
        assert!(r.partial_reason.unwrap().contains("nesting"));
    }
}
