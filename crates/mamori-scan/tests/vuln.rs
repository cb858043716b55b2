//! Import, matching, diff and end-to-end tests on data generated here.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure there is a failed assertion

use std::io::Write;
use std::time::Duration;

use mamori_core::{Severity, Timestamp};
use mamori_scan::connect::{scan, ConnectOptions};
use mamori_scan::cpe::Cpe;
use mamori_scan::diff::diff;
use mamori_scan::matching::{Confidence, Matcher};
use mamori_scan::model::{AddrKind, Address, Host, Port, ScanResult, Service};
use mamori_scan::target::Target;
use mamori_scan::vulndb::{CveDb, ImportError, Source};

fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2026-01-10T00:00:00Z").unwrap()
}

fn nvd_item(id: &str, score: f64, matches: &str) -> String {
    format!(
        r#"{{"cve":{{"id":"{id}","published":"2023-07-20T03:15:10.170","lastModified":"2024-02-01T00:00:00.000","vulnStatus":"Analyzed",
"descriptions":[{{"lang":"en","value":"desc {id}"}},{{"lang":"es","value":"x"}}],
"metrics":{{"cvssMetricV31":[{{"source":"nvd@nist.gov","type":"Primary","cvssData":{{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":{score},"baseSeverity":"CRITICAL"}}}}],
"cvssMetricV40":[{{"source":"x","type":"Secondary","cvssData":{{"version":"4.0","vectorString":"CVSS:4.0/AV:N","baseScore":9.3,"baseSeverity":"CRITICAL"}}}}]}},
"configurations":[{{"nodes":[{{"operator":"OR","negate":false,"cpeMatch":[{matches}]}}]}}]}}}}"#
    )
}

fn range(crit: &str, extra: &str) -> String {
    format!(r#"{{"vulnerable":true,"criteria":"{crit}","matchCriteriaId":"X"{extra}}}"#)
}

fn feed(items: &[String]) -> Vec<u8> {
    format!(
        r#"{{"resultsPerPage":{n},"startIndex":0,"totalResults":{n},"format":"NVD_CVE","version":"2.0","timestamp":"2024-02-02T00:00:00.000","vulnerabilities":[{}]}}"#,
        items.join(","),
        n = items.len()
    )
    .into_bytes()
}

fn sample_db() -> CveDb {
    let ssh_any = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*";
    let items = vec![
        // OpenSSH < 9.3p2 (exclusive end)
        nvd_item(
            "CVE-2023-38408",
            9.8,
            &range(
                ssh_any,
                r#","versionEndExcluding":"9.3:p2""#.replace(":p2", "p2").as_str(),
            ),
        ),
        // OpenSSH 5.0 ..= 7.4 inclusive
        nvd_item(
            "CVE-2016-10012",
            7.8,
            &range(
                ssh_any,
                r#","versionStartIncluding":"5.0","versionEndIncluding":"7.4""#,
            ),
        ),
        // exact 7.4
        nvd_item(
            "CVE-2017-15906",
            5.3,
            &range("cpe:2.3:a:openbsd:openssh:7.4:-:*:*:*:*:*:*", ""),
        ),
        // start excluding 7.4 (so 7.4 itself is not affected)
        nvd_item(
            "CVE-2018-15473",
            5.3,
            &range(
                ssh_any,
                r#","versionStartExcluding":"7.4","versionEndIncluding":"7.7""#,
            ),
        ),
        // vsftpd backdoor, exact
        nvd_item(
            "CVE-2011-2523",
            9.8,
            &range("cpe:2.3:a:vsftpd_project:vsftpd:2.3.4:*:*:*:*:*:*:*", ""),
        ),
        // non-vulnerable entry is ignored
        nvd_item(
            "CVE-2020-0001",
            5.0,
            r#"{"vulnerable":false,"criteria":"cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*"}"#,
        ),
    ];
    let mut db = CveDb::new();
    let r = db.import_bytes(&feed(&items), "nvd.json", t0()).unwrap();
    assert_eq!(r.format, "nvd-json-2.0");
    assert_eq!(r.records, 6);
    let kev = br#"{"title":"CISA Catalog","catalogVersion":"2024.01.01","count":1,"vulnerabilities":[
      {"cveID":"CVE-2011-2523","vendorProject":"vsftpd","product":"vsftpd","vulnerabilityName":"vsftpd backdoor","dateAdded":"2023-01-10","dueDate":"2023-01-31","knownRansomwareCampaignUse":"Unknown"},
      {"cveID":"not-a-cve"}]}"#;
    let r = db.import_bytes(kev, "kev.json", t0()).unwrap();
    assert_eq!((r.format.as_str(), r.kev), ("cisa-kev", 1));
    assert_eq!(r.counters.get("kev_bad_id"), 1);
    db
}

