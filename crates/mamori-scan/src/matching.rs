//! Matching services to vulnerability records, producing findings.
//!
//! An index maps `vendor:product` to every configuration naming it, so a lookup touches only
//! candidate ranges. A service CPE matches a configuration when every attribute but the version
//! matches (wildcards allowed) and the version is equal to a concrete criterion version, or
//! lies within the range bounds (start/end, including/excluding). Lookups are cached per CPE, so
//! 1,000 hosts running the same OpenSSH cost one lookup.
//!
//! Confidence: `cpe_exact` (criterion names the exact version), `version_range` (bounds, or a
//! criterion for all versions), `banner_heuristic` (our product guess from a banner, or a CVE
//! id named by an nmap script).
//!
//! Known limit: NVD `AND` nodes (application *running on* a platform) are treated as `OR` of
//! their vulnerable parts, which can over-report platform-specific CVEs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use mamori_core::Severity;
use serde::Serialize;

use crate::cpe::Cpe;
use crate::ident::{cpes_for_product, equivalents, identify_banner};
use crate::model::{Host, Port, ScanResult};
use crate::vulndb::{CpeRange, CveDb, CveRecord, Cvss, Source};

/// How sure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Guessed from a banner or named by a script.
    BannerHeuristic,
    /// Version within a range (or all versions).
    VersionRange,
    /// Exact CPE version.
    CpeExact,
}

impl Confidence {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::BannerHeuristic => "banner_heuristic",
            Confidence::VersionRange => "version_range",
            Confidence::CpeExact => "cpe_exact",
        }
    }
}

/// Facts about one vulnerability, shared (one allocation) by all its findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnInfo {
    /// CVE id.
    pub cve: String,
    /// CVSS v3.x.
    pub cvss3: Option<Cvss>,
    /// CVSS v4.0.
    pub cvss4: Option<Cvss>,
    /// Severity (CVSS v3.x score, else v4.0; KEV raises it to at least high).
    pub severity: Severity,
    /// Listed in CISA KEV.
    pub kev: bool,
    /// KEV due date.
    pub kev_due_date: Option<String>,
    /// English description (or title).
    pub description: Option<String>,
    /// Japanese description (JVN).
    pub description_ja: Option<String>,
    /// JVNDB ids naming this CVE.
    pub jvn_ids: Vec<String>,
}

/// Where a service was seen, shared by the findings of one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Host IP (or name).
    pub host: String,
    /// Port, when on a port.
    pub port: Option<u16>,
    /// Protocol.
    pub protocol: Option<String>,
    /// Product as identified.
    pub product: Option<String>,
    /// Version as identified.
    pub version: Option<String>,
    /// Banner.
    pub banner: Option<String>,
}

/// One vulnerability finding on one host/port. Serialises flat (`cve`, `host`, `port`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The vulnerability.
    #[serde(flatten)]
    pub vuln: Arc<VulnInfo>,
    /// Where.
    #[serde(flatten)]
    pub evidence: Arc<Evidence>,
    /// Service CPE that matched.
    pub cpe: Arc<str>,
    /// The configuration criterion that matched (empty for script-named CVEs).
    pub criteria: Arc<str>,
    /// Confidence.
    pub confidence: Confidence,
    /// Sources that contributed (`nvd`, `cve5`, `nmap-script`).
    pub sources: Vec<&'static str>,
}

impl Finding {
    /// CVE id.
    pub fn cve(&self) -> &str {
        &self.vuln.cve
    }
    /// Host.
    pub fn host(&self) -> &str {
        &self.evidence.host
    }
    /// Port.
    pub fn port(&self) -> Option<u16> {
        self.evidence.port
    }
}

/// A CVE configuration matched by a CPE.
#[derive(Debug, Clone, PartialEq)]
pub struct CveMatch<'a> {
    /// The record.
    pub record: &'a CveRecord,
    /// The configuration.
    pub range: &'a CpeRange,
    /// Confidence before evidence adjustments.
    pub confidence: Confidence,
    rec_idx: usize,
    range_idx: usize,
}

