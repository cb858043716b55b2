//! Test kit: flow and protocol records built in code, and an engine runner.
#![allow(dead_code)]

use std::net::IpAddr;

use mamori_core::{Alert, AlertState, Event, Timestamp, Value};
use mamori_detect::{DetectConfig, Engine, Intel, ListFormat};

pub const T0: i64 = 1_700_000_000;
pub const NONE: &str = "";

pub fn ts(secs: f64) -> Timestamp {
    Timestamp::from_unix_nanos(T0 * 1_000_000_000 + (secs * 1e9) as i64)
}

fn home(ip: &str) -> bool {
    let ip: IpAddr = ip.parse().unwrap();
    match ip {
        IpAddr::V4(a) => a.octets()[0] == 10 || (a.octets()[0] == 192 && a.octets()[1] == 168),
        IpAddr::V6(_) => false,
    }
}

fn direction(src: &str, dst: &str) -> &'static str {
    match (home(src), home(dst)) {
        (true, true) => "internal",
        (true, false) => "outbound",
        (false, true) => "inbound",
        (false, false) => "external",
    }
}

/// A record under construction.
pub struct R(pub Event);

/// A flow record (ended at t=0, established, some bytes both ways).
pub fn flow(src: &str, sport: u16, dst: &str, dport: u16, transport: &str) -> R {
    let mut e = Event::new(ts(0.0), "flow");
    e.set("source.ip", src.parse::<IpAddr>().unwrap())
        .set("destination.ip", dst.parse::<IpAddr>().unwrap())
        .set("source.port", sport)
        .set("destination.port", dport)
        .set("network.transport", transport)
        .set("network.direction", direction(src, dst))
        .set("mamori.flow.state", "established")
        .set("source.bytes", 600)
        .set("destination.bytes", 1500)
        .set("source.packets", 5)
        .set("destination.packets", 5)
        .set("mamori.flow.source_payload_bytes", 300)
        .set("mamori.flow.destination_payload_bytes", 1200)
        .set("event.start", ts(0.0))
        .set("event.end", ts(0.0));
    R(e)
}

/// A protocol record of `dataset` between client and server.
pub fn rec(dataset: &'static str, src: &str, dst: &str, dport: u16) -> R {
    let mut e = Event::new(ts(0.0), dataset);
    e.set("source.ip", src.parse::<IpAddr>().unwrap())
        .set("destination.ip", dst.parse::<IpAddr>().unwrap())
        .set("source.port", 50_000)
        .set("destination.port", dport)
        .set("network.direction", direction(src, dst));
    R(e)
}

impl R {
    /// Event time in seconds after T0 (also start/end of a flow).
    pub fn at(mut self, secs: f64) -> R {
        self.0.timestamp = ts(secs);
        if self.0.dataset == "flow" {
            self.0.set("event.end", ts(secs));
            if let Some(Value::Time(s)) = self.0.fields.get("event.start") {
                if *s > ts(secs) || *s == ts(0.0) {
                    self.0.set("event.start", ts(secs));
                }
            }
        }
        self
    }
    pub fn start(mut self, secs: f64) -> R {
        self.0.set("event.start", ts(secs));
        self
    }
    pub fn state(self, s: &str) -> R {
        let mut r = self.set("mamori.flow.state", s);
        if matches!(s, "rejected" | "no_reply" | "half_open") {
            r = r.payload(0, 0);
            if s == "no_reply" {
                r = r.bytes(60, 0).pkts(1, 0);
            } else {
                r = r.bytes(60, 40).pkts(1, 1);
            }
        }
        r
    }
    pub fn bytes(self, s: u64, d: u64) -> R {
        self.set("source.bytes", s).set("destination.bytes", d)
    }
    pub fn pkts(self, s: u64, d: u64) -> R {
        self.set("source.packets", s).set("destination.packets", d)
    }
    pub fn payload(self, s: u64, d: u64) -> R {
        self.set("mamori.flow.source_payload_bytes", s)
            .set("mamori.flow.destination_payload_bytes", d)
    }
    pub fn flags(self, f: &str) -> R {
        self.set("mamori.flow.source_tcp_flags", f)
    }
    pub fn proto(self, p: &str) -> R {
        self.set("network.protocol", p)
    }
    pub fn dir(self, d: &str) -> R {
        self.set("network.direction", d)
    }
    pub fn set(mut self, k: &'static str, v: impl Into<Value>) -> R {
        self.0.set(k, v);
        self
    }
    pub fn ev(self) -> Event {
        self.0
    }
}

pub fn engine(toml: &str) -> Engine {
    let cfg = DetectConfig::from_toml_str(toml, "test.toml").unwrap();
    Engine::new(cfg, Intel::empty()).unwrap()
}

pub fn engine_intel(toml: &str, lists: &[(&str, &str)]) -> Engine {
    let cfg = DetectConfig::from_toml_str(toml, "test.toml").unwrap();
    let mut intel = Intel::empty();
    for (label, text) in lists {
        intel.add_text(label, label, text, &ListFormat::Auto);
    }
    intel.finish();
    Engine::new(cfg, intel).unwrap()
}

/// Process all, then finish; returns every record appended (engaged and past).
pub fn run(e: &mut Engine, evs: impl IntoIterator<Item = Event>) -> Vec<Alert> {
    let mut out = Vec::new();
    for ev in evs {
        e.process(&ev, &mut out);
    }
    e.finish(&mut out);
    out
}

/// Engaged records of one rule.
pub fn engaged<'a>(alerts: &'a [Alert], id: &str) -> Vec<&'a Alert> {
    alerts
        .iter()
        .filter(|a| a.rule_id == id && a.state == AlertState::Engaged)
        .collect()
}

/// Past (final) records of one rule.
pub fn past<'a>(alerts: &'a [Alert], id: &str) -> Vec<&'a Alert> {
    alerts
        .iter()
        .filter(|a| a.rule_id == id && a.state == AlertState::Past)
        .collect()
}

/// Rule ids of every engaged alert.
pub fn rules(alerts: &[Alert]) -> Vec<String> {
    let mut v: Vec<String> = alerts
        .iter()
        .filter(|a| a.state == AlertState::Engaged)
        .map(|a| a.rule_id.to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}
