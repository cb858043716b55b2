//! Conformance against the SigmaHQ corpus in `../shared/corpus/sigma` (skipped when absent):
//! how many rules load per product and why the rest do not, and whether each JSON
//! regression sample raises the rule its `info.yml` names. Run with `--nocapture` to see
//! the figures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mamori_core::{Event, Timestamp, Value};
use mamori_sigma::{LoadOptions, Outcome, RuleSet, RuleSetBuilder};
use serde_json::Value as Json;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma");
    p.is_dir().then_some(p)
}

fn load_all(root: &Path) -> (RuleSet, mamori_sigma::LoadReport) {
    let mut b = RuleSetBuilder::new(LoadOptions::default());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for d in dirs {
        if d.is_dir()
            && d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rules"))
        {
            b.add_dir(&d);
        }
    }
    b.build()
}

/// Windows event JSON (as exported from EVTX) → an Event the way the log parser maps it.
pub fn windows_json_to_event(j: &Json) -> Option<Event> {
    let ev = j.get("Event")?;
    let sys = ev.get("System")?;
    let ts = sys
        .pointer("/TimeCreated/#attributes/SystemTime")
        .and_then(Json::as_str)
        .and_then(|s| Timestamp::parse_rfc3339(s).ok())
        .unwrap_or(Timestamp::EPOCH);
    let channel = sys.get("Channel").and_then(Json::as_str).unwrap_or("");
    let dataset = match channel {
        "Security" => "windows.security",
        "System" => "windows.system",
        "Microsoft-Windows-Sysmon/Operational" => "windows.sysmon",
        c if c.contains("PowerShell") => "windows.powershell",
        _ => "windows.other",
    };
    let mut e = Event::new(ts, dataset);
    let code = match sys.get("EventID") {
        Some(Json::Number(n)) => n.as_i64(),
        Some(Json::String(s)) => s.parse().ok(),
        Some(o) => o.get("#text").and_then(Json::as_i64),
        None => None,
    };
    if let Some(c) = code {
        e.set("event.code", c.to_string()).set("winlog.event_id", c);
    }
    e.set("winlog.channel", channel);
    if let Some(p) = sys
        .pointer("/Provider/#attributes/Name")
        .and_then(Json::as_str)
    {
        e.set("winlog.provider_name", p);
    }
    if let Some(h) = sys.get("Computer").and_then(Json::as_str) {
        e.set("host.name", h);
    }
    let mut put = |k: &str, v: &Json| {
        let v = match v {
            Json::Object(o) => match o.get("#text") {
                Some(t) => t,
                None => return,
            },
            other => other,
        };
        if let Some(val) = Value::from_json(v) {
            e.set(format!("winlog.event_data.{k}"), val);
        }
    };
    for section in ["EventData", "UserData"] {
        let Some(Json::Object(m)) = ev.get(section) else {
            continue;
        };
        for (k, v) in m {
            if k == "#attributes" {
                continue;
            }
            match v {
                // UserData wraps its items in one more element.
                Json::Object(inner) if section == "UserData" => {
                    for (ik, iv) in inner {
                        if ik != "#attributes" {
                            put(ik, iv);
                        }
                    }
                }
                _ => put(k, v),
            }
        }
    }
    Some(e)
}