fn host(ip: &str, ports: Vec<Port>) -> Host {
    Host {
        status: "up".into(),
        addresses: vec![Address {
            addr: ip.into(),
            kind: AddrKind::Ipv4,
            vendor: None,
        }],
        ports,
        ..Host::default()
    }
}

fn nmap_port(port: u16, product: &str, version: &str, cpe: &str) -> Port {
    Port {
        protocol: "tcp".into(),
        port,
        state: "open".into(),
        service: Some(Service {
            product: Some(product.into()),
            version: Some(version.into()),
            method: Some("probed".into()),
            cpes: vec![cpe.into()],
            ..Service::default()
        }),
        ..Port::default()
    }
}

fn scan_of(hosts: Vec<Host>) -> ScanResult {
    ScanResult {
        scanner: "nmap".into(),
        hosts,
        ..ScanResult::default()
    }
}

fn cves(f: &[mamori_scan::matching::Finding]) -> Vec<&str> {
    f.iter().map(|f| f.vuln.cve.as_str()).collect()
}

#[test]
fn range_edges() {
    let db = sample_db();
    let m = Matcher::new(&db);
    let at = |v: &str| {
        let c = Cpe::parse(&format!("cpe:/a:openbsd:openssh:{v}")).unwrap();
        let mut ids: Vec<String> = m
            .match_cpe(&mamori_scan::ident::equivalents(&c)[0])
            .iter()
            .map(|x| x.record.id.clone())
            .collect();
        ids.sort();
        ids
    };
    // 7.4: inclusive end of 10012, exact 15906, excluded start of 15473, below 9.3p2
    assert_eq!(
        at("7.4"),
        ["CVE-2016-10012", "CVE-2017-15906", "CVE-2023-38408"]
    );
    // 7.4p1 > 7.4: past the inclusive end; start-excluding 7.4 now satisfied
    assert_eq!(at("7.4p1"), ["CVE-2018-15473", "CVE-2023-38408"]);
    // 4.9 below start including 5.0
    assert_eq!(at("4.9"), ["CVE-2023-38408"]);
    assert_eq!(at("5.0"), ["CVE-2016-10012", "CVE-2023-38408"]);
    // 7.7 inclusive end; 9.3p1 inside exclusive end; 9.3p2 at exclusive end → not affected
    assert_eq!(at("7.7"), ["CVE-2018-15473", "CVE-2023-38408"]);
    assert_eq!(at("9.3p1"), ["CVE-2023-38408"]);
    assert!(at("9.3p2").is_empty());
    assert!(at("9.6p1").is_empty());
}

