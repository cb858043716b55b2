//! Windows event logs: Winlogbeat JSON, NXLog JSON, Snare tab-separated lines and EVTX records
//! (the `evtx` crate's JSON) mapped to ECS (`event.code`, `user.*`, `source.*`, `process.*`,
//! `winlog.*`, `winlog.event_data.<Name>`).

use mamori_core::{Event, Timestamp};
use serde_json::{Map, Value as Json};

use super::{set_int, set_ip, set_str, Input, Outcome, ParseState, ParserDef, ParserInfo};

/// Most `winlog.event_data.*` items kept per event.
pub const MAX_EVENT_DATA: usize = 128;
/// Longest event data value kept (bytes; longer values are cut at a char boundary).
pub const MAX_EVENT_DATA_VALUE: usize = 32 * 1024;

/// The Windows parsers.
pub const PARSERS: &[ParserDef] = &[
    ParserDef {
        info: ParserInfo {
            name: "windows",
            module: "windows",
            dataset: "windows.<channel>",
            description_en: "Windows events (Winlogbeat / NXLog JSON, Snare, EVTX): Security logons, accounts, Kerberos, Sysmon, services, PowerShell",
            description_ja: "Windows イベント (Winlogbeat / NXLog JSON、Snare、EVTX): ログオン、アカウント操作、Kerberos、Sysmon、サービス、PowerShell",
            fields: &["event.code", "event.action", "event.outcome", "user.name", "user.domain", "user.target.name", "source.ip", "source.port", "host.name", "winlog.channel", "winlog.provider_name", "winlog.event_id", "winlog.logon.type", "winlog.event_data.*", "process.executable", "process.command_line", "process.pid", "process.parent.executable"],
        },
        parse: windows_json,
    },
    ParserDef {
        info: ParserInfo {
            name: "snare",
            module: "windows",
            dataset: "windows.<channel>",
            description_en: "Snare / NXLog tab-separated Windows forwarder lines (MSWinEventLog)",
            description_ja: "Snare 形式 (タブ区切り、MSWinEventLog) の Windows イベント転送",
            fields: &["event.code", "winlog.channel", "winlog.provider_name", "host.name", "event.outcome", "message"],
        },
        parse: snare,
    },
];

/// One Windows event in a source-independent form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WinRecord {
    /// Channel (`Security`, `Microsoft-Windows-Sysmon/Operational`, …).
    pub channel: String,
    /// Provider name.
    pub provider: String,
    /// Event id.
    pub event_id: u32,
    /// Computer name.
    pub computer: String,
    /// Event time.
    pub time: Option<Timestamp>,
    /// Record number.
    pub record_id: Option<i64>,
    /// EventData / UserData items by name.
    pub data: Vec<(String, String)>,
}

impl WinRecord {
    fn get(&self, k: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && *v != "-")
    }
}

fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Object(o) => o.get("#text").and_then(json_text),
        Json::Array(a) => Some(a.iter().filter_map(json_text).collect::<Vec<_>>().join(",")),
        Json::Null => None,
    }
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_EVENT_DATA_VALUE {
        let mut n = MAX_EVENT_DATA_VALUE;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
    s
}

fn collect_data(o: &Map<String, Json>, out: &mut Vec<(String, String)>) {
    for (k, v) in o {
        if out.len() >= MAX_EVENT_DATA || k.starts_with('#') || k == "xmlns" {
            continue;
        }
        match v {
            // UserData wraps items one level down (e.g. LogFileCleared).
            Json::Object(inner) if !inner.contains_key("#text") => collect_data(inner, out),
            _ => {
                if let Some(t) = json_text(v) {
                    out.push((k.clone(), cut(t)));
                }
            }
        }
    }
}

