#![no_main]
//! Vulnerability data bytes (NVD/KEV/CVE 5 JSON, JVN XML, vulscan CSV, gzip) → CveDb import and
//! matching: nothing may panic, and re-importing the same bytes adds no new record.

use libfuzzer_sys::fuzz_target;
use mamori_core::Timestamp;
use mamori_scan::cpe::Cpe;
use mamori_scan::matching::Matcher;
use mamori_scan::vulndb::CveDb;

fuzz_target!(|data: &[u8]| {
    let mut db = CveDb::new();
    let Ok(first) = db.import_bytes(data, "fuzz.json", Timestamp::EPOCH) else {
        return;
    };
    let n = db.len();
    if let Ok(again) = db.import_bytes(data, "fuzz.json", Timestamp::EPOCH) {
        assert_eq!(again.new, 0, "re-import must be idempotent");
        assert_eq!(db.len(), n);
    }
    let _ = first;
    let m = Matcher::new(&db);
    for rec in db.records() {
        for r in &rec.configurations {
            let _ = m.match_cpe(&r.criteria);
            if let Some(v) = r.end_including.as_deref().or(r.start_including.as_deref()) {
                let _ = m.match_cpe(&r.criteria.with_version(v));
            }
        }
    }
    let _ = m.match_cpe(&Cpe::application("openbsd", "openssh", Some("7.4")));
    let _ = db.status(Timestamp::EPOCH);
});
