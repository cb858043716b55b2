#![no_main]
//! Arbitrary bytes as a Sigma rule file: loading must never panic, and every loaded rule
//! (and correlation) must evaluate an event without panicking.

use libfuzzer_sys::fuzz_target;
use mamori_core::{Event, Timestamp};
use mamori_sigma::{Correlator, RuleSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (set, report) = RuleSet::load_str(text, "fuzz.yml");
    let _ = report.loaded() + report.errors() + report.unsupported();
    let mut ev = Event::new(Timestamp::from_unix_secs(1_700_000_000), "windows.sysmon");
    ev.set("event.code", "1")
        .set("winlog.channel", "Microsoft-Windows-Sysmon/Operational")
        .set("winlog.event_data.Image", "C:\\Windows\\System32\\cmd.exe")
        .set("winlog.event_data.CommandLine", "cmd.exe /c whoami")
        .set("source.ip", "10.0.0.1")
        .set("destination.port", 443);
    let matched: Vec<_> = set.matches(&ev).collect();
    for r in &matched {
        let _ = set.to_alert(r, &ev);
    }
    let mut c = Correlator::new();
    for hit in c.process(set.correlations(), &ev, ev.timestamp, matched) {
        let _ = set.correlation_alert(&hit);
    }
});