/// From the `evtx` crate's JSON (`{"Event": {"System": …, "EventData": …}}`).
pub fn record_from_evtx_json(j: &Json) -> Option<WinRecord> {
    let ev = j.get("Event")?.as_object()?;
    let sys = ev.get("System")?.as_object()?;
    let mut r = WinRecord {
        channel: sys.get("Channel").and_then(json_text).unwrap_or_default(),
        provider: sys
            .get("Provider")
            .and_then(|p| p.get("#attributes"))
            .and_then(|a| a.get("Name"))
            .and_then(json_text)
            .unwrap_or_default(),
        event_id: sys.get("EventID").and_then(json_text)?.parse().ok()?,
        computer: sys.get("Computer").and_then(json_text).unwrap_or_default(),
        time: sys
            .get("TimeCreated")
            .and_then(|t| t.get("#attributes"))
            .and_then(|a| a.get("SystemTime"))
            .and_then(Json::as_str)
            .and_then(|s| mamori_core::Timestamp::parse_rfc3339(s).ok()),
        record_id: sys.get("EventRecordID").and_then(Json::as_i64),
        data: Vec::new(),
    };
    for key in ["EventData", "UserData"] {
        match ev.get(key) {
            Some(Json::Object(o)) => {
                // Unnamed <Data> items come as "Data": [..] or "Data": "..".
                collect_data(o, &mut r.data);
            }
            Some(other) => {
                if let Some(t) = json_text(other) {
                    r.data.push((key.to_owned(), cut(t)));
                }
            }
            None => {}
        }
    }
    Some(r)
}

/// Winlogbeat keys (`winlog.*`).
fn record_from_winlogbeat(o: &Map<String, Json>, zone: &crate::time::Zone) -> Option<WinRecord> {
    let w = o.get("winlog")?.as_object()?;
    let mut r = WinRecord {
        channel: w.get("channel").and_then(json_text).unwrap_or_default(),
        provider: w
            .get("provider_name")
            .and_then(json_text)
            .unwrap_or_default(),
        event_id: w
            .get("event_id")
            .and_then(json_text)
            .or_else(|| {
                o.get("event")
                    .and_then(|e| e.get("code"))
                    .and_then(json_text)
            })?
            .parse()
            .ok()?,
        computer: w
            .get("computer_name")
            .and_then(json_text)
            .or_else(|| {
                o.get("host")
                    .and_then(|h| h.get("name"))
                    .and_then(json_text)
            })
            .unwrap_or_default(),
        time: o
            .get("@timestamp")
            .and_then(|t| super::json::json_time(t, zone)),
        record_id: w.get("record_id").and_then(|v| json_text(v)?.parse().ok()),
        data: Vec::new(),
    };
    for key in ["event_data", "user_data"] {
        if let Some(Json::Object(d)) = w.get(key) {
            collect_data(d, &mut r.data);
        }
    }
    Some(r)
}

/// NXLog `im_msvistalog` JSON: metadata and EventData at the top level.
fn record_from_nxlog(o: &Map<String, Json>, zone: &crate::time::Zone) -> Option<WinRecord> {
    const META: &[&str] = &[
        "EventTime",
        "Hostname",
        "Keywords",
        "EventType",
        "SeverityValue",
        "Severity",
        "EventID",
        "SourceName",
        "ProviderGuid",
        "Version",
        "Task",
        "OpcodeValue",
        "RecordNumber",
        "ProcessID",
        "ThreadID",
        "Channel",
        "Message",
        "Category",
        "Opcode",
        "EventReceivedTime",
        "SourceModuleName",
        "SourceModuleType",
        "ActivityID",
        "Domain",
        "AccountName",
        "UserID",
        "AccountType",
    ];
    let mut r = WinRecord {
        channel: o.get("Channel").and_then(json_text).unwrap_or_default(),
        provider: o.get("SourceName").and_then(json_text).unwrap_or_default(),
        event_id: o.get("EventID").and_then(json_text)?.parse().ok()?,
        computer: o.get("Hostname").and_then(json_text).unwrap_or_default(),
        time: o
            .get("EventTime")
            .and_then(|t| super::json::json_time(t, zone)),
        record_id: o
            .get("RecordNumber")
            .and_then(|v| json_text(v)?.parse().ok()),
        data: Vec::new(),
    };
    for (k, v) in o {
        if r.data.len() >= MAX_EVENT_DATA || META.contains(&k.as_str()) {
            continue;
        }
        if let Some(t) = json_text(v) {
            r.data.push((k.clone(), cut(t)));
        }
    }
    Some(r)
}

