//! The terminal summary of `mamori analyze`: what was read, flows, protocols, top talkers,
//! top names, alerts, and everything that could not be used (per reason).
//!
//! It is built only from the emitted events plus the run's counters, so it always agrees
//! with the JSON-lines output.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use mamori_core::{Counters, Event, EventKind};

use crate::i18n::Msgs;
use crate::table::{bytes, thousands, Align, Table};

const TOP: usize = 10;

#[derive(Default)]
struct Traffic {
    flows: u64,
    packets: u64,
    bytes: u64,
}

#[derive(Default)]
struct AlertAgg {
    name: String,
    severity: i64,
    /// Hits per alert key (the engine repeats an alert when it turns past, with its final
    /// count: the largest count seen per key is the number of hits).
    keys: HashMap<String, u64>,
    example: String,
    example_ja: Option<String>,
}

/// Accumulates the summary from events.
#[derive(Default)]
pub struct Summary {
    events: u64,
    by_dataset: HashMap<String, u64>,
    flows: Traffic,
    by_protocol: HashMap<String, Traffic>,
    by_transport: HashMap<String, Traffic>,
    talkers: HashMap<IpAddr, Traffic>,
    pairs: HashMap<(IpAddr, IpAddr), Traffic>,
    dns_names: HashMap<String, u64>,
    tls_names: HashMap<String, u64>,
    http_hosts: HashMap<String, u64>,
    alerts: HashMap<String, AlertAgg>,
    alert_total: u64,
}

/// Facts about the run that do not come from events.
#[derive(Default)]
pub struct RunFacts {
    /// Inputs with what was read of each: (name, kind, units read, bytes).
    pub inputs: Vec<InputFact>,
    /// Everything that could not be used, per reason.
    pub unusable: Counters,
    /// Detection limits and skips (state tables full, late events…): input was used, but
    /// a detector could not take all of it into account.
    pub detection: Counters,
    /// Seconds of wall time.
    pub elapsed_secs: f64,
    /// Packets decoded.
    pub packets: u64,
}

/// One input file.
pub struct InputFact {
    pub name: String,
    pub kind: String,
    pub units: u64,
    pub unit_name: &'static str,
    pub bytes: u64,
    pub error: Option<String>,
}

fn top<K: Clone + Ord, F: Fn(&Traffic) -> u64>(
    m: &HashMap<K, Traffic>,
    key: F,
) -> Vec<(K, &Traffic)> {
    let mut v: Vec<(K, &Traffic)> = m.iter().map(|(k, t)| (k.clone(), t)).collect();
    v.sort_by(|a, b| key(b.1).cmp(&key(a.1)).then_with(|| a.0.cmp(&b.0)));
    v.truncate(TOP);
    v
}

fn top_counts(m: &HashMap<String, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = m.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.truncate(TOP);
    v
}

fn bump(m: &mut HashMap<String, u64>, k: Option<&str>) {
    if let Some(k) = k {
        if let Some(n) = m.get_mut(k) {
            *n += 1;
        } else {
            m.insert(k.to_owned(), 1);
        }
    }
}

impl Summary {
    pub fn observe(&mut self, ev: &Event) {
        self.events += 1;
        if ev.kind == EventKind::Alert {
            self.alert_total += 1;
            let id = ev.get_str("rule.id").unwrap_or("?").to_owned();
            let a = self.alerts.entry(id).or_default();
            let hits = ev.get_i64("mamori.alert.count").unwrap_or(1).max(1) as u64;
            let key = ev
                .get_str("mamori.alert.key")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{}", self.alert_total));
            let k = a.keys.entry(key).or_default();
            *k = (*k).max(hits);
            a.severity = a.severity.max(ev.get_i64("event.severity").unwrap_or(0));
            if a.name.is_empty() {
                a.name = ev.get_str("rule.name").unwrap_or("").to_owned();
            }
            // The latest record of an alert carries its final numbers.
            a.example = ev.get_str("message").unwrap_or("").to_owned();
            a.example_ja = ev.get_str("mamori.message_ja").map(str::to_owned);
            return;
        }
        *self.by_dataset.entry(ev.dataset.to_string()).or_default() += 1;
        match &*ev.dataset {
            "flow" => self.observe_flow(ev),
            "dns" => bump(&mut self.dns_names, ev.get_str("dns.question.name")),
            "tls" => bump(&mut self.tls_names, ev.get_str("tls.client.server_name")),
            "http" => bump(&mut self.http_hosts, ev.get_str("url.domain")),
            _ => {}
        }
    }

