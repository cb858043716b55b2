//! Differences between two scans of the same target: new/closed ports, changed services,
//! new/fixed CVEs (the input for §10 "analyse results" and for alerts).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::matching::Finding;
use crate::model::{Port, ScanResult};

/// A port on a host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PortRef {
    /// Host IP.
    pub host: String,
    /// Protocol.
    pub protocol: String,
    /// Port.
    pub port: u16,
}

/// A service that changed on an open port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceChange {
    /// Where.
    pub at: PortRef,
    /// Before (`product version`).
    pub before: String,
    /// After.
    pub after: String,
}

/// A CVE on a host/port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CveRef {
    /// Host.
    pub host: String,
    /// Port.
    pub port: Option<u16>,
    /// CVE id.
    pub cve: String,
}

/// The difference between an older and a newer scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanDiff {
    /// Hosts up now but not before.
    pub new_hosts: Vec<String>,
    /// Hosts up before but not now.
    pub gone_hosts: Vec<String>,
    /// Ports open now, not before.
    pub new_ports: Vec<PortRef>,
    /// Ports open before, not now (on hosts still up).
    pub closed_ports: Vec<PortRef>,
    /// Product/version changes on ports open in both.
    pub changed_services: Vec<ServiceChange>,
    /// CVEs found now, not before.
    pub new_cves: Vec<CveRef>,
    /// CVEs found before, not now (on hosts still scanned).
    pub fixed_cves: Vec<CveRef>,
}

impl ScanDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == ScanDiff::default()
    }
}

fn svc_text(p: &Port) -> String {
    match &p.service {
        Some(s) => {
            let mut t = s
                .product
                .clone()
                .or_else(|| s.name.clone())
                .unwrap_or_default();
            if let Some(v) = &s.version {
                t.push(' ');
                t.push_str(v);
            }
            t
        }
        None => String::new(),
    }
}

fn open_map(scan: &ScanResult) -> (BTreeSet<String>, BTreeMap<PortRef, String>) {
    let mut hosts = BTreeSet::new();
    let mut ports = BTreeMap::new();
    for h in scan.up_hosts() {
        let Some(ip) = h.ip() else { continue };
        hosts.insert(ip.to_string());
        for p in h.open_ports() {
            ports.insert(
                PortRef {
                    host: ip.to_string(),
                    protocol: p.protocol.clone(),
                    port: p.port,
                },
                svc_text(p),
            );
        }
    }
    (hosts, ports)
}

/// Compare `old` and `new` scans (with their findings).
///
/// A port on a host that is down in the new scan is not reported closed (the host is reported
/// gone instead), and its CVEs are not reported fixed: absence of evidence is not a fix. When the
/// new scan is partial, nothing is reported closed or fixed.
pub fn diff(
    old: &ScanResult,
    new: &ScanResult,
    old_findings: &[Finding],
    new_findings: &[Finding],
) -> ScanDiff {
    let (oh, op) = open_map(old);
    let (nh, np) = open_map(new);
    let mut d = ScanDiff {
        new_hosts: nh.difference(&oh).cloned().collect(),
        gone_hosts: if new.partial {
            Vec::new()
        } else {
            oh.difference(&nh).cloned().collect()
        },
        ..ScanDiff::default()
    };
    for (k, svc) in &np {
        match op.get(k) {
            None => d.new_ports.push(k.clone()),
            Some(before) if !before.is_empty() && !svc.is_empty() && before != svc => {
                d.changed_services.push(ServiceChange {
                    at: k.clone(),
                    before: before.clone(),
                    after: svc.clone(),
                })
            }
            Some(_) => {}
        }
    }
    if !new.partial {
        for k in op.keys() {
            if !np.contains_key(k) && nh.contains(&k.host) {
                d.closed_ports.push(k.clone());
            }
        }
    }
    let set = |f: &[Finding]| -> BTreeSet<CveRef> {
        f.iter()
            .map(|f| CveRef {
                host: f.host().to_string(),
                port: f.port(),
                cve: f.cve().to_string(),
            })
            .collect()
    };
    let (oc, nc) = (set(old_findings), set(new_findings));
    d.new_cves = nc.difference(&oc).cloned().collect();
    if !new.partial {
        d.fixed_cves = oc
            .difference(&nc)
            .filter(|c| nh.contains(&c.host))
            .cloned()
            .collect();
    }
    d
}