/// An index entry: record number, configuration, configuration number.
struct Cand<'a> {
    rec: usize,
    range: &'a CpeRange,
    range_idx: usize,
    /// Criterion has ANY after the version: only the part needs checking (vendor and product
    /// are equal by the index key).
    simple: bool,
}

/// Severity from a CVSS base score (CVSS v3 bands; none → medium).
pub fn severity_for(score: Option<f32>) -> Severity {
    match score {
        Some(s) if s >= 9.0 => Severity::Critical,
        Some(s) if s >= 7.0 => Severity::High,
        Some(s) if s >= 4.0 => Severity::Medium,
        Some(_) => Severity::Low,
        None => Severity::Medium,
    }
}

type Key = (String, String);

/// Matcher over a [`CveDb`], built once per database.
pub struct Matcher<'a> {
    db: &'a CveDb,
    recs: Vec<&'a CveRecord>,
    index: HashMap<Key, Vec<Cand<'a>>>,
    jvn_by_cve: HashMap<&'a str, Vec<&'a CveRecord>>,
    cache: Mutex<HashMap<Cpe, Vec<CveMatch<'a>>>>,
    vulns: Vec<OnceLock<Arc<VulnInfo>>>,
    criteria: Vec<OnceLock<Arc<str>>>,
}

/// Most distinct service CPEs whose matches are cached.
pub const MATCH_CACHE_MAX: usize = 100_000;