    fn observe_flow(&mut self, ev: &Event) {
        let sp = ev.get_i64("source.packets").unwrap_or(0).max(0) as u64;
        let dp = ev.get_i64("destination.packets").unwrap_or(0).max(0) as u64;
        let sb = ev.get_i64("source.bytes").unwrap_or(0).max(0) as u64;
        let db = ev.get_i64("destination.bytes").unwrap_or(0).max(0) as u64;
        let add = |t: &mut Traffic| {
            t.flows += 1;
            t.packets += sp + dp;
            t.bytes += sb + db;
        };
        add(&mut self.flows);
        let proto = ev
            .get_str("network.protocol")
            .unwrap_or("unknown")
            .to_owned();
        add(self.by_protocol.entry(proto).or_default());
        let tr = ev.get_str("network.transport").unwrap_or("?").to_owned();
        add(self.by_transport.entry(tr).or_default());
        if let (Some(s), Some(d)) = (ev.get_ip("source.ip"), ev.get_ip("destination.ip")) {
            add(self.talkers.entry(s).or_default());
            if s != d {
                add(self.talkers.entry(d).or_default());
            }
            add(self.pairs.entry((s, d)).or_default());
        }
    }

    pub fn render(&self, facts: &RunFacts, m: &Msgs) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "{}", m.inputs);
        let mut t = Table::new(&[
            (m.file, Align::Left),
            (m.format, Align::Left),
            (m.read, Align::Right),
            (m.size, Align::Right),
            (m.status, Align::Left),
        ]);
        for i in &facts.inputs {
            t.row(vec![
                i.name.clone(),
                i.kind.clone(),
                format!("{} {}", thousands(i.units), i.unit_name),
                bytes(i.bytes),
                i.error.clone().unwrap_or_else(|| m.ok.into()),
            ]);
        }
        o.push_str(&t.render(2));
        let rate = if facts.elapsed_secs > 0.0 {
            facts.packets as f64 / facts.elapsed_secs
        } else {
            0.0
        };
        let _ = writeln!(
            o,
            "  {} {} {:.2} s{}",
            thousands(self.events),
            m.events_in,
            facts.elapsed_secs,
            if facts.packets > 0 {
                format!(" ({} {})", thousands(rate as u64), m.per_sec_packets)
            } else {
                String::new()
            }
        );

        if self.flows.flows > 0 {
            let _ = writeln!(
                o,
                "\n{}: {} {}, {} {}, {}",
                m.flows_title,
                thousands(self.flows.flows),
                m.flows,
                thousands(self.flows.packets),
                m.packets,
                bytes(self.flows.bytes)
            );
            let mut t = Table::new(&[
                (m.protocol, Align::Left),
                (m.flows, Align::Right),
                (m.packets, Align::Right),
                (m.bytes, Align::Right),
                (m.pct_bytes, Align::Right),
            ]);
            let total = self.flows.bytes.max(1) as f64;
            let mut protos: Vec<(&String, &Traffic)> = self.by_protocol.iter().collect();
            protos.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(b.0)));
            for (p, tr) in protos {
                t.row(vec![
                    p.clone(),
                    thousands(tr.flows),
                    thousands(tr.packets),
                    bytes(tr.bytes),
                    format!("{:.1}", tr.bytes as f64 * 100.0 / total),
                ]);
            }
            o.push_str(&t.render(2));
            let _ = writeln!(o, "\n{}", m.top_talkers);
            let mut t = Table::new(&[
                (m.address, Align::Left),
                (m.flows, Align::Right),
                (m.packets, Align::Right),
                (m.bytes, Align::Right),
            ]);
            for (ip, tr) in top(&self.talkers, |t| t.bytes) {
                t.row(vec![
                    ip.to_string(),
                    thousands(tr.flows),
                    thousands(tr.packets),
                    bytes(tr.bytes),
                ]);
            }
            o.push_str(&t.render(2));
            let _ = writeln!(o, "\n{}", m.top_conversations);
            let mut t = Table::new(&[
                (m.client_server, Align::Left),
                (m.flows, Align::Right),
                (m.bytes, Align::Right),
            ]);
            for ((a, b), tr) in top(&self.pairs, |t| t.bytes) {
                t.row(vec![
                    format!("{a} → {b}"),
                    thousands(tr.flows),
                    bytes(tr.bytes),
                ]);
            }
            o.push_str(&t.render(2));
        }
        for (title, names) in [
            (m.top_dns, &self.dns_names),
            (m.top_tls, &self.tls_names),
            (m.top_http, &self.http_hosts),
        ] {
            if names.is_empty() {
                continue;
            }
            let _ = writeln!(o, "\n{title}");
            let mut t = Table::new(&[(m.name, Align::Left), (m.count, Align::Right)]);
            for (k, n) in top_counts(names) {
                t.row(vec![k.to_owned(), thousands(n)]);
            }
            o.push_str(&t.render(2));
        }
        let mut datasets: Vec<(&String, &u64)> = self.by_dataset.iter().collect();
        datasets.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        if !datasets.is_empty() {
            let _ = writeln!(o, "\n{}", m.by_dataset);
            let mut t = Table::new(&[(m.dataset, Align::Left), (m.records, Align::Right)]);
            for (d, n) in datasets {
                t.row(vec![d.clone(), thousands(*n)]);
            }
            o.push_str(&t.render(2));
        }
        if !self.alerts.is_empty() {
            let distinct: usize = self.alerts.values().map(|a| a.keys.len()).sum();
            let _ = writeln!(o, "\n{}: {}", m.alerts, thousands(distinct as u64));
            let mut t = Table::new(&[
                (m.severity, Align::Left),
                (m.rule, Align::Left),
                (m.alerts, Align::Right),
                (m.hits, Align::Right),
                (m.example, Align::Left),
            ]);
            let mut v: Vec<(&String, &AlertAgg)> = self.alerts.iter().collect();
            v.sort_by(|a, b| {
                b.1.severity
                    .cmp(&a.1.severity)
                    .then(b.1.keys.len().cmp(&a.1.keys.len()))
                    .then_with(|| a.0.cmp(b.0))
            });
            for (id, a) in v {
                let sev = mamori_core::Severity::parse(&a.severity.to_string()).map_or("?", |s| {
                    if m.ja {
                        s.as_ja()
                    } else {
                        s.as_str()
                    }
                });
                let mut ex = match (&a.example_ja, m.ja) {
                    (Some(j), true) => j.clone(),
                    _ => a.example.clone(),
                };
                if ex.chars().count() > 100 {
                    ex = ex.chars().take(99).collect::<String>() + "…";
                }
                let hits: u64 = a.keys.values().sum();
                t.row(vec![
                    sev.to_owned(),
                    id.clone(),
                    thousands(a.keys.len() as u64),
                    thousands(hits),
                    ex,
                ]);
            }
            o.push_str(&t.render(2));
        }
        let _ = writeln!(o, "\n{}", m.not_used);
        if facts.unusable.is_empty() {
            let _ = writeln!(o, "  {}", m.nothing_unused);
        } else {
            let mut t = Table::new(&[
                (m.reason, Align::Left),
                (m.count, Align::Right),
                (m.first_example, Align::Left),
            ]);
            for (name, c) in facts.unusable.iter() {
                t.row(vec![
                    name.to_owned(),
                    thousands(c.count),
                    c.sample.clone().unwrap_or_default(),
                ]);
            }
            o.push_str(&t.render(2));
        }
        if !facts.detection.is_empty() {
            let _ = writeln!(o, "\n{}", m.detection_notes);
            let mut t = Table::new(&[
                (m.reason, Align::Left),
                (m.count, Align::Right),
                (m.first_example, Align::Left),
            ]);
            for (name, c) in facts.detection.iter() {
                t.row(vec![
                    name.to_owned(),
                    thousands(c.count),
                    c.sample.clone().unwrap_or_default(),
                ]);
            }
            o.push_str(&t.render(2));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_core::Timestamp;

    fn flow(src: &str, dst: &str, proto: &str, b: i64) -> Event {
        let mut e = Event::new(Timestamp::EPOCH, "flow");
        e.set("source.ip", src.parse::<IpAddr>().unwrap())
            .set("destination.ip", dst.parse::<IpAddr>().unwrap())
            .set("network.protocol", proto)
            .set("network.transport", "tcp")
            .set("source.bytes", b)
            .set("destination.bytes", b)
            .set("source.packets", 2)
            .set("destination.packets", 1);
        e
    }

    #[test]
    fn summary_counts_protocols_and_talkers() {
        let mut s = Summary::default();
        s.observe(&flow("10.0.0.1", "10.0.0.2", "tls", 1000));
        s.observe(&flow("10.0.0.1", "10.0.0.3", "dns", 10));
        s.observe(&flow("10.0.0.4", "10.0.0.2", "tls", 100));
        let mut dns = Event::new(Timestamp::EPOCH, "dns");
        dns.set("dns.question.name", "example.jp");
        s.observe(&dns);
        let mut facts = RunFacts::default();
        facts
            .unusable
            .incr_with_sample("truncated", || "a.pcap packet 7".into());
        let out = s.render(&facts, crate::i18n::Lang::En.msgs());
        let ja = s.render(&facts, crate::i18n::Lang::Ja.msgs());
        assert!(
            ja.contains("通信量上位ホスト") && ja.contains("example.jp"),
            "{ja}"
        );
        assert!(out.contains("Flows: 3 flows, 9 packets"), "{out}");
        let tls_line = out
            .lines()
            .find(|l| l.trim_start().starts_with("tls"))
            .unwrap();
        assert!(tls_line.contains(" 2 "), "{tls_line}");
        let talkers = out.split("Top talkers").nth(1).unwrap();
        // 10.0.0.2 received 2,000 + 200 bytes: more than 10.0.0.1 sent (2,020).
        assert!(
            talkers.lines().nth(3).unwrap().contains("10.0.0.2"),
            "{talkers}"
        );
        assert!(out.contains("example.jp"));
        assert!(out.contains("truncated") && out.contains("a.pcap packet 7"));
    }
}
