#![no_main]
//! Arbitrary events (datasets, fields and values chosen by the input) through the engine:
//! no panic, bounded state, and every engaged alert ends at finish.
use libfuzzer_sys::fuzz_target;
use mamori_core::{Event, Timestamp, Value};
use mamori_detect::{DetectConfig, Engine, Intel, ListFormat};

const DATASETS: &[&str] = &["flow", "dns", "http", "tls", "quic", "dhcp", "ftp", "smtp", "ldap", "snmp", "smb"];
const FIELDS: &[&str] = &[
    "source.ip", "destination.ip", "source.port", "destination.port", "network.transport",
    "network.protocol", "network.direction", "mamori.flow.state", "mamori.flow.tcp_flags",
    "source.bytes", "destination.bytes", "source.packets", "destination.packets",
    "mamori.flow.source_payload_bytes", "mamori.flow.destination_payload_bytes", "event.start",
    "event.end", "event.reason", "mamori.flow.icmp_error", "mamori.icmp.type",
    "mamori.flow.nonstandard_port", "dns.question.name", "dns.question.type",
    "dns.response_code", "url.original", "url.domain", "user_agent.original",
    "http.request.method", "mamori.http.magic", "tls.client.server_name", "tls.version",
    "tls.cipher", "tls.server.x509.not_after", "mamori.tls.alpn", "tls.client.ja3",
    "mamori.dhcp.message_type", "mamori.dhcp.client_mac", "user.name", "mamori.snmp.version",
];
const STRS: &[&str] = &["tcp", "udp", "icmp", "rejected", "no_reply", "established", "S", "FPU", "", "internal", "inbound", "outbound", "10.0.0.1", "203.0.113.9", "evil.example", "NXDOMAIN", "TXT", "ANY", "1.0", "RC4", "DISCOVER", "OFFER", "/../etc/passwd", "${jndi:x}", "curl/8", "pe", "port_unreachable", "active_timeout"];

fuzz_target!(|data: &[u8]| {
    let mut intel = Intel::empty();
    intel.add_text("l", "l", "evil.example\n203.0.113.0/24\n", &ListFormat::Auto);
    intel.finish();
    let Ok(mut engine) = Engine::new(DetectConfig::default(), intel) else {
        return;
    };
    let mut out = Vec::new();
    for chunk in data.chunks(16) {
        let b = |i: usize| chunk.get(i).copied().unwrap_or(0);
        let ds = DATASETS[usize::from(b(0)) % DATASETS.len()];
        let t = Timestamp::from_unix_secs(1_700_000_000 + i64::from(b(1)) * 7);
        let mut ev = Event::new(t, ds);
        ev.set("source.ip", std::net::IpAddr::from([10, 0, 0, b(2) % 8]));
        ev.set("destination.ip", std::net::IpAddr::from([10, 0, 1, b(3) % 8]));
        for pair in chunk.get(4..).unwrap_or(&[]).chunks(2) {
            let f = FIELDS[usize::from(pair[0]) % FIELDS.len()];
            let v = pair.get(1).copied().unwrap_or(0);
            let val = match v % 4 {
                0 => Value::Int(i64::from(v) * 97 - 500),
                1 => Value::Str(STRS[usize::from(v) % STRS.len()].to_owned()),
                2 => Value::Bool(v & 8 != 0),
                _ => Value::Time(Timestamp::from_unix_secs(i64::from(v) * 1_000_000)),
            };
            ev.set(f, val);
        }
        engine.process(&ev, &mut out);
        if b(1) % 16 == 0 {
            engine.advance(t, &mut out);
        }
        if out.len() > 10_000 {
            out.clear();
        }
    }
    engine.finish(&mut out);
    assert_eq!(engine.open_alerts(), 0);
});
