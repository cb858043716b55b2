#![no_main]
//! RFC 5424 / lenient RFC 3164 header parsing on arbitrary text.
use libfuzzer_sys::fuzz_target;
use mamori_core::{Event, Timestamp};
use mamori_logparse::syslog::{apply_header, parse_header};
use mamori_logparse::Zone;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let zone = Zone::get("Asia/Tokyo").unwrap_or_else(|_| Zone::utc());
    let h = parse_header(&text, &zone, Timestamp::from_unix_secs(1_795_400_000));
    let mut ev = Event::new(Timestamp::EPOCH, "syslog");
    apply_header(&h, &mut ev);
});
