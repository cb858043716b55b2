//! Parse and field-extraction rates against the external development corpus (measurement
//! only; nothing from it is copied into the repository).
//!
//! `cargo run -p mamori-logparse --release --example corpus_rates [CORPUS_DIR]`
//! (default `../shared/corpus`, i.e. `/work/shared/corpus` from the repository root). Prints
//! one row per source: lines, share handled by a product parser (not kept raw), and
//! agreement of the fields the corpus labels with the fields mamori extracted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mamori_core::{Event, Timestamp};
use mamori_logparse::text::csv_split;
use mamori_logparse::{LineContext, LineStatus, LogParser};

#[derive(Default)]
struct Row {
    lines: u64,
    parsed: u64,
    compared: u64,
    agreed: u64,
    misses: BTreeMap<String, u64>,
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/corpus"));
    if !dir.is_dir() {
        println!("corpus not found at {} — nothing to measure", dir.display());
        return;
    }
    println!(
        "{:<40} {:>6} {:>8} {:>9} {:>8}",
        "source", "lines", "parsed%", "compared", "agree%"
    );
    loghub(&dir.join("loghub"));
    crowdsec(&dir.join("crowdsec-hub/tests"));
}

/// `MAMORI_CORPUS_VERBOSE=1` lists unparsed lines and crowdsec field mismatches.
fn verbose() -> bool {
    std::env::var_os("MAMORI_CORPUS_VERBOSE").is_some()
}

fn received() -> Timestamp {
    Timestamp::from_civil(2026, 11, 23, 3, 0, 0, 0).unwrap_or(Timestamp::EPOCH)
}

fn print(name: &str, r: &Row) {
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "{:<40} {:>6} {:>7.1}% {:>9} {:>7.1}%",
        name,
        r.lines,
        pct(r.parsed, r.lines),
        r.compared,
        pct(r.agreed, r.compared)
    );
    let worst: Vec<String> = {
        let mut v: Vec<_> = r.misses.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.into_iter()
            .take(3)
            .map(|(k, n)| format!("{k}×{n}"))
            .collect()
    };
    if !worst.is_empty() {
        println!("{:<40} mismatches: {}", "", worst.join(", "));
    }
}

fn field(ev: &Event, name: &str) -> Option<String> {
    ev.get(name).map(|v| v.to_string())
}

fn check(r: &mut Row, label: &str, want: &str, got: &[Option<String>]) {
    r.compared += 1;
    let want = want.trim();
    if got.iter().flatten().any(|g| g.trim() == want) {
        r.agreed += 1;
    } else {
        *r.misses.entry(label.to_owned()).or_default() += 1;
    }
}

fn loghub(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut systems: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    systems.sort();
    for sys in systems {
        let name = sys
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = sys.join(format!("{name}_2k.log"));
        let csv = sys.join(format!("{name}_2k.log_structured.csv"));
        let (Ok(log), Ok(csv)) = (std::fs::read(&log), std::fs::read_to_string(&csv)) else {
            continue;
        };
        let mut p = LogParser::default();
        let mut r = Row::default();
        let mut rows = csv.lines();
        let header = rows.next().map(|h| csv_split(h, 32)).unwrap_or_default();
        let col = |n: &str| header.iter().position(|h| h.eq_ignore_ascii_case(n));
        let (pid, comp, content, level) =
            (col("Pid"), col("Component"), col("Content"), col("Level"));
        for (line, row) in log
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .zip(rows)
        {
            let ctx = LineContext {
                received: received(),
                source: &name,
                source_ip: None,
                hint: None,
            };
            let x = p.explain_line(line, &ctx);
            r.lines += 1;
            if matches!(x.status, LineStatus::Parsed) {
                r.parsed += 1;
            } else if verbose() {
                println!(
                    "  {:?}: {}",
                    x.status,
                    String::from_utf8_lossy(&line[..line.len().min(160)])
                );
            }
            let f = csv_split(row, 32);
            let ev = &x.event;
            if let Some(v) = pid.and_then(|i| f.get(i)).filter(|v| !v.is_empty()) {
                check(&mut r, "pid", v, &[field(ev, "process.pid")]);
            }
            if let Some(v) = comp.and_then(|i| f.get(i)).filter(|v| !v.is_empty()) {
                check(
                    &mut r,
                    "component",
                    v,
                    &[field(ev, "process.name"), field(ev, "host.hostname")],
                );
            }
            if let Some(v) = content.and_then(|i| f.get(i)).filter(|v| !v.is_empty()) {
                check(&mut r, "content", v, &[field(ev, "message")]);
            }
            if let Some(v) = level.and_then(|i| f.get(i)).filter(|v| !v.is_empty()) {
                check(
                    &mut r,
                    "level",
                    &v.to_ascii_lowercase(),
                    &[field(ev, "log.level")],
                );
            }
        }
        print(&format!("loghub/{name}"), &r);
    }
}