#[test]
fn findings_with_evidence_kev_and_confidence() {
    let db = sample_db();
    let m = Matcher::new(&db);
    let mut banner_port = Port {
        protocol: "tcp".into(),
        port: 2121,
        state: "open".into(),
        ..Port::default()
    };
    banner_port.banner = Some("220 (vsFTPd 2.3.4)".into());
    let s = scan_of(vec![host(
        "192.0.2.5",
        vec![
            nmap_port(22, "OpenSSH", "7.4", "cpe:/a:openbsd:openssh:7.4"),
            nmap_port(21, "vsftpd", "2.3.4", "cpe:/a:vsftpd:vsftpd:2.3.4"),
            banner_port,
        ],
    )]);
    let f = m.match_scan(&s);
    let ftp = f.iter().find(|x| x.evidence.port == Some(21)).unwrap();
    assert_eq!(ftp.vuln.cve, "CVE-2011-2523");
    assert!(ftp.vuln.kev);
    assert_eq!(ftp.vuln.kev_due_date.as_deref(), Some("2023-01-31"));
    assert_eq!(ftp.confidence, Confidence::CpeExact);
    assert_eq!(ftp.vuln.severity, Severity::Critical);
    assert_eq!(
        ftp.vuln.cvss3.as_ref().unwrap().vector,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    );
    assert_eq!(ftp.vuln.cvss4.as_ref().unwrap().score, 9.3);
    let banner = f.iter().find(|x| x.evidence.port == Some(2121)).unwrap();
    assert_eq!(banner.vuln.cve, "CVE-2011-2523");
    assert_eq!(banner.confidence, Confidence::BannerHeuristic);
    assert_eq!(
        banner.evidence.banner.as_deref(),
        Some("220 (vsFTPd 2.3.4)")
    );
    let ssh: Vec<_> = f.iter().filter(|x| x.evidence.port == Some(22)).collect();
    assert_eq!(ssh.len(), 3);
    let exact = ssh.iter().find(|x| x.vuln.cve == "CVE-2017-15906").unwrap();
    assert_eq!(exact.confidence, Confidence::CpeExact);
    assert_eq!(exact.vuln.severity, Severity::Medium);
    let ranged = ssh.iter().find(|x| x.vuln.cve == "CVE-2016-10012").unwrap();
    assert_eq!(ranged.confidence, Confidence::VersionRange);
    assert_eq!(
        ranged.vuln.description.as_deref(),
        Some("desc CVE-2016-10012")
    );
    assert_eq!(ranged.evidence.host, "192.0.2.5");
    assert!(ranged.cpe.starts_with("cpe:2.3:a:openbsd:openssh:7.4"));
}

#[test]
fn gzip_idempotent_status_and_persistence() {
    let items = vec![nvd_item(
        "CVE-2024-0001",
        5.0,
        &range(
            "cpe:2.3:a:nginx:nginx:*:*:*:*:*:*:*:*",
            r#","versionEndExcluding":"1.25.0""#,
        ),
    )];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&feed(&items)).unwrap();
    let gz = gz.finish().unwrap();
    let mut db = CveDb::new();
    let r1 = db
        .import_bytes(&gz, "nvdcve-2.0-2024.json.gz", t0())
        .unwrap();
    assert_eq!((r1.records, r1.new), (1, 1));
    let later = t0() + mamori_core::Duration::from_secs(3600);
    let r2 = db
        .import_bytes(&gz, "nvdcve-2.0-2024.json.gz", later)
        .unwrap();
    assert_eq!(
        (r2.records, r2.new),
        (1, 0),
        "re-import replaces, adds nothing"
    );
    assert_eq!(db.len(), 1);
    let st = db.status(later + mamori_core::Duration::from_secs(60));
    assert_eq!(st.total_records, 1);
    assert_eq!(st.sources[0].source, "nvd");
    assert_eq!(st.sources[0].import_age_secs, Some(60));
    assert_eq!(
        st.sources[0].newest_record,
        Some(Timestamp::parse_rfc3339("2024-02-01T00:00:00Z").unwrap())
    );
    // nginx banner is matched through the f5/nginx/igor_sysoev aliases
    let m = Matcher::new(&db);
    let s = scan_of(vec![host(
        "10.0.0.1",
        vec![nmap_port(
            80,
            "nginx",
            "1.18.0",
            "cpe:/a:igor_sysoev:nginx:1.18.0",
        )],
    )]);
    assert_eq!(cves(&m.match_scan(&s)), ["CVE-2024-0001"]);
    // save/load round trip
    let path = std::env::temp_dir().join(format!("mamori-scan-db-{}.jsonl.gz", std::process::id()));
    db.save(&path).unwrap();
    let back = CveDb::load(&path).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(
        back.get(Source::Nvd, "CVE-2024-0001"),
        db.get(Source::Nvd, "CVE-2024-0001")
    );
    assert_eq!(back.imports().len(), 2);
    std::fs::write(&path, b"not gzip").unwrap();
    assert!(CveDb::load(&path).is_err());
    let _ = std::fs::remove_file(&path);
    assert!(
        CveDb::load(&path).unwrap().is_empty(),
        "missing file is an empty database"
    );
}

