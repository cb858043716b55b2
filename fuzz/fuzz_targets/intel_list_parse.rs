#![no_main]
//! Intel list parsing in every format must not panic, and never report more loaded plus
//! rejected lines than the input has.
use libfuzzer_sys::fuzz_target;
use mamori_detect::{Intel, ListFormat};

fuzz_target!(|data: &[u8]| {
    let sel = data.first().copied().unwrap_or(0);
    let text = String::from_utf8_lossy(data.get(1..).unwrap_or(&[]));
    let format = match sel % 4 {
        0 => ListFormat::Auto,
        1 => ListFormat::Maltrail,
        2 => ListFormat::Ipsum { min_count: u32::from(sel / 4) },
        _ => ListFormat::Csv {
            column: usize::from(sel / 4) % 8 + 1,
            delimiter: if sel & 0x80 != 0 { ';' } else { ',' },
            header: sel & 0x40 != 0,
        },
    };
    let mut intel = Intel::empty();
    intel.add_text("fuzz", "fuzz", &text, &format);
    intel.finish();
    for line in text.lines().take(64) {
        let t = line.trim();
        let _ = intel.match_domain(t);
        if let Ok(ip) = t.parse() {
            let _ = intel.match_ip(ip);
            let _ = intel.match_ip_port(ip, 443);
        }
        let _ = intel.match_url(t, "/");
        let _ = intel.match_url("h", t);
        let _ = intel.match_ja3(t);
        let _ = intel.match_ja4(t);
        let _ = intel.match_cert_sha1(t);
    }
    let rep = intel.report();
    assert!(rep.loaded() + rep.rejected() <= text.lines().count() as u64);
});
