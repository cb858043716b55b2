#![no_main]
//! Version comparison and CPE parsing: total order laws on arbitrary strings, CPE
//! parse → format → parse is stable.

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use mamori_scan::cpe::Cpe;
use mamori_scan::version::compare;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let a = parts.next().unwrap_or("");
    let b = parts.next().unwrap_or("");
    let c = parts.next().unwrap_or("");
    assert_eq!(compare(a, a), Ordering::Equal);
    assert_eq!(compare(a, b), compare(b, a).reverse());
    if compare(a, b) != Ordering::Greater && compare(b, c) != Ordering::Greater {
        assert_ne!(compare(a, c), Ordering::Greater, "{a:?} <= {b:?} <= {c:?}");
    }
    if let Ok(cpe) = Cpe::parse(text) {
        let again = Cpe::parse(&cpe.to_string()).expect("formatted cpe must parse");
        assert_eq!(again, cpe);
        let _ = cpe.matches(&again);
        let _ = cpe.full_version();
    }
});