#[test]
fn cve5_jvn_vulscan() {
    let mut db = CveDb::new();
    let cve5 = br#"{"dataType":"CVE_RECORD","dataVersion":"5.1","cveMetadata":{"cveId":"CVE-2021-41773","state":"PUBLISHED","datePublished":"2021-10-05T00:00:00.000Z","dateUpdated":"2024-08-04T00:00:00.000Z"},
 "containers":{"cna":{"title":"Path traversal","descriptions":[{"lang":"en","value":"Apache 2.4.49 path traversal"}],
 "affected":[{"vendor":"Apache Software Foundation","product":"Apache HTTP Server","versions":[{"version":"2.4.49","status":"affected"}]},
             {"vendor":"Example","product":"Widget","versions":[{"version":"1.0","lessThan":"1.4","status":"affected","versionType":"semver"},{"version":"2.0","lessThanOrEqual":"2.1","status":"affected"}]},
             {"vendor":"n/a","product":"n/a","versions":[{"version":"n/a","status":"affected"}]}],
 "metrics":[{"cvssV3_1":{"version":"3.1","baseScore":7.5,"vectorString":"CVSS:3.1/AV:N","baseSeverity":"HIGH"}}]}}}"#;
    let r = db.import_bytes(cve5, "CVE-2021-41773.json", t0()).unwrap();
    assert_eq!((r.format.as_str(), r.records), ("cve-json-5", 1));
    assert_eq!(r.counters.get("cve5_affected_unnamed"), 1);
    let rec = db.get(Source::Cve5, "CVE-2021-41773").unwrap();
    assert_eq!(rec.configurations.len(), 3);
    assert_eq!(rec.cvss3.as_ref().unwrap().score, 7.5);
    assert_eq!(rec.configurations[1].end_excluding.as_deref(), Some("1.4"));
    assert_eq!(rec.configurations[2].end_including.as_deref(), Some("2.1"));
    // an array of CVE 5 records also imports
    let arr = format!(
        "[{}]",
        String::from_utf8_lossy(cve5).replace("41773", "42013")
    );
    assert_eq!(
        db.import_bytes(arr.as_bytes(), "bundle.json", t0())
            .unwrap()
            .records,
        1
    );

    let jvn = r#"<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:sec="http://jvn.jp/rss/mod_sec/3.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">