/// `results["stage"]["parser"][N].Evt.Meta["key"] == "value"` →
/// (`results["stage"]["parser"]`, N, Meta/Parsed, key, value with Go escapes undone).
fn assert_line(l: &str) -> Option<(&str, usize, &str, &str, String)> {
    let (lhs, rhs) = l.split_once(" == ")?;
    let value = rhs.trim().strip_prefix('"')?.strip_suffix('"')?;
    let evt = lhs.find("].Evt.")?;
    let idx_start = lhs[..evt].rfind('[')? + 1;
    let idx: usize = lhs[idx_start..evt].parse().ok()?;
    let rest = &lhs[evt + 6..];
    let (kind, key) = rest.split_once("[\"")?;
    let value = value.replace("\\\"", "\"").replace("\\\\", "\\");
    Some((
        &lhs[..idx_start - 1],
        idx,
        kind,
        key.strip_suffix("\"]")?,
        value,
    ))
}

/// One crowdsec expectation: label, value, the mamori fields that should hold it.
type Expect = (String, String, &'static [&'static str]);

/// crowdsec key → mamori ECS fields that should hold the same value.
fn ecs_for(kind: &str, key: &str) -> Option<&'static [&'static str]> {
    Some(match (kind, key) {
        ("Parsed", "program") => &["process.name"],
        ("Parsed", "pid") => &["process.pid"],
        ("Meta", "machine") => &["host.hostname"],
        ("Meta", "source_ip")
        | ("Parsed", "remote_addr")
        | ("Parsed", "src_ip")
        | ("Parsed", "sshd_client_ip") => &["source.ip"],
        ("Parsed", "dst_ip") => &["destination.ip"],
        ("Parsed", "src_port") | ("Parsed", "remote_port") => &["source.port"],
        ("Parsed", "dst_port") => &["destination.port"],
        ("Meta", "target_user") => &["user.name"],
        ("Meta", "http_status") | ("Parsed", "status") => &["http.response.status_code"],
        ("Meta", "http_path") | ("Parsed", "request") => &["url.original"],
        ("Meta", "http_verb") | ("Parsed", "verb") => &["http.request.method"],
        ("Meta", "http_user_agent") | ("Parsed", "http_user_agent") => &["user_agent.original"],
        ("Parsed", "http_version") => &["http.version"],
        ("Parsed", "iface") => &["observer.ingress.interface.name"],
        _ => return None,
    })
}

fn crowdsec(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut tests: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    tests.sort();
    for t in tests {
        let Ok(cfg) = std::fs::read_to_string(t.join("config.yaml")) else {
            continue;
        };
        let get = |k: &str| {
            cfg.lines()
                .find_map(|l| l.trim().strip_prefix(k).map(|v| v.trim().to_owned()))
        };
        let (Some(file), Some(log_type)) = (get("log_file:"), get("log_type:")) else {
            continue;
        };
        let Ok(data) = std::fs::read(t.join(&file)) else {
            continue;
        };
        let hint = match log_type.as_str() {
            "named" => Some("bind"),
            "nginx" | "apache2" => Some("http-access"),
            "proftpd" => Some("proftpd"),
            "vsftpd" => Some("vsftpd"),
            "suricata-evelogs" => Some("suricata"),
            _ => None,
        };
        let name = t
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut p = LogParser::default();
        let mut r = Row::default();
        let mut events = Vec::new();
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let ctx = LineContext {
                received: received(),
                source: &name,
                source_ip: None,
                hint,
            };
            let x = p.explain_line(line, &ctx);
            r.lines += 1;
            if matches!(x.status, LineStatus::Parsed) {
                r.parsed += 1;
            } else if verbose() {
                println!(
                    "  {:?}: {}",
                    x.status,
                    String::from_utf8_lossy(&line[..line.len().min(160)])
                );
            }
            events.push(x.event);
        }
        // Expectations are grouped per (stage/parser, result index). Results of later stages
        // are not numbered like the input lines, so a group is matched to its line by the
        // message it asserts; without one only the raw stage (numbered like the input) counts.
        let mut groups: BTreeMap<(String, usize), Vec<Expect>> = BTreeMap::new();
        if let Ok(asserts) = std::fs::read_to_string(t.join("parser.assert")) {
            for l in asserts.lines() {
                if let Some((stage, i, kind, key, v)) = assert_line(l) {
                    groups.entry((stage.to_owned(), i)).or_default().push((
                        format!("{kind}.{key}"),
                        v,
                        ecs_for(kind, key).unwrap_or(&[]),
                    ));
                }
            }
        }
        let raw_lines: Vec<String> = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        for ((stage, i), items) in groups {
            let msg = items
                .iter()
                .find(|(l, ..)| l == "Parsed.message")
                .map(|(_, v, _)| v.as_str());
            let line = match msg {
                Some(m) => events
                    .iter()
                    .zip(&raw_lines)
                    .position(|(ev, raw)| ev.get_str("message") == Some(m) || raw.ends_with(m)),
                None if stage.contains("s00-raw") => Some(i),
                None => None,
            };
            let Some(ev) = line.and_then(|j| events.get(j)) else {
                continue;
            };
            for (label, v, fields) in items {
                // For files that are not syslog, crowdsec's "program" is the configured log
                // type, not something in the line.
                if fields.is_empty() || (label == "Parsed.program" && log_type != "syslog") {
                    continue;
                }
                let got: Vec<Option<String>> = fields.iter().map(|f| field(ev, f)).collect();
                if verbose() && !got.iter().flatten().any(|g| g.trim() == v.trim()) {
                    println!("  line {i} {label}: want {v:?} got {got:?}");
                }
                check(&mut r, &label, &v, &got);
            }
        }
        print(&format!("crowdsec/{name}"), &r);
    }
}
