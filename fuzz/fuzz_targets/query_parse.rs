#![no_main]
//! Query text → plan → canonical text → plan, then evaluation over a small event set:
//! nothing may panic, and whatever parses must print back to the same plan.

use libfuzzer_sys::fuzz_target;
use mamori_core::{Event, Timestamp};
use mamori_query::{parse, ParseOptions, Schema};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let schema = Schema::ecs();
    let opts = ParseOptions {
        now: Some(Timestamp::from_unix_secs(1_700_000_000)),
        time: Default::default(),
    };
    let Ok(plan) = parse(text, &schema, &opts) else {
        return;
    };
    let canonical = plan.to_string();
    let again = parse(&canonical, &schema, &opts).expect("canonical text must parse");
    assert_eq!(again, plan, "round trip changed the plan: {canonical:?}");
    let ev = Event::new(Timestamp::from_unix_secs(1_700_000_000), "sshd")
        .with("user.name", "admin")
        .with("message", "Failed password for admin")
        .with("destination.port", 22)
        .with("source.ip", std::net::IpAddr::from([10, 0, 0, 5]));
    let _ = plan.execute(vec![ev.clone(), ev]);
    let _ = plan.prune_hints();
    let _ = plan.fields_needed();
});