<channel rdf:about="x"><title>JVN iPedia</title></channel>
<item rdf:about="https://jvndb.jvn.jp/ja/contents/2021/JVNDB-2021-000001.html">
<title>Apache HTTP Server におけるパストラバーサルの脆弱性</title>
<description>Apache HTTP Server 2.4.49 には、パストラバーサルの脆弱性が存在します。</description>
<sec:identifier>JVNDB-2021-000001</sec:identifier>
<sec:references source="NVD" id="CVE-2021-41773">https://nvd.nist.gov/vuln/detail/CVE-2021-41773</sec:references>
<sec:cpe version="2.2" vendor="Apache Software Foundation" product="Apache HTTP Server">cpe:/a:apache:http_server</sec:cpe>
<sec:cvss score="7.5" severity="High" vector="CVSS:3.0/AV:N/AC:L" version="3.0" type="Base"/>
<dcterms:issued>2021-10-06T12:00+09:00</dcterms:issued><dcterms:modified>2021-10-07T12:00+09:00</dcterms:modified>
</item></rdf:RDF>"#;
    let r = db.import_bytes(jvn.as_bytes(), "jvn.rdf", t0()).unwrap();
    assert_eq!((r.format.as_str(), r.records), ("jvn-rdf", 1));
    let j = db.get(Source::Jvn, "JVNDB-2021-000001").unwrap();
    assert_eq!(j.aliases, ["CVE-2021-41773"]);
    assert!(j
        .description_ja
        .as_deref()
        .unwrap()
        .contains("パストラバーサル"));
    assert_eq!(j.cvss3.as_ref().unwrap().score, 7.5);
    assert_eq!(
        j.published,
        Some(Timestamp::parse_rfc3339("2021-10-06T03:00:00Z").unwrap())
    );

    let csv = b"CVE-2021-41773;Apache HTTP Server 2.4.49 path traversal\n\nbroken line\n12345;Exploit DB entry\n";
    let r = db.import_bytes(csv, "cve.csv", t0()).unwrap();
    assert_eq!((r.format.as_str(), r.records), ("vulscan-csv", 2));
    assert_eq!(r.counters.get("vulscan_bad_line"), 1);

    // Matching: CVE 5 exact version, plus the Japanese text from JVN.
    let m = Matcher::new(&db);
    let s = scan_of(vec![host(
        "10.0.0.2",
        vec![nmap_port(
            80,
            "Apache httpd",
            "2.4.49",
            "cpe:/a:apache:http_server:2.4.49",
        )],
    )]);
    let f = m.match_scan(&s);
    // 42013 is the bundle copy with the same affected data
    assert_eq!(cves(&f), ["CVE-2021-41773", "CVE-2021-42013"]);
    assert!(f[1].vuln.jvn_ids.is_empty());
    assert_eq!(f[0].vuln.jvn_ids, ["JVNDB-2021-000001"]);
    assert!(f[0]
        .vuln
        .description_ja
        .as_deref()
        .unwrap()
        .contains("パストラバーサル"));
    let st = db.status(t0());
    let names: Vec<_> = st.sources.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(names, ["cve5", "jvn", "vulscan"]);
}

