//! # mamori-scan
//!
//! Vulnerability scanning for §10 of the 防衛産業サイバーセキュリティ基準: the nmap runner and a
//! hardened nmap XML parser, a built-in TCP connect scanner with banner grabbing, service
//! identification to CPE 2.3, vulnerability data import (NVD JSON 2.0, CVE JSON 5, CISA KEV,
//! JVN RDF, vulscan CSV), version/CPE matching into findings, scan diffs and the local
//! listening-port audit.
//!
//! ```
//! use mamori_scan::{cpe::Cpe, nmap_xml, vulndb::CveDb, matching::Matcher};
//!
//! let xml = br#"<nmaprun scanner="nmap" version="7.94"><host><status state="up"/>
//! <address addr="127.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="22">
//! <state state="open"/><service name="ssh" product="OpenSSH" version="7.4">
//! <cpe>cpe:/a:openbsd:openssh:7.4</cpe></service></port></ports></host></nmaprun>"#;
//! let scan = nmap_xml::parse(&xml[..], "scan.xml").unwrap();
//!
//! let nvd = br#"{"vulnerabilities":[{"cve":{"id":"CVE-2016-6210","published":"2017-02-13T00:00:00",
//!   "configurations":[{"nodes":[{"operator":"OR","cpeMatch":[{"vulnerable":true,
//!   "criteria":"cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*","versionEndExcluding":"7.3"},
//!   {"vulnerable":true,"criteria":"cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*"}]}]}]}}]}"#;
//! let mut db = CveDb::new();
//! let report = db.import_bytes(nvd, "nvd.json", mamori_core::Timestamp::EPOCH).unwrap();
//! assert_eq!(report.records, 1);
//! let findings = Matcher::new(&db).match_scan(&scan);
//! assert_eq!(findings[0].cve(), "CVE-2016-6210");
//! assert_eq!(findings[0].port(), Some(22));
//! ```

pub mod audit;
pub mod connect;
pub mod cpe;
pub mod diff;
pub mod ident;
pub mod matching;
pub mod model;
pub mod nmap;
pub mod nmap_xml;
pub mod target;
pub mod top_ports;
pub mod version;
pub mod vulndb;
pub(crate) mod xmlsafe;

pub use model::{Host, Port, ScanResult, Service};
pub use xmlsafe::{XmlError, XML_MAX_DEPTH, XML_MAX_VALUE};
