#![no_main]
//! nmap XML bytes → ScanResult: nothing may panic; entity/DTD input is rejected, never expanded;
//! a document that parses must parse the same way when streamed through a 1-byte reader.

use libfuzzer_sys::fuzz_target;
use mamori_scan::nmap_xml;

fuzz_target!(|data: &[u8]| {
    let whole = nmap_xml::parse(data, "fuzz.xml");
    let tiny = nmap_xml::parse(std::io::BufReader::with_capacity(1, data), "fuzz.xml");
    match (&whole, &tiny) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.hosts.len(), b.hosts.len());
            assert_eq!(a.partial, b.partial);
        }
        (Err(_), Err(_)) => {}
        _ => panic!("buffering changed the outcome"),
    }
    if let Ok(r) = whole {
        let _ = format!("{r:?}");
        for h in &r.hosts {
            for p in &h.ports {
                let _ = mamori_scan::matching::Matcher::port_cpes(p);
            }
        }
    }
});