impl<'a> Matcher<'a> {
    /// Build the index (NVD and CVE 5 configurations).
    pub fn new(db: &'a CveDb) -> Matcher<'a> {
        let mut index: HashMap<Key, Vec<Cand<'a>>> = HashMap::new();
        let mut jvn_by_cve: HashMap<&str, Vec<&CveRecord>> = HashMap::new();
        let mut recs = Vec::new();
        let mut n_ranges = 0usize;
        for rec in db.records() {
            match rec.source {
                Some(Source::Nvd) | Some(Source::Cve5) => {
                    let ri = recs.len();
                    recs.push(rec);
                    for r in &rec.configurations {
                        let key = (
                            r.criteria.vendor().to_string(),
                            r.criteria.product().to_string(),
                        );
                        index.entry(key).or_default().push(Cand {
                            rec: ri,
                            range: r,
                            range_idx: n_ranges,
                            simple: r.criteria.is_simple(),
                        });
                        n_ranges += 1;
                    }
                }
                Some(Source::Jvn) => {
                    for a in &rec.aliases {
                        jvn_by_cve.entry(a.as_str()).or_default().push(rec);
                    }
                }
                _ => {}
            }
        }
        Matcher {
            db,
            vulns: (0..recs.len()).map(|_| OnceLock::new()).collect(),
            criteria: (0..n_ranges).map(|_| OnceLock::new()).collect(),
            recs,
            index,
            jvn_by_cve,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Configurations matched by one service CPE (its version must be concrete).
    pub fn match_cpe(&self, target: &Cpe) -> Vec<CveMatch<'a>> {
        let mut out = Vec::new();
        let key = (target.vendor().to_string(), target.product().to_string());
        let Some(cands) = self.index.get(&key) else {
            return out;
        };
        let version = target.full_version();
        for cand in cands {
            let range = cand.range;
            let Some(rec) = self.recs.get(cand.rec).copied() else {
                continue;
            };
            let attrs_ok = if cand.simple {
                range.criteria.part_matches(target)
            } else {
                range.criteria.matches_ignoring_version(target)
            };
            if !attrs_ok {
                continue;
            }
            let conf = if range.has_bounds() {
                let Some(v) = version.as_deref() else {
                    continue;
                };
                if !range.contains_version(v) {
                    continue;
                }
                Confidence::VersionRange
            } else if range.criteria.version() == "*" {
                Confidence::VersionRange
            } else {
                if version.is_none() || !range.criteria.matches(target) {
                    continue;
                }
                Confidence::CpeExact
            };
            out.push(CveMatch {
                record: rec,
                range,
                confidence: conf,
                rec_idx: cand.rec,
                range_idx: cand.range_idx,
            });
        }
        out
    }

    fn cached(&self, target: &Cpe) -> Vec<CveMatch<'a>> {
        if let Ok(c) = self.cache.lock() {
            if let Some(v) = c.get(target) {
                return v.clone();
            }
        }
        let v = self.match_cpe(target);
        if let Ok(mut c) = self.cache.lock() {
            if c.len() < MATCH_CACHE_MAX {
                c.insert(target.clone(), v.clone());
            }
        }
        v
    }

    fn vuln_info(&self, rec: &CveRecord, fallback_score: Option<f32>) -> VulnInfo {
        let kev = self.db.kev(&rec.id);
        // CVSS v3.x decides (what operators and SLAs use today); v4.0 when v3 is absent.
        let score = rec
            .cvss3
            .as_ref()
            .or(rec.cvss4.as_ref())
            .map(|c| c.score)
            .or(fallback_score);
        let mut severity = severity_for(score);
        if kev.is_some() && severity < Severity::High {
            severity = Severity::High;
        }
        let jvn = self.jvn_by_cve.get(rec.id.as_str());
        VulnInfo {
            cve: rec.id.clone(),
            cvss3: rec.cvss3.clone(),
            cvss4: rec.cvss4.clone(),
            severity,
            kev: kev.is_some(),
            kev_due_date: kev.and_then(|k| k.due_date.clone()),
            description: rec.description_en.clone().or_else(|| rec.title.clone()),
            description_ja: jvn.and_then(|v| {
                v.iter()
                    .find_map(|j| j.description_ja.clone().or_else(|| j.title.clone()))
            }),
            jvn_ids: jvn
                .map(|v| v.iter().map(|j| j.id.clone()).collect())
                .unwrap_or_default(),
        }
    }

    fn shared_vuln(&self, m: &CveMatch<'a>) -> Arc<VulnInfo> {
        match self.vulns.get(m.rec_idx) {
            Some(cell) => cell
                .get_or_init(|| Arc::new(self.vuln_info(m.record, None)))
                .clone(),
            None => Arc::new(self.vuln_info(m.record, None)),
        }
    }

    fn shared_criteria(&self, m: &CveMatch<'a>) -> Arc<str> {
        match self.criteria.get(m.range_idx) {
            Some(cell) => cell
                .get_or_init(|| Arc::from(m.range.criteria.to_string()))
                .clone(),
            None => Arc::from(m.range.criteria.to_string()),
        }
    }

    /// The CPEs to look up for a port, with whether they are heuristic.
    pub fn port_cpes(port: &Port) -> Vec<(Cpe, bool)> {
        let mut out: Vec<(Cpe, bool)> = Vec::new();
        let push = |out: &mut Vec<(Cpe, bool)>, c: Cpe, h: bool| {
            for e in equivalents(&c) {
                if !out.iter().any(|(o, _)| *o == e) {
                    out.push((e, h));
                }
            }
        };
        if let Some(svc) = &port.service {
            let heuristic = svc.method.as_deref() == Some("banner");
            for s in &svc.cpes {
                let Ok(mut c) = Cpe::parse(s) else { continue };
                if c.version() == "*" {
                    if let Some(v) = &svc.version {
                        c = c.with_version(v);
                    }
                }
                push(&mut out, c, heuristic);
            }
            if out.is_empty() {
                if let Some(p) = &svc.product {
                    for c in cpes_for_product(p, svc.version.as_deref()) {
                        push(&mut out, c, true);
                    }
                }
            }
        }
        if out.is_empty() {
            if let Some(b) = &port.banner {
                for id in identify_banner(b.as_bytes(), port.port) {
                    for c in id.cpes {
                        push(&mut out, c, true);
                    }
                }
            }
        }
        out
    }

    /// Findings for one host, sorted by port and CVE; one finding per (port, CVE), keeping the
    /// highest confidence and the union of sources.
    pub fn match_host(&self, host: &Host) -> Vec<Finding> {
        let name = host
            .ip()
            .or(host.hostnames.first().map(String::as_str))
            .unwrap_or("?");
        let mut out: Vec<Finding> = Vec::new();
        for port in host.open_ports() {
            let svc = port.service.as_ref();
            let evidence = Arc::new(Evidence {
                host: name.to_string(),
                port: Some(port.port),
                protocol: Some(port.protocol.clone()),
                product: svc.and_then(|s| s.product.clone()),
                version: svc.and_then(|s| s.version.clone()),
                banner: port.banner.clone(),
            });
            let start = out.len();
            // one finding per (port, CVE): index into `out` by CVE id
            let mut by_cve: HashMap<&str, usize> = HashMap::new();
            for (cpe, heuristic) in Self::port_cpes(port) {
                if cpe.version_plain().is_none() {
                    continue;
                }
                let cpe_text: Arc<str> = Arc::from(cpe.to_string());
                for m in self.cached(&cpe) {
                    let conf = if heuristic {
                        Confidence::BannerHeuristic
                    } else {
                        m.confidence
                    };
                    let source = m.record.source.map_or("nvd", Source::as_str);
                    if let Some(f) = by_cve
                        .get(m.record.id.as_str())
                        .and_then(|&i| out.get_mut(i))
                    {
                        // the same CVE again (another alias, configuration or source): merge
                        if !f.sources.contains(&source) {
                            f.sources.push(source);
                        }
                        if conf > f.confidence {
                            f.confidence = conf;
                            f.cpe = cpe_text.clone();
                            f.criteria = self.shared_criteria(&m);
                        }
                        continue;
                    }
                    by_cve.insert(m.record.id.as_str(), out.len());
                    out.push(Finding {
                        vuln: self.shared_vuln(&m),
                        evidence: evidence.clone(),
                        cpe: cpe_text.clone(),
                        criteria: self.shared_criteria(&m),
                        confidence: conf,
                        sources: vec![source],
                    });
                }
            }
            for s in &port.scripts {
                for c in &s.cves {
                    let existing = by_cve.get(c.id.as_str()).and_then(|&i| out.get_mut(i));
                    if let Some(f) = existing {
                        if !f.sources.contains(&"nmap-script") {
                            f.sources.push("nmap-script");
                        }
                        continue;
                    }
                    let rec = self
                        .db
                        .get(Source::Nvd, &c.id)
                        .or_else(|| self.db.get(Source::Cve5, &c.id));
                    let vuln = match rec {
                        Some(r) => Arc::new(self.vuln_info(r, c.score)),
                        None => {
                            let bare = CveRecord {
                                id: c.id.clone(),
                                ..CveRecord::default()
                            };
                            Arc::new(self.vuln_info(&bare, c.score))
                        }
                    };
                    by_cve.insert(c.id.as_str(), out.len());
                    out.push(Finding {
                        vuln,
                        evidence: evidence.clone(),
                        cpe: Arc::from(
                            svc.and_then(|s| s.cpes.first().cloned())
                                .unwrap_or_default(),
                        ),
                        criteria: Arc::from(""),
                        confidence: Confidence::BannerHeuristic,
                        sources: vec!["nmap-script"],
                    });
                }
            }
            if let Some(fs) = out.get_mut(start..) {
                fs.sort_by(|a, b| a.vuln.cve.cmp(&b.vuln.cve));
            }
        }
        out
    }

    /// Findings for every up host of a scan, sorted by host, port, CVE.
    pub fn match_scan(&self, scan: &ScanResult) -> Vec<Finding> {
        let mut hosts: Vec<&Host> = scan.up_hosts().collect();
        hosts.sort_by_key(|h| h.ip().and_then(|s| s.parse::<std::net::IpAddr>().ok()));
        let mut out: Vec<Finding> = Vec::new();
        for h in hosts {
            let mut f = self.match_host(h);
            f.sort_by_key(|f| f.evidence.port);
            out.append(&mut f);
        }
        out
    }
}
