//! Measure the nmap XML parser over a directory of files (for externally authored corpora):
//! `cargo run -p mamori-scan --example nmap_corpus -- DIR [--half]` (`--half` parses only the
//! first half of each file, as an interrupted scan would leave it).

use std::io::BufReader;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: nmap_corpus DIR");
        std::process::exit(2);
    };
    let half = std::env::args().any(|a| a == "--half");
    let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(d) => d
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(e) => {
            eprintln!("{dir}: {e}");
            std::process::exit(1);
        }
    };
    entries.sort();
    let (mut ok, mut partial, mut rejected) = (0, 0, 0);
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let f = match std::fs::read(&p) {
            Ok(mut f) => {
                if half {
                    f.truncate(f.len() / 2);
                }
                std::io::Cursor::new(f)
            }
            Err(e) => {
                println!("{name}\tio-error\t{e}");
                continue;
            }
        };
        match mamori_scan::nmap_xml::parse(BufReader::new(f), &name) {
            Ok(r) => {
                let ports: usize = r.hosts.iter().map(|h| h.ports.len()).sum();
                let cpes: usize = r
                    .hosts
                    .iter()
                    .flat_map(|h| &h.ports)
                    .filter_map(|p| p.service.as_ref())
                    .map(|s| s.cpes.len())
                    .sum();
                let status = if r.partial {
                    partial += 1;
                    "partial"
                } else {
                    ok += 1;
                    "ok"
                };
                println!(
                    "{name}\t{status}\thosts={} up={} ports={ports} cpes={cpes} nmap={} counters={}{}",
                    r.hosts.len(),
                    r.up_hosts().count(),
                    r.scanner_version.as_deref().unwrap_or("?"),
                    serde_json::to_string(&r.counters).unwrap_or_default(),
                    r.partial_reason.map(|p| format!(" reason={p}")).unwrap_or_default()
                );
            }
            Err(e) => {
                rejected += 1;
                println!("{name}\trejected\t{e}");
            }
        }
    }
    println!("total ok={ok} partial={partial} rejected={rejected}");
}