fn windows_json(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let Some(o) = super::json::object(inp) else {
        return Outcome::NoMatch;
    };
    let rec = if o.contains_key("winlog") {
        record_from_winlogbeat(&o, inp.zone)
    } else if o.contains_key("Event") {
        record_from_evtx_json(&Json::Object(o))
    } else if o.contains_key("EventID") {
        record_from_nxlog(&o, inp.zone)
    } else {
        return Outcome::NoMatch;
    };
    match rec {
        Some(r) => {
            apply_record(&r, ev);
            Outcome::Done
        }
        None => Outcome::Partial("missing_event_id"),
    }
}

fn snare(inp: &Input<'_>, ev: &mut Event, _st: &mut ParseState) -> Outcome {
    let t = inp.text;
    let Some(pos) = t.find("MSWinEventLog") else {
        return Outcome::NoMatch;
    };
    let host = t[..pos].trim_end_matches(['\t', ' ']);
    let f: Vec<&str> = t[pos..].split('\t').take(32).collect();
    // MSWinEventLog, criticality, channel, record, time, id, source, user, sidtype, type,
    // computer, category, data, message…
    if f.len() < 7 {
        return Outcome::Partial("too_few_fields");
    }
    let g = |i: usize| f.get(i).copied().unwrap_or("").trim();
    let Ok(id) = g(5).parse::<u32>() else {
        return Outcome::Partial("bad_event_id");
    };
    let mut r = WinRecord {
        channel: g(2).to_owned(),
        provider: g(6).to_owned(),
        event_id: id,
        computer: if g(10).is_empty() {
            host.to_owned()
        } else {
            g(10).to_owned()
        },
        time: g(4)
            .get(4..)
            .and_then(super::web::ctime)
            .and_then(|(mo, d, y, h, mi, s, ns)| inp.zone.civil(y, mo, d, h, mi, s, ns)),
        record_id: g(3).parse().ok(),
        data: Vec::new(),
    };
    let user = g(7);
    if !user.is_empty() && user != "N/A" {
        r.data.push(("SubjectUserName".into(), user.to_owned()));
    }
    apply_record(&r, ev);
    match g(9) {
        "Success Audit" => {
            ev.set("event.outcome", "success");
        }
        "Failure Audit" => {
            ev.set("event.outcome", "failure");
        }
        _ => {}
    }
    let msg = f.get(13..).map(|m| m.join(" ")).unwrap_or_default();
    if !msg.trim().is_empty() {
        ev.set("message", msg.trim().to_owned());
    }
    Outcome::Done
}

/// Logon type number to its name.
fn logon_type(n: &str) -> Option<&'static str> {
    Some(match n {
        "2" => "Interactive",
        "3" => "Network",
        "4" => "Batch",
        "5" => "Service",
        "7" => "Unlock",
        "8" => "NetworkCleartext",
        "9" => "NewCredentials",
        "10" => "RemoteInteractive",
        "11" => "CachedInteractive",
        _ => return None,
    })
}

/// Hex (`0x1a4`) or decimal pid.
fn pid(s: &str) -> Option<i64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn basename(p: &str) -> &str {
    p.rsplit(['\\', '/']).next().unwrap_or(p)
}

fn dataset(channel: &str) -> &'static str {
    match channel {
        "Security" => "windows.security",
        "System" => "windows.system",
        "Microsoft-Windows-Sysmon/Operational" => "windows.sysmon",
        "Microsoft-Windows-PowerShell/Operational"
        | "Windows PowerShell"
        | "PowerShellCore/Operational" => "windows.powershell",
        _ => "windows.other",
    }
}