#[test]
fn bad_files_are_clear_errors() {
    let mut db = CveDb::new();
    let e = db.import_bytes(b"", "empty.json", t0()).unwrap_err();
    assert!(matches!(e, ImportError::Format { .. }) && e.to_string().contains("empty.json"));
    let e = db.import_bytes(
        br#"{"vulnerabilities": [ {"cve": {"id": "CVE-2020-1234"}}, {"cve" "#,
        "cut.json",
        t0(),
    );
    // one record stored before the break → partial report naming the position
    let r = e.unwrap();
    assert!(r.partial && r.records == 1);
    assert!(
        r.error.as_deref().unwrap().contains("cut.json")
            && r.error.as_deref().unwrap().contains("line 1 column"),
        "{:?}",
        r.error
    );
    let e = db
        .import_bytes(br#"{"vulnerabilities": [ {"cve" "#, "bad.json", t0())
        .unwrap_err();
    assert!(matches!(e, ImportError::Parse { .. }) && e.to_string().contains("bad.json"));
    let e = db
        .import_bytes(br#"{"hello": 1}"#, "other.json", t0())
        .unwrap_err();
    assert!(matches!(e, ImportError::Format { .. }));
    let e = db
        .import_bytes(
            b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><rdf:RDF>&a;</rdf:RDF>",
            "evil.rdf",
            t0(),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("evil.rdf") && e.to_string().contains("DOCTYPE"),
        "{e}"
    );
    let e = db
        .import_bytes(b"<html><body/></html>", "page.html", t0())
        .unwrap_err();
    assert!(matches!(e, ImportError::Format { .. }));
    let e = db
        .import_bytes(&[0x1f, 0x8b, 1, 2, 3], "broken.json.gz", t0())
        .unwrap_err();
    assert!(e.to_string().contains("broken.json.gz"));
    let e = db.import_bytes(b"a\nb\nc\n", "junk.csv", t0()).unwrap_err();
    assert!(matches!(e, ImportError::Format { .. }));
    let e = db
        .import_file(std::path::Path::new("/nonexistent/feed.json"), t0())
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/feed.json"));
}

#[test]
fn diff_ports_services_and_cves() {
    let db = sample_db();
    let m = Matcher::new(&db);
    let old = scan_of(vec![host(
        "192.0.2.5",
        vec![
            nmap_port(22, "OpenSSH", "7.4", "cpe:/a:openbsd:openssh:7.4"),
            nmap_port(21, "vsftpd", "2.3.4", "cpe:/a:vsftpd:vsftpd:2.3.4"),
        ],
    )]);
    let new = scan_of(vec![host(
        "192.0.2.5",
        vec![
            nmap_port(22, "OpenSSH", "9.6p1", "cpe:/a:openbsd:openssh:9.6p1"),
            nmap_port(443, "nginx", "1.25.3", "cpe:/a:f5:nginx:1.25.3"),
        ],
    )]);
    let (fo, fnew) = (m.match_scan(&old), m.match_scan(&new));
    let d = diff(&old, &new, &fo, &fnew);
    assert_eq!(
        d.new_ports.iter().map(|p| p.port).collect::<Vec<_>>(),
        [443]
    );
    assert_eq!(
        d.closed_ports.iter().map(|p| p.port).collect::<Vec<_>>(),
        [21]
    );
    assert_eq!(d.changed_services.len(), 1);
    assert_eq!(
        (
            d.changed_services[0].before.as_str(),
            d.changed_services[0].after.as_str()
        ),
        ("OpenSSH 7.4", "OpenSSH 9.6p1")
    );
    assert!(d.new_cves.is_empty());
    let fixed: Vec<_> = d.fixed_cves.iter().map(|c| c.cve.as_str()).collect();
    assert!(fixed.contains(&"CVE-2011-2523") && fixed.contains(&"CVE-2023-38408"));
    // partial new scan: nothing is claimed closed or fixed
    let mut partial = new.clone();
    partial.partial = true;
    let d = diff(&old, &partial, &fo, &fnew);
    assert!(d.closed_ports.is_empty() && d.fixed_cves.is_empty());
    assert!(diff(&old, &old, &fo, &fo).is_empty());
}

/// End to end: loopback services with old banners, built-in scanner, generated CVE file.
#[test]
fn loopback_services_to_findings() {
    use std::net::TcpListener;
    let serve = |greeting: &'static [u8]| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let _ = s.write_all(greeting);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        port
    };
    let ssh = serve(b"SSH-2.0-OpenSSH_7.4\r\n");
    let ftp = serve(b"220 (vsFTPd 2.3.4)\r\n");
    let r = scan(&ConnectOptions {
        targets: vec![Target::parse("127.0.0.1").unwrap()],
        ports: vec![ssh, ftp],
        ..ConnectOptions::default()
    })
    .unwrap();
    let db = sample_db();
    let f = Matcher::new(&db).match_scan(&r);
    let on = |p: u16| -> Vec<&str> {
        f.iter()
            .filter(|x| x.evidence.port == Some(p))
            .map(|x| x.vuln.cve.as_str())
            .collect()
    };
    assert_eq!(
        on(ssh),
        ["CVE-2016-10012", "CVE-2017-15906", "CVE-2023-38408"]
    );
    assert_eq!(on(ftp), ["CVE-2011-2523"]);
    assert!(f
        .iter()
        .all(|x| x.confidence == Confidence::BannerHeuristic && x.evidence.host == "127.0.0.1"));
}