#[test]
fn corpus_rules_load_per_product() {
    let Some(root) = corpus() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let t0 = std::time::Instant::now();
    let (set, report) = load_all(&root);
    let took = t0.elapsed();
    println!(
        "loaded {} rules, {} unsupported log source, {} errors in {:.2} s",
        report.loaded(),
        report.unsupported(),
        report.errors(),
        took.as_secs_f64()
    );
    for (p, c) in &report.per_product {
        println!(
            "  {p:<16} loaded {:>5}  unsupported {:>4}  errors {:>3}",
            c.loaded, c.unsupported, c.errors
        );
    }
    for (name, c) in report.counters.iter() {
        println!(
            "  reason {name}: {} (first: {})",
            c.count,
            c.sample.as_deref().unwrap_or("")
        );
    }
    let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &report.entries {
        if let Outcome::Error(err) = &e.outcome {
            by_reason
                .entry(err.reason().to_owned())
                .or_default()
                .push(format!("{}:{} {err}", e.file, e.line.unwrap_or(0)));
        }
    }
    for (r, v) in &by_reason {
        for x in v.iter().take(5) {
            println!("  {r}: {x}");
        }
    }
    assert_eq!(set.rules().len(), report.loaded());
    // Nearly all Windows rules must load; the corpus has thousands.
    let win = report
        .per_product
        .get("windows")
        .copied()
        .unwrap_or_default();
    assert!(win.loaded > 2_000, "windows rules loaded: {}", win.loaded);
    assert!(
        report.errors() * 100 <= report.entries.len(),
        "more than 1 % errors"
    );
}

#[test]
fn regression_samples_raise_their_rule() {
    let Some(root) = corpus() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let (set, _) = load_all(&root);
    let mut infos = Vec::new();
    walk(&root.join("regression_data"), &mut infos);
    infos.sort();
    let (mut total, mut fired, mut not_loaded, mut no_json) = (0, 0, 0, 0);
    let (mut all_matches, mut sample_events) = (0usize, 0usize);
    let mut misses = Vec::new();
    for info in infos {
        let Ok(text) = std::fs::read_to_string(&info) else {
            continue;
        };
        let Ok(y) = yaml_serde::from_str::<yaml_serde::Value>(&text) else {
            continue;
        };
        let Some(ids) = y.get("rule_metadata").and_then(|m| m.as_sequence()) else {
            continue;
        };
        let dir = info.parent().unwrap_or(Path::new("."));
        let jsons: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect()
            })
            .unwrap_or_default();
        for id in ids
            .iter()
            .filter_map(|m| m.get("id").and_then(|v| v.as_str()))
        {
            total += 1;
            if jsons.is_empty() {
                no_json += 1;
                continue;
            }
            let mut events = Vec::new();
            for j in &jsons {
                let Ok(t) = std::fs::read_to_string(j) else {
                    continue;
                };
                for v in serde_json::Deserializer::from_str(&t)
                    .into_iter::<Json>()
                    .flatten()
                {
                    events.extend(windows_json_to_event(&v));
                }
            }
            // The indexed path must agree with trying every rule.
            for e in &events {
                let mut indexed: Vec<usize> = set.matches(e).map(|r| r.index()).collect();
                indexed.sort_unstable();
                let brute: Vec<usize> = set
                    .rules()
                    .iter()
                    .filter(|r| r.matches(e))
                    .map(|r| r.index())
                    .collect();
                assert_eq!(
                    indexed,
                    brute,
                    "index disagrees with brute force in {}",
                    dir.display()
                );
                all_matches += indexed.len();
                sample_events += 1;
            }
            let via_index = events.iter().any(|e| set.matches(e).any(|r| r.id == id));
            match set.rule_fires(id, &events) {
                Some(true) if via_index => fired += 1,
                Some(_) => misses.push(format!("{id} {}", dir.display())),
                None => {
                    not_loaded += 1;
                    misses.push(format!("{id} (rule not loaded) {}", dir.display()));
                }
            }
        }
    }
    let with_json = total - no_json;
    println!(
        "regression: {fired}/{with_json} JSON samples raise their rule ({:.1} %); {not_loaded} rules not loaded; {no_json} without JSON",
        100.0 * fired as f64 / with_json.max(1) as f64
    );
    println!(
        "  {sample_events} sample events raised {all_matches} rule matches in total ({:.2} per event)",
        all_matches as f64 / sample_events.max(1) as f64
    );
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(with_json > 0);
    assert!(fired * 100 >= with_json * 90, "conformance below 90 %");
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}