/// Map a [`WinRecord`] to ECS on `ev` (sets the dataset, time and all fields).
pub fn apply_record(r: &WinRecord, ev: &mut Event) {
    let ds = dataset(&r.channel);
    ev.dataset = ds.into();
    ev.set("event.module", "windows");
    if let Some(t) = r.time {
        ev.timestamp = t;
    }
    ev.set("event.code", r.event_id.to_string());
    ev.set("winlog.event_id", r.event_id);
    set_str(ev, "winlog.channel", &r.channel);
    set_str(ev, "winlog.provider_name", &r.provider);
    set_str(ev, "winlog.computer_name", &r.computer);
    set_str(ev, "host.name", &r.computer);
    ev.set_opt("winlog.record_id", r.record_id);
    for (k, v) in &r.data {
        let clean: String = k
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        ev.set(format!("winlog.event_data.{clean}"), v.as_str());
    }
    let g = |k: &str| r.get(k);
    let set_auth = |ev: &mut Event, action: &str, ok: Option<bool>, typ: &str| {
        ev.set("event.category", vec!["authentication"]);
        ev.set("event.type", vec![typ]);
        ev.set("event.action", action);
        if let Some(ok) = ok {
            ev.set("event.outcome", if ok { "success" } else { "failure" });
        }
    };
    let set_iam = |ev: &mut Event, action: &str, typ: &str| {
        ev.set("event.category", vec!["iam"]);
        ev.set("event.type", vec![typ]);
        ev.set("event.action", action);
        ev.set("event.outcome", "success");
    };
    let source_ip = |ev: &mut Event, k: &str| {
        if let Some(a) = g(k) {
            set_ip(ev, "source.ip", a);
        }
    };
    let kerberos_ok = g("Status").map(|s| s == "0x0" || s == "0");
    match (ds, r.event_id) {
        ("windows.security", 4624 | 4625) => {
            let ok = r.event_id == 4624;
            set_auth(
                ev,
                if ok { "logged-in" } else { "logon-failed" },
                Some(ok),
                if ok { "start" } else { "info" },
            );
            set_str(ev, "user.name", g("TargetUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("TargetDomainName").unwrap_or(""));
            set_str(ev, "user.id", g("TargetUserSid").unwrap_or(""));
            source_ip(ev, "IpAddress");
            if let Some(p) = g("IpPort") {
                set_int(ev, "source.port", p);
            }
            set_str(ev, "source.domain", g("WorkstationName").unwrap_or(""));
            if let Some(lt) = g("LogonType") {
                ev.set("winlog.logon.type", logon_type(lt).unwrap_or(lt));
            }
            set_str(ev, "winlog.logon.id", g("TargetLogonId").unwrap_or(""));
            if let Some(p) = g("ProcessName") {
                ev.set("process.executable", p);
                ev.set("process.name", basename(p));
            }
            if !ok {
                set_str(ev, "winlog.logon.failure.status", g("Status").unwrap_or(""));
                set_str(
                    ev,
                    "winlog.logon.failure.sub_status",
                    g("SubStatus").unwrap_or(""),
                );
                set_str(ev, "event.reason", g("FailureReason").unwrap_or(""));
            }
        }
        ("windows.security", 4634 | 4647) => {
            set_auth(ev, "logged-out", Some(true), "end");
            set_str(ev, "user.name", g("TargetUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("TargetDomainName").unwrap_or(""));
            if let Some(lt) = g("LogonType") {
                ev.set("winlog.logon.type", logon_type(lt).unwrap_or(lt));
            }
        }
        ("windows.security", 4648) => {
            set_auth(ev, "logged-in-explicit", Some(true), "start");
            set_str(ev, "user.name", g("SubjectUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("SubjectDomainName").unwrap_or(""));
            set_str(ev, "user.target.name", g("TargetUserName").unwrap_or(""));
            set_str(
                ev,
                "user.target.domain",
                g("TargetDomainName").unwrap_or(""),
            );
            set_str(
                ev,
                "destination.domain",
                g("TargetServerName").unwrap_or(""),
            );
            source_ip(ev, "IpAddress");
            if let Some(p) = g("IpPort") {
                set_int(ev, "source.port", p);
            }
        }
        ("windows.security", 4672) => {
            set_auth(ev, "logged-in-special", Some(true), "info");
            set_str(ev, "user.name", g("SubjectUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("SubjectDomainName").unwrap_or(""));
        }
        ("windows.security", 4688) => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["start"]);
            ev.set("event.action", "created-process");
            ev.set("event.outcome", "success");
            set_str(ev, "user.name", g("SubjectUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("SubjectDomainName").unwrap_or(""));
            if let Some(p) = g("NewProcessName") {
                ev.set("process.executable", p);
                ev.set("process.name", basename(p));
            }
            ev.set_opt("process.pid", g("NewProcessId").and_then(pid));
            set_str(ev, "process.command_line", g("CommandLine").unwrap_or(""));
            if let Some(p) = g("ParentProcessName") {
                ev.set("process.parent.executable", p);
                ev.set("process.parent.name", basename(p));
            }
            ev.set_opt("process.parent.pid", g("ProcessId").and_then(pid));
        }
        ("windows.security", 4697) | ("windows.system", 7045) => {
            ev.set("event.category", vec!["iam", "configuration"]);
            ev.set("event.type", vec!["creation"]);
            ev.set("event.action", "service-installed");
            ev.set("event.outcome", "success");
            set_str(ev, "service.name", g("ServiceName").unwrap_or(""));
            set_str(
                ev,
                "winlog.service.path",
                g("ServiceFileName")
                    .or_else(|| g("ImagePath"))
                    .unwrap_or(""),
            );
            set_str(
                ev,
                "user.name",
                g("SubjectUserName")
                    .or_else(|| g("AccountName"))
                    .unwrap_or(""),
            );
        }
        ("windows.security", 4698) => {
            set_iam(ev, "scheduled-task-created", "creation");
            set_str(ev, "user.name", g("SubjectUserName").unwrap_or(""));
            set_str(ev, "winlog.task.name", g("TaskName").unwrap_or(""));
        }
        ("windows.security", 4720..=4738 | 4740 | 4756 | 4767) => {
            let (action, typ) = match r.event_id {
                4720 => ("added-user-account", "creation"),
                4722 => ("enabled-user-account", "change"),
                4723 => ("changed-password", "change"),
                4724 => ("reset-password", "change"),
                4725 => ("disabled-user-account", "change"),
                4726 => ("deleted-user-account", "deletion"),
                4727 | 4731 => ("added-group", "creation"),
                4728 | 4732 => ("added-member-to-group", "change"),
                4729 | 4733 => ("removed-member-from-group", "change"),
                4730 | 4734 => ("deleted-group", "deletion"),
                4735 | 4737 => ("modified-group", "change"),
                4738 => ("modified-user-account", "change"),
                4740 => ("locked-out-user-account", "change"),
                4756 => ("added-member-to-group", "change"),
                4767 => ("unlocked-user-account", "change"),
                _ => ("account-management", "change"),
            };
            set_iam(ev, action, typ);
            set_str(ev, "user.name", g("SubjectUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("SubjectDomainName").unwrap_or(""));
            let is_group = matches!(r.event_id, 4727..=4735 | 4737 | 4756);
            if is_group {
                set_str(ev, "group.name", g("TargetUserName").unwrap_or(""));
                set_str(ev, "group.domain", g("TargetDomainName").unwrap_or(""));
                if let Some(m) = g("MemberName") {
                    ev.set("user.target.name", m);
                }
            } else {
                set_str(ev, "user.target.name", g("TargetUserName").unwrap_or(""));
                set_str(
                    ev,
                    "user.target.domain",
                    g("TargetDomainName").unwrap_or(""),
                );
            }
        }
        ("windows.security", 4768 | 4769 | 4771) => {
            let action = match r.event_id {
                4768 => "kerberos-authentication-ticket-requested",
                4769 => "kerberos-service-ticket-requested",
                _ => "kerberos-preauth-failed",
            };
            let ok = if r.event_id == 4771 {
                Some(false)
            } else {
                kerberos_ok
            };
            set_auth(ev, action, ok, "start");
            set_str(ev, "user.name", g("TargetUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("TargetDomainName").unwrap_or(""));
            set_str(ev, "service.name", g("ServiceName").unwrap_or(""));
            source_ip(ev, "IpAddress");
            if let Some(p) = g("IpPort") {
                set_int(ev, "source.port", p);
            }
        }
        ("windows.security", 4776) => {
            set_auth(
                ev,
                "credential-validated",
                kerberos_ok.or(Some(true)),
                "start",
            );
            set_str(ev, "user.name", g("TargetUserName").unwrap_or(""));
            set_str(ev, "source.domain", g("Workstation").unwrap_or(""));
        }
        ("windows.security", 1102) | ("windows.system", 104) => {
            ev.set("event.category", vec!["iam"]);
            ev.set("event.type", vec!["change"]);
            ev.set("event.action", "audit-log-cleared");
            ev.set("event.outcome", "success");
            set_str(ev, "user.name", g("SubjectUserName").unwrap_or(""));
            set_str(ev, "user.domain", g("SubjectDomainName").unwrap_or(""));
        }
        ("windows.sysmon", 1) => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["start"]);
            ev.set("event.action", "process-created");
            sysmon_process(ev, r);
            set_str(ev, "process.command_line", g("CommandLine").unwrap_or(""));
            if let Some(p) = g("ParentImage") {
                ev.set("process.parent.executable", p);
                ev.set("process.parent.name", basename(p));
            }
            ev.set_opt("process.parent.pid", g("ParentProcessId").and_then(pid));
            set_str(
                ev,
                "process.parent.command_line",
                g("ParentCommandLine").unwrap_or(""),
            );
            set_str(
                ev,
                "process.working_directory",
                g("CurrentDirectory").unwrap_or(""),
            );
            if let Some(h) = g("Hashes") {
                for part in h.split(',') {
                    if let Some((alg, v)) = part.split_once('=') {
                        let f: Option<&'static str> = match alg {
                            "MD5" => Some("process.hash.md5"),
                            "SHA1" => Some("process.hash.sha1"),
                            "SHA256" => Some("process.hash.sha256"),
                            "IMPHASH" => Some("process.pe.imphash"),
                            _ => None,
                        };
                        if let Some(f) = f {
                            ev.set(f, v.to_ascii_lowercase());
                        }
                    }
                }
            }
        }
        ("windows.sysmon", 3) => {
            ev.set("event.category", vec!["network"]);
            ev.set("event.type", vec!["connection", "start"]);
            ev.set("event.action", "network-connection");
            sysmon_process(ev, r);
            source_ip(ev, "SourceIp");
            set_int(ev, "source.port", g("SourcePort").unwrap_or(""));
            if let Some(a) = g("DestinationIp") {
                set_ip(ev, "destination.ip", a);
            }
            set_int(ev, "destination.port", g("DestinationPort").unwrap_or(""));
            set_str(
                ev,
                "destination.domain",
                g("DestinationHostname").unwrap_or(""),
            );
            if let Some(p) = g("Protocol") {
                ev.set("network.transport", p.to_ascii_lowercase());
            }
            if let Some(i) = g("Initiated") {
                ev.set(
                    "network.direction",
                    if i == "true" { "egress" } else { "ingress" },
                );
            }
        }
        ("windows.sysmon", 11) => {
            ev.set("event.category", vec!["file"]);
            ev.set("event.type", vec!["creation"]);
            ev.set("event.action", "file-created");
            sysmon_process(ev, r);
            if let Some(p) = g("TargetFilename") {
                ev.set("file.path", p);
                ev.set("file.name", basename(p));
            }
        }
        ("windows.sysmon", 22) => {
            ev.set("event.category", vec!["network"]);
            ev.set("event.type", vec!["protocol", "info"]);
            ev.set("event.action", "dns-query");
            ev.set("network.protocol", "dns");
            sysmon_process(ev, r);
            set_str(ev, "dns.question.name", g("QueryName").unwrap_or(""));
            if let Some(res) = g("QueryResults") {
                let answers: Vec<String> = res
                    .split(';')
                    .map(|x| x.trim().trim_start_matches("::ffff:").to_owned())
                    .filter(|x| !x.is_empty())
                    .take(64)
                    .collect();
                if !answers.is_empty() {
                    ev.set("dns.answers", answers);
                }
            }
        }
        ("windows.powershell", 4104) => {
            ev.set("event.category", vec!["process"]);
            ev.set("event.type", vec!["info"]);
            ev.set("event.action", "execute-script-block");
            set_str(
                ev,
                "powershell.file.script_block_text",
                g("ScriptBlockText").unwrap_or(""),
            );
            set_str(
                ev,
                "powershell.file.script_block_id",
                g("ScriptBlockId").unwrap_or(""),
            );
            set_str(ev, "file.path", g("Path").unwrap_or(""));
        }
        _ => {
            ev.set("event.action", format!("windows-event-{}", r.event_id));
        }
    }
}

fn sysmon_process(ev: &mut Event, r: &WinRecord) {
    if let Some(p) = r.get("Image") {
        ev.set("process.executable", p);
        ev.set("process.name", basename(p));
    }
    ev.set_opt("process.pid", r.get("ProcessId").and_then(pid));
    if let Some(g) = r.get("ProcessGuid") {
        ev.set("process.entity_id", g);
    }
    if let Some(u) = r.get("User") {
        match u.split_once('\\') {
            Some((d, n)) => {
                ev.set("user.domain", d);
                ev.set("user.name", n);
            }
            None => {
                ev.set("user.name", u);
            }
        }
    }
}

/// Errors reading an EVTX file.
#[cfg(feature = "evtx")]
#[derive(Debug, thiserror::Error)]
pub enum EvtxReadError {
    /// The file header could not be read (not EVTX, or truncated).
    #[error("not a readable evtx file: {0}")]
    Header(String),
}

/// Counts from reading an EVTX file.
#[cfg(feature = "evtx")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvtxStats {
    /// Records turned into events.
    pub records: u64,
    /// Records the evtx crate could not decode (counted as `evtx_bad_record`).
    pub bad_records: u64,
    /// Records decoded but without a usable System/EventID (counted as `evtx_unmapped`).
    pub unmapped: u64,
}

/// Read every record of an EVTX file held in memory and hand each as an ECS event to `f`.
/// `received` is stamped as `event.ingested`; bad records are counted in `counters`.
#[cfg(feature = "evtx")]
pub fn for_each_evtx_event(
    data: Vec<u8>,
    received: Timestamp,
    counters: &mut mamori_core::Counters,
    mut f: impl FnMut(Event),
) -> Result<EvtxStats, EvtxReadError> {
    let settings = evtx::ParserSettings::new().num_threads(1);
    let mut parser = evtx::EvtxParser::from_buffer(data)
        .map_err(|e| EvtxReadError::Header(e.to_string()))?
        .with_configuration(settings);
    let mut stats = EvtxStats::default();
    for rec in parser.records_json_value() {
        match rec {
            Ok(r) => match record_from_evtx_json(&r.data) {
                Some(wr) => {
                    let mut ev = Event::new(r_time(&wr, received), "windows.other");
                    apply_record(&wr, &mut ev);
                    ev.set("event.ingested", received);
                    ev.set("mamori.log.parser", "evtx");
                    if wr.record_id.is_none() {
                        ev.set(
                            "winlog.record_id",
                            i64::try_from(r.event_record_id).unwrap_or(i64::MAX),
                        );
                    }
                    stats.records += 1;
                    f(ev);
                }
                None => {
                    stats.unmapped += 1;
                    counters.incr_with_sample("evtx_unmapped", || {
                        format!("record {}", r.event_record_id)
                    });
                }
            },
            Err(e) => {
                stats.bad_records += 1;
                counters.incr_with_sample("evtx_bad_record", || e.to_string());
            }
        }
    }
    Ok(stats)
}

#[cfg(feature = "evtx")]
fn r_time(r: &WinRecord, received: Timestamp) -> Timestamp {
    r.time.unwrap_or(received)
}
