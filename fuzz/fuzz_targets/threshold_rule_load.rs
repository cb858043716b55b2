#![no_main]
//! Arbitrary bytes as a threshold-rule file: loading must never panic, and every loaded rule
//! must evaluate a mix of events (process, advance, finish) without panicking.

use libfuzzer_sys::fuzz_target;
use mamori_core::{Event, EventKind, Timestamp};
use mamori_detect::rules::{RulesConfig, ThresholdRules};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cfg = RulesConfig {
        trap_accounts: vec!["decoy".into()],
        proxy_addresses: vec!["10.0.0.3".into()],
        ..RulesConfig::default()
    };
    let Ok((mut rules, report)) = ThresholdRules::load_str(text, "fuzz.yml", &cfg) else {
        return;
    };
    let _ = report.loaded() + report.errors() + report.inactive() + report.warnings();
    let mut out = Vec::new();
    for i in 0..40i64 {
        let mut ev = Event::new(
            Timestamp::from_unix_secs(1_700_000_000 + i * 7 - (i % 3) * 20),
            "firewall",
        );
        ev.set("event.action", if i % 2 == 0 { "deny" } else { "allow" })
            .set("source.ip", "192.0.2.7")
            .set("destination.ip", "10.0.0.5")
            .set("destination.port", 1000 + i)
            .set("user.name", if i % 5 == 0 { "decoy" } else { "alice" })
            .set("mamori.log.source", "udp:10.0.0.1")
            .set("mamori.log.clock_skew_ms", -i * 100_000)
            .set("url.original", "http://203.0.113.9:8080/a.exe")
            .set("dns.question.name", "xjw7qzk3vbn9pl.example.com");
        if i % 4 == 0 {
            ev.set("mamori.parse_error", true);
        }
        if i % 9 == 0 {
            ev = ev.with_kind(EventKind::Alert);
        }
        rules.process(&ev, &mut out);
        if i % 10 == 0 {
            rules.advance(Timestamp::from_unix_secs(1_700_000_000 + i * 60), &mut out);
        }
    }
    rules.finish(&mut out);
    let _ = rules.stats().count();
});
