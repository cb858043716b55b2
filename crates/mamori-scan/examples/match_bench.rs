//! Benchmark: 1,000 hosts × 20 services against a generated synthetic NVD-shaped feed of
//! ≈250k CVEs. Run with `cargo run --release -p mamori-scan --example match_bench [N_CVES]`.
//! Prints generation, import and matching times and the peak resident memory.

use std::fmt::Write as _;
use std::time::Instant;

use mamori_core::Timestamp;
use mamori_scan::matching::Matcher;
use mamori_scan::model::{AddrKind, Address, Host, Port, ScanResult, Service};
use mamori_scan::vulndb::CveDb;

/// Tiny deterministic PRNG (xorshift) so the feed is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const PRODUCTS: usize = 20_000;

fn product(i: usize) -> (String, String) {
    match i {
        0 => ("openbsd".into(), "openssh".into()),
        1 => ("apache".into(), "http_server".into()),
        2 => ("f5".into(), "nginx".into()),
        3 => ("openssl".into(), "openssl".into()),
        _ => (format!("vendor{}", i / 3), format!("product{i}")),
    }
}

fn version(r: &mut Rng) -> String {
    format!("{}.{}.{}", r.below(10), r.below(20), r.below(30))
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Process CPU seconds (user + system) from /proc/self/stat (clock ticks of 10 ms).
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: f64 = f.get(11)?.parse().ok()?;
            let k: f64 = f.get(12)?.parse().ok()?;
            Some((u + k) / 100.0)
        })
        .unwrap_or(0.0)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(250_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let t = Instant::now();
    let mut feed = String::with_capacity(n * 900);
    feed.push_str(r#"{"resultsPerPage":0,"format":"NVD_CVE","version":"2.0","vulnerabilities":["#);
    for i in 0..n {
        if i > 0 {
            feed.push(',');
        }
        // Popular products get more CVEs (as in NVD): a quarter of records hit the first 100.
        let p = if rng.below(4) == 0 {
            rng.below(100)
        } else {
            rng.below(PRODUCTS as u64)
        } as usize;
        let (v, pr) = product(p);
        let mut matches = String::new();
        let k = 1 + rng.below(3);
        for j in 0..k {
            if j > 0 {
                matches.push(',');
            }
            match rng.below(3) {
                0 => {
                    let _ = write!(
                        matches,
                        r#"{{"vulnerable":true,"criteria":"cpe:2.3:a:{v}:{pr}:{}:*:*:*:*:*:*:*","matchCriteriaId":"M"}}"#,
                        version(&mut rng)
                    );
                }
                1 => {
                    let _ = write!(
                        matches,
                        r#"{{"vulnerable":true,"criteria":"cpe:2.3:a:{v}:{pr}:*:*:*:*:*:*:*:*","versionEndExcluding":"{}","matchCriteriaId":"M"}}"#,
                        version(&mut rng)
                    );
                }
                _ => {
                    let _ = write!(
                        matches,
                        r#"{{"vulnerable":true,"criteria":"cpe:2.3:a:{v}:{pr}:*:*:*:*:*:*:*:*","versionStartIncluding":"{}","versionEndIncluding":"{}","matchCriteriaId":"M"}}"#,
                        version(&mut rng),
                        version(&mut rng)
                    );
                }
            }
        }
        let _ = write!(
            feed,
            r#"{{"cve":{{"id":"CVE-{}-{:05}","sourceIdentifier":"x","published":"2020-01-01T00:00:00.000","lastModified":"2024-01-01T00:00:00.000","vulnStatus":"Analyzed","descriptions":[{{"lang":"en","value":"Synthetic vulnerability number {i} in {pr} allowing remote attackers to do something bad via crafted input."}}],"metrics":{{"cvssMetricV31":[{{"source":"nvd@nist.gov","type":"Primary","cvssData":{{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":{}.{},"baseSeverity":"HIGH"}},"exploitabilityScore":3.9,"impactScore":5.9}}]}},"weaknesses":[],"configurations":[{{"nodes":[{{"operator":"OR","negate":false,"cpeMatch":[{matches}]}}]}}],"references":[{{"url":"https://example.invalid/{i}","source":"x"}}]}}}}"#,
            2000 + i / 100_000,
            i % 100_000,
            1 + rng.below(9),
            rng.below(10)
        );
    }
    feed.push_str("]}");
    let gen = t.elapsed();
    let rss_after_gen = peak_rss_mib();
    let feed_mib = feed.len() as f64 / (1 << 20) as f64;

    let path = std::env::temp_dir().join(format!("mamori-match-bench-{}.json", std::process::id()));
    std::fs::write(&path, feed.as_bytes()).expect("write feed");
    drop(feed);
    let t = Instant::now();
    let mut db = CveDb::new();
    let rep = db.import_file(&path, Timestamp::EPOCH).expect("import");
    let import = t.elapsed();
    let _ = std::fs::remove_file(&path);

    let mut hosts = Vec::with_capacity(1000);
    for h in 0..1000u32 {
        let mut ports = Vec::with_capacity(20);
        for s in 0..20u16 {
            let p = if rng.below(2) == 0 {
                rng.below(100)
            } else {
                rng.below(PRODUCTS as u64)
            } as usize;
            let (v, pr) = product(p);
            let ver = version(&mut rng);
            ports.push(Port {
                protocol: "tcp".into(),
                port: 1000 + s,
                state: "open".into(),
                service: Some(Service {
                    product: Some(pr.clone()),
                    version: Some(ver.clone()),
                    method: Some("probed".into()),
                    cpes: vec![format!("cpe:/a:{v}:{pr}:{ver}")],
                    ..Service::default()
                }),
                ..Port::default()
            });
        }
        hosts.push(Host {
            status: "up".into(),
            addresses: vec![Address {
                addr: format!("10.{}.{}.{}", h >> 16, (h >> 8) & 255, h & 255),
                kind: AddrKind::Ipv4,
                vendor: None,
            }],
            ports,
            ..Host::default()
        });
    }
    let scan = ScanResult {
        scanner: "nmap".into(),
        hosts,
        ..ScanResult::default()
    };

    let rss_db = rss_mib();
    let cpu0 = cpu_secs();
    let t = Instant::now();
    let m = Matcher::new(&db);
    let index = t.elapsed();
    let t = Instant::now();
    let findings = m.match_scan(&scan);
    let matching = t.elapsed();
    let cpu = cpu_secs() - cpu0;
    let rss_end = rss_mib();
    println!(
        "feed: {n} CVEs, {feed_mib:.0} MiB JSON generated in {gen:.2?}; import {import:.2?} ({} records)",
        rep.records
    );
    println!(
        "matching CPU time {cpu:.2}s; RSS with database loaded {rss_db:.0} MiB, after matching {rss_end:.0} MiB"
    );
    println!(
        "match 1000 hosts x 20 services: index {index:.2?} + match {matching:.2?} = {:.2?}; {} findings; peak RSS {:.0} MiB (of which {rss_after_gen:.0} MiB was the in-memory feed generation)",
        index + matching,
        findings.len(),
        peak_rss_mib()
    );
}
